// zfs send / recv argument vectors (argv.ts): what each capability set and option gives.
import { describe, expect, it } from 'vitest';
import { recvArgv, resumeSendArgv, sendArgv, streamFlags } from './argv.ts';

const openzfs = { resumableRecv: true, recvNoMount: true, recvSetProps: true };
const zfsFuse = { resumableRecv: false, recvNoMount: false, recvSetProps: false };
const all = { compressed: true, largeBlock: true, embedded: true };

describe('streamFlags: -c -L -e only where both sides offer them', () => {
  const ozfsSend = { sendCompressed: true, sendLargeBlock: true, sendEmbedded: true };
  const fuseSend = { sendCompressed: false, sendLargeBlock: false, sendEmbedded: false };
  it.each([
    ['OpenZFS → OpenZFS', ozfsSend, ozfsSend, true, all],
    ['OpenZFS → OpenZFS, the job turned compressed streams off: -L -e stay', ozfsSend, ozfsSend, false, { ...all, compressed: false }],
    ['OpenZFS → zfs-fuse (it could not receive them)', ozfsSend, fuseSend, true, { compressed: false, largeBlock: false, embedded: false }],
    [
      'zfs-fuse → OpenZFS (restore onto a zfs-fuse node: the other direction)',
      fuseSend,
      ozfsSend,
      true,
      { compressed: false, largeBlock: false, embedded: false },
    ],
    ['zfs-fuse → zfs-fuse', fuseSend, fuseSend, true, { compressed: false, largeBlock: false, embedded: false }],
    [
      'each flag on its own: a sender with -c only',
      { ...fuseSend, sendCompressed: true },
      ozfsSend,
      true,
      { compressed: true, largeBlock: false, embedded: false },
    ],
    ['a receiver without -e', ozfsSend, { ...ozfsSend, sendEmbedded: false }, true, { ...all, embedded: false }],
  ])('%s', (_, sender, receiver, compressed, want) => expect(streamFlags(sender, receiver, { compressed })).toEqual(want));
});

describe('sendArgv', () => {
  it.each([
    [{ snapshot: 'tank/a@s2' }, {}, ['zfs', 'send', 'tank/a@s2']],
    [{ snapshot: 'tank/a@s2', base: 'tank/a@s1' }, {}, ['zfs', 'send', '-i', 'tank/a@s1', 'tank/a@s2']],
    [{ snapshot: 'tank/a@s2', base: 'tank/a@s1', raw: true }, {}, ['zfs', 'send', '-w', '-i', 'tank/a@s1', 'tank/a@s2']],
    [{ snapshot: 'tank/a@s2', raw: true }, { dryRun: true }, ['zfs', 'send', '-nvP', '-w', 'tank/a@s2']],
    [{ snapshot: 'tank/my data@s2', base: null }, {}, ['zfs', 'send', 'tank/my data@s2']],
    [{ snapshot: 'tank/a@s2', flags: all }, {}, ['zfs', 'send', '-c', '-L', '-e', 'tank/a@s2']],
    [{ snapshot: 'tank/a@s2', base: 'tank/a@s1', flags: all }, {}, ['zfs', 'send', '-c', '-L', '-e', '-i', 'tank/a@s1', 'tank/a@s2']],
    [{ snapshot: 'tank/a@s2', flags: { ...all, compressed: false } }, {}, ['zfs', 'send', '-L', '-e', 'tank/a@s2']],
    [{ snapshot: 'tank/a@s2', flags: all }, { dryRun: true }, ['zfs', 'send', '-nvP', '-c', '-L', '-e', 'tank/a@s2']],
    // -w is -Lec for unencrypted data and sends encrypted blocks as stored: nothing to add
    [{ snapshot: 'tank/a@s2', raw: true, flags: all }, {}, ['zfs', 'send', '-w', 'tank/a@s2']],
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
      'OpenZFS, an incremental restore: received as a clone of the live base',
      { target: 'tank/.lb-staging-5-a/a', caps: openzfs, resumable: false, props: { origin: 'tank/a@lb_j1_1' } },
      ['zfs', 'recv', '-u', '-o', 'origin=tank/a@lb_j1_1', 'tank/.lb-staging-5-a/a'],
    ],
    [
      'zfs-fuse: none of -s -u -o exist',
      { target: 'bk/x', caps: zfsFuse, resumable: true, props: { 'lifeboat:job': '1' } },
      ['zfs', 'recv', 'bk/x'],
    ],
    [
      "OpenZFS, a backup's full receive: the copy is unmounted and read-only by its own properties",
      { target: 'bk/j1/g1/tank/a', caps: openzfs, resumable: true, props: { 'lifeboat:job': '1' }, guardCopy: 'filesystem' as const },
      ['zfs', 'recv', '-s', '-u', '-o', 'canmount=noauto', '-o', 'readonly=on', '-o', 'lifeboat:job=1', 'bk/j1/g1/tank/a'],
    ],
    [
      'zfs-fuse, the same: nothing (it inherits mountpoint=none readonly=on from the job root)',
      { target: 'bk/x', caps: zfsFuse, resumable: true, props: { 'lifeboat:job': '1' }, guardCopy: 'filesystem' as const },
      ['zfs', 'recv', 'bk/x'],
    ],
    [
      'OpenZFS, a volume (a VM disk): readonly only, a volume has no canmount',
      { target: 'bk/j1/g1/tank/vm/disk0', caps: openzfs, resumable: true, guardCopy: 'volume' as const },
      ['zfs', 'recv', '-s', '-u', '-o', 'readonly=on', 'bk/j1/g1/tank/vm/disk0'],
    ],
  ])('%s', (_, spec, want) => {
    expect(recvArgv(spec)).toEqual(want);
    expect(recvArgv(spec)).not.toContain('-F');
  });
});
