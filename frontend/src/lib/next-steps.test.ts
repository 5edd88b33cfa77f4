// Table test of the next steps an error dialog offers.
import { describe, expect, it } from 'vitest';
import { nextSteps } from './next-steps';
import type { LbEvent } from './types';

type Ev = Pick<LbEvent, 'kind' | 'status' | 'errorClass' | 'targetId' | 'jobId' | 'nodeId'>;
const ev = (over: Partial<Ev>): Ev => ({ kind: 'backup', status: 'failed', errorClass: 'zfs', targetId: 4, jobId: 7, nodeId: 2, ...over });
const kinds = (e: Ev) => nextSteps(e).map((s) => s.kind);

describe('nextSteps', () => {
  it.each<[string, Partial<Ev>, string[]]>([
    ['a backup that failed in ZFS: run it again', {}, ['run-again']],
    ['a backup that could not reach the target', { errorClass: 'connectivity' }, ['validate-target', 'open-target', 'run-again']],
    ['a backup refused by the host key check', { errorClass: 'host-key' }, ['validate-target', 'open-target', 'run-again']],
    ['a backup refused at login', { errorClass: 'authentication' }, ['validate-target', 'open-target', 'run-again']],
    ['a backup to a target not ready', { errorClass: 'target-not-ready' }, ['validate-target', 'open-target', 'run-again']],
    ['an interrupted backup', { status: 'interrupted', errorClass: null }, ['run-again']],
    ['a cancelled backup', { status: 'cancelled', errorClass: 'cancelled' }, ['run-again']],
    ['a failed validation', { kind: 'validate', jobId: null, errorClass: 'zfs' }, ['validate-target', 'open-target']],
    [
      'a restore that lost the target: validate, but no one-click repeat',
      { kind: 'restore', errorClass: 'connectivity' },
      ['validate-target', 'open-target'],
    ],
    ['a restore that failed in ZFS', { kind: 'restore' }, []],
    ['a success', { status: 'success', errorClass: null }, []],
    ['still running', { status: 'running', errorClass: null }, []],
    ['a backup whose job is gone', { jobId: null }, []],
    ['a target error without a target', { errorClass: 'connectivity', targetId: null, jobId: null }, []],
  ])('%s', (_, over, want) => {
    expect(kinds(ev(over))).toEqual(want);
  });

  it('carries what each request needs', () => {
    expect(nextSteps(ev({ errorClass: 'connectivity' }))).toEqual([
      { kind: 'validate-target', label: 'Validate target', targetId: 4, nodeId: 2 },
      { kind: 'open-target', label: 'Open target', targetId: 4 },
      { kind: 'run-again', label: 'Run again', jobId: 7 },
    ]);
  });
});
