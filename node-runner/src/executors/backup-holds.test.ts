// planHoldMove and planBookmarkPrune: what a run holds, releases and unbookmarks, over hand-made listings (no ZFS).
import { describe, expect, it } from 'vitest';
import { planBookmarkPrune, planHoldMove } from './backup-holds.ts';

const JOB = 7;
const s = (name: string, job: number | null, userrefs: number) => ({ full: `tank/app@${name}`, job, userrefs });

describe('planHoldMove', () => {
  const cases: { name: string; listing: ReturnType<typeof s>[]; release: string[] }[] = [
    { name: 'first run: nothing held yet', listing: [s('new', JOB, 0)], release: [] },
    { name: 'the previous base is released', listing: [s('a', JOB, 0), s('b', JOB, 1), s('new', JOB, 0)], release: ['tank/app@b'] },
    {
      name: 'every older held snapshot of the job (a release that failed before is retried)',
      listing: [s('a', JOB, 1), s('b', JOB, 2), s('new', JOB, 0)],
      release: ['tank/app@a', 'tank/app@b'],
    },
    { name: "another job's held snapshot is never released", listing: [s('x', 8, 1), s('new', JOB, 0)], release: [] },
    { name: 'a hand-made held snapshot is never released', listing: [s('mine', null, 1), s('new', JOB, 0)], release: [] },
    { name: 'the new snapshot itself is not released (held again by a retry)', listing: [s('new', JOB, 1)], release: [] },
  ];
  for (const c of cases)
    it(c.name, () => {
      expect(planHoldMove(JOB, c.listing, 'tank/app@new')).toEqual({ hold: 'tank/app@new', release: c.release });
    });
});

describe('planBookmarkPrune', () => {
  const b = (name: string, guid: string) => ({
    dataset: 'tank/app',
    name,
    full: `tank/app#${name}`,
    guid,
    createtxg: 1n,
    bookmark: true as const,
  });
  it('keeps a bookmark while the target has its snapshot; never touches a bookmark not named like the job', () => {
    const marks = [b('lb_j7_1', 'A'), b('lb_j7_2', 'B'), b('lb_j70_1', 'C'), b('mine', 'D'), b('lb_j8_1', 'E')];
    expect(planBookmarkPrune(JOB, marks, ['B']).map((x) => x.name)).toEqual(['lb_j7_1']);
    expect(planBookmarkPrune(JOB, marks, ['A', 'B'])).toEqual([]);
  });
});
