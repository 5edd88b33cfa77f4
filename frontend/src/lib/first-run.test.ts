// Table test of the Overview's first-run steps: which are done, which one is next, what each waits for.
import { describe, expect, it } from 'vitest';
import { firstRunFacts, firstRunSteps, type FirstRunFacts } from './first-run';
import type { Overview } from './types';

const facts = (over: Partial<FirstRunFacts>): FirstRunFacts => ({
  targets: 0,
  targetsReady: 0,
  nodesOnline: 0,
  jobs: 0,
  backedUp: false,
  ...over,
});
/** The states in the order shown: target, validate, node, job, run. */
const states = (f: FirstRunFacts) => firstRunSteps(f)?.map((s) => `${s.key}:${s.state}`) ?? null;

describe('firstRunSteps', () => {
  it.each<[string, Partial<FirstRunFacts>, string[]]>([
    ['an empty install: add a target first', {}, ['target:next', 'validate:todo', 'node:todo', 'job:todo', 'run:todo']],
    [
      'npm start: the local node is online, no target yet',
      { nodesOnline: 1 },
      ['target:next', 'validate:todo', 'node:done', 'job:todo', 'run:todo'],
    ],
    [
      'a target, no node online: the node comes before validating',
      { targets: 1 },
      ['target:done', 'validate:todo', 'node:next', 'job:todo', 'run:todo'],
    ],
    [
      'a target and a node: validate it (confirm its host key)',
      { targets: 1, nodesOnline: 1 },
      ['target:done', 'validate:next', 'node:done', 'job:todo', 'run:todo'],
    ],
    [
      'a ready target and a node: create a job',
      { targets: 1, targetsReady: 1, nodesOnline: 1 },
      ['target:done', 'validate:done', 'node:done', 'job:next', 'run:todo'],
    ],
    [
      'a job: run it',
      { targets: 1, targetsReady: 1, nodesOnline: 1, jobs: 1 },
      ['target:done', 'validate:done', 'node:done', 'job:done', 'run:next'],
    ],
    [
      'a job while the target is not ready: validate before running',
      { targets: 1, nodesOnline: 1, jobs: 1 },
      ['target:done', 'validate:next', 'node:done', 'job:done', 'run:todo'],
    ],
    [
      'everything made but the node went offline: bring it back',
      { targets: 1, targetsReady: 1, jobs: 1 },
      ['target:done', 'validate:done', 'node:next', 'job:done', 'run:todo'],
    ],
  ])('%s', (_, over, want) => {
    expect(states(facts(over))).toEqual(want);
  });

  it('exactly one step is next until a backup succeeded; then there are no steps', () => {
    for (const targets of [0, 1])
      for (const targetsReady of [0, targets])
        for (const nodesOnline of [0, 1])
          for (const jobs of [0, 1]) {
            const steps = firstRunSteps(facts({ targets, targetsReady, nodesOnline, jobs }));
            expect(steps?.filter((s) => s.state === 'next')).toHaveLength(1);
          }
    expect(firstRunSteps(facts({ targets: 1, targetsReady: 1, nodesOnline: 1, jobs: 1, backedUp: true }))).toBeNull();
    // a backup that succeeded once is enough, whatever came after (a job failing now is the Overview's)
    expect(firstRunSteps(facts({ backedUp: true }))).toBeNull();
  });

  it('a step not done says which steps it waits for', () => {
    const steps = firstRunSteps(facts({ targets: 1 }))!;
    expect(Object.fromEntries(steps.map((s) => [s.key, s.waitsFor]))).toEqual({
      target: [],
      validate: ['node'],
      node: [],
      job: ['node'],
      run: ['job', 'validate', 'node'],
    });
  });
});

describe('firstRunFacts', () => {
  it('reads the counts from GET /overview (not its job lines, which may be the first few only)', () => {
    const o = {
      jobsTotal: 2,
      jobsBackedUp: 1,
      nodes: { total: 3, offline: [{ id: 2, name: 'b', lastSeenAt: null }] },
      targets: { total: 2, ready: 1, notReady: [] },
    } satisfies Pick<Overview, 'jobsTotal' | 'jobsBackedUp' | 'nodes' | 'targets'>;
    expect(firstRunFacts(o)).toEqual({ targets: 2, targetsReady: 1, nodesOnline: 2, jobs: 2, backedUp: true });
    expect(firstRunFacts({ ...o, jobsBackedUp: 0 }).backedUp).toBe(false);
  });
});
