// The target layout and names (layout.ts): what docs/zfs.md describes, as table tests.
import { describe, expect, it } from 'vitest';
import {
  datasetRole,
  generationRoot,
  jobIsRecursive,
  jobRoot,
  parseInJobRoot,
  parseTargetPath,
  roleFromName,
  setAsideNameFor,
  setAsideOriginal,
  snapshotNameFor,
  stagingNameFor,
  targetPath,
} from './layout.ts';

describe('target layout', () => {
  it('job root, generation root, target path', () => {
    expect(jobRoot('bk/backups', 3)).toBe('bk/backups/j3');
    expect(generationRoot('bk/backups', 3, 2)).toBe('bk/backups/j3/g2');
    expect(targetPath('bk/backups', 3, 2, 'tank/my data')).toBe('bk/backups/j3/g2/tank/my data');
  });

  it.each([
    ['g2', { generation: 2, source: null }],
    ['g2/tank/data', { generation: 2, source: 'tank/data' }],
    ['g12/tank', { generation: 12, source: 'tank' }],
    ['x2/tank', null],
    ['g/tank', null],
    ['', null],
  ])('parseInJobRoot(%j)', (rel, want) => expect(parseInJobRoot(rel)).toEqual(want));

  it.each([
    ['bk/backups/j3', { jobId: 3, generation: null, source: null }],
    ['bk/backups/j3/g2/tank/data', { jobId: 3, generation: 2, source: 'tank/data' }],
    ['tank/data', null],
  ])('parseTargetPath(%j)', (ds, want) => expect(parseTargetPath(ds)).toEqual(want));
});

describe('names', () => {
  it('snapshots: lb_j<job>_<UTC second>', () => {
    expect(snapshotNameFor(7, new Date('2026-11-28T16:41:40.123Z'))).toBe('lb_j7_20261128T164140Z');
  });
  it('restore staging and set-aside, and back', () => {
    expect(stagingNameFor('tank/jails/www', 42)).toBe('tank/jails/.lb-staging-42-www');
    expect(setAsideNameFor('tank/jails/www', 42)).toBe('tank/jails/www-lb-old-42');
    expect(setAsideOriginal('tank/jails/www-lb-old-42', 42)).toBe('tank/jails/www');
    expect(setAsideOriginal('tank/jails/www-lb-old-42', '42')).toBe('tank/jails/www');
    expect(setAsideOriginal('tank/jails/www-lb-old-42', 43)).toBeNull();
    expect(setAsideOriginal('tank/jails/www-lb-old-42')).toBe('tank/jails/www');
    expect(setAsideOriginal('tank/jails/www')).toBeNull();
  });
  it.each([
    [{ mode: 'dataset', recursive: false }, false],
    [{ mode: 'dataset', recursive: true }, true],
    [{ mode: 'jail', recursive: false }, false],
    [{ mode: 'vm', recursive: false }, true],
  ])('jobIsRecursive(%o) = %s', (job, want) => expect(jobIsRecursive(job)).toBe(want));
});

describe('dataset roles (what the source picker hides)', () => {
  it.each([
    [{}, null],
    [{ 'lifeboat:job': null, 'lifeboat:staging': null, 'lifeboat:set-aside': null }, null],
    [{ 'lifeboat:job': '-' }, null],
    [{ 'lifeboat:job': '' }, null],
    [{ 'lifeboat:job': '3' }, 'backup'],
    [{ 'lifeboat:staging': '41' }, 'staging'],
    [{ 'lifeboat:set-aside': '41' }, 'set-aside'],
    // a staging container received from a backup: the restore's mark wins
    [{ 'lifeboat:job': '3', 'lifeboat:staging': '41' }, 'staging'],
    [{ 'lifeboat:job': '3', 'lifeboat:set-aside': '41' }, 'set-aside'],
  ] as const)('datasetRole(%j) = %j', (props, want) => expect(datasetRole(props)).toBe(want));

  it.each([
    ['tank/data', null],
    ['tank', null],
    [stagingNameFor('tank/data', 41), 'staging'],
    [`${stagingNameFor('tank/data', 41)}/child`, 'staging'],
    [setAsideNameFor('tank/data', 41), 'set-aside'],
    [`${setAsideNameFor('tank/data', 41)}/child`, 'set-aside'],
    ['tank/data-lb-old-', null],
    ['tank/data-lb-old-x', null],
    ['tank/lb-staging-1-data', null],
  ] as const)('roleFromName(%j) = %j', (name, want) => expect(roleFromName(name)).toBe(want));
});
