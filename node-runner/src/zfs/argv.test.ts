// zfs send / recv argument vectors (argv.ts): what each capability set and option gives.
import { describe, expect, it } from 'vitest';
import { recvArgv, resumeSendArgv, sendArgv } from './argv.ts';

const openzfs = { resumableRecv: true, recvNoMount: true, recvSetProps: true };
const zfsFuse = { resumableRecv: false, recvNoMount: false, recvSetProps: false };

describe('sendArgv', () => {
  it.each([
    [{ snapshot: 'tank/a@s2' }, {}, ['zfs', 'send', 'tank/a@s2']],
    [{ snapshot: 'tank/a@s2', base: 'tank/a@s1' }, {}, ['zfs', 'send', '-i', 'tank/a@s1', 'tank/a@s2']],
    [{ snapshot: 'tank/a@s2', base: 'tank/a@s1', raw: true }, {}, ['zfs', 'send', '-w', '-i', 'tank/a@s1', 'tank/a@s2']],
    [{ snapshot: 'tank/a@s2', raw: true }, { dryRun: true }, ['zfs', 'send', '-nvP', '-w', 'tank/a@s2']],
    [{ snapshot: 'tank/my data@s2', base: null }, {}, ['zfs', 'send', 'tank/my data@s2']],
  ])('%o %o', (spec, opts, want) => expect(sendArgv(spec, opts)).toEqual(want));

  it('a resume token', () => {
    expect(resumeSendArgv('1-abc')).toEqual(['zfs', 'send', '-t', '1-abc']);
    expect(resumeSendArgv('1-abc', { dryRun: true })).toEqual(['zfs', 'send', '-nvP', '-t', '1-abc']);
  });
});

describe('recvArgv (never -F)', () => {
  it.each([
    [
      'OpenZFS, resumable, with props',
      { target: 'bk/j1/g1/tank/a', caps: openzfs, resumable: true, props: { 'lifeboat:job': '1' } },
      ['zfs', 'recv', '-s', '-u', '-o', 'lifeboat:job=1', 'bk/j1/g1/tank/a'],
    ],
    [
      'OpenZFS, a restore (not resumable)',
      { target: 'tank/.lb-staging-5-a/a', caps: openzfs, resumable: false },
      ['zfs', 'recv', '-u', 'tank/.lb-staging-5-a/a'],
    ],
    [
      'zfs-fuse: none of -s -u -o exist',
      { target: 'bk/x', caps: zfsFuse, resumable: true, props: { 'lifeboat:job': '1' } },
      ['zfs', 'recv', 'bk/x'],
    ],
  ])('%s', (_, spec, want) => {
    expect(recvArgv(spec)).toEqual(want);
    expect(recvArgv(spec)).not.toContain('-F');
  });
});
