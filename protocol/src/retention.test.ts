// Retention planner: table tests over period boundaries (DST, leap days, ISO weeks, policies of 0),
// protection rules, and fast-check properties (nothing protected ever goes; the kept set only grows
// with the counts).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  effectivePolicy,
  keepLastPolicy,
  planRetention,
  retentionPolicyError,
  zoneOffset,
  type RetentionInput,
  type RetentionPolicy,
  type RetentionSnapshot,
} from './retention.ts';

const J = 7;
const at = (iso: string) => Date.parse(iso) / 1000;
let txg = 1000;
function snap(name: string, iso: string, o: Partial<RetentionSnapshot> = {}): RetentionSnapshot {
  return { name, guid: `g-${name}`, createtxg: txg++, creation: at(iso), job: J, generation: 1, userrefs: 0, cloned: false, ...o };
}
const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ ...keepLastPolicy(0), ...p });
const plan = (i: Partial<RetentionInput<RetentionSnapshot>> & Pick<RetentionInput<RetentionSnapshot>, 'snapshots' | 'policy'>) =>
  planRetention({ side: 'source', jobId: J, timeZone: 'UTC', now: at('2026-12-01T00:00:00Z'), otherSideGuids: [], ...i });
const kept = (p: ReturnType<typeof plan>) => p.verdicts.filter((v) => v.keep).map((v) => v.snapshot.name);
const reasonsOf = (p: ReturnType<typeof plan>) => Object.fromEntries(p.verdicts.map((v) => [v.snapshot.name, v.reasons.join('; ')]));

describe('planRetention: rules', () => {
  it('keeps the newest N, newest first', () => {
    const s = ['a', 'b', 'c', 'd'].map((n, i) => snap(n, `2026-11-2${i}T00:00:00Z`));
    const p = plan({ policy: policy({ last: 2 }), snapshots: s });
    expect(kept(p)).toEqual(['d', 'c']);
    expect(p.destroy.map((x) => x.name)).toEqual(['b', 'a']);
    expect(reasonsOf(p)).toEqual({ d: 'last 2', c: 'last 2', b: 'no rule keeps it (last 2)', a: 'no rule keeps it (last 2)' });
  });

  it('a policy of all zeros keeps only what is protected; no policy keeps everything', () => {
    const s = [snap('a', '2026-11-20T00:00:00Z'), snap('b', '2026-11-21T00:00:00Z'), snap('c', '2026-11-22T00:00:00Z')];
    const zero = plan({ policy: policy({}), snapshots: s, otherSideGuids: ['g-b'] });
    expect(kept(zero)).toEqual(['b']);
    expect(reasonsOf(zero).b).toBe('newest common');
    expect(reasonsOf(zero).c).toBe('no rule keeps it (keeps only protected snapshots)');
    const none = plan({ policy: null, snapshots: s });
    expect(kept(none)).toEqual(['c', 'b', 'a']);
    expect(reasonsOf(none).a).toBe('no policy on this side');
  });

  it('daily keeps the newest of each of the N most recent days that have a snapshot', () => {
    const s = [
      snap('d1-early', '2026-11-25T01:00:00Z'),
      snap('d1-late', '2026-11-25T23:59:59Z'),
      // no snapshot on the 26th: that day does not count
      snap('d3-midnight', '2026-11-27T00:00:00Z'),
      snap('d3-noon', '2026-11-27T12:00:00Z'),
      snap('d4', '2026-11-28T08:00:00Z'),
    ];
    const p = plan({ policy: policy({ daily: 3 }), snapshots: s });
    expect(kept(p)).toEqual(['d4', 'd3-noon', 'd1-late']);
    expect(reasonsOf(p)['d1-late']).toBe('daily 2026-11-25');
    expect(reasonsOf(p)['d4']).toBe('daily 2026-11-28');
  });

  it('periods are counted in the job time zone', () => {
    // 23:30 UTC on the 27th is the 28th in Berlin (CET, +1)
    const s = [snap('a', '2026-11-27T22:30:00Z'), snap('b', '2026-11-27T23:30:00Z')];
    expect(kept(plan({ policy: policy({ daily: 2 }), snapshots: s }))).toEqual(['b']); // UTC: one day
    const berlin = plan({ policy: policy({ daily: 2 }), snapshots: s, timeZone: 'Europe/Berlin' });
    expect(kept(berlin)).toEqual(['b', 'a']);
    expect(reasonsOf(berlin)).toEqual({ b: 'daily 2026-11-28', a: 'daily 2026-11-27' });
  });

  it('DST fall-back: the repeated local hour is one hourly period, the day has 25 hours', () => {
    // Europe/Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:xx local happens twice
    const s = [
      snap('first-0215', '2026-10-25T00:15:00Z'), // 02:15 CEST
      snap('second-0215', '2026-10-25T01:15:00Z'), // 02:15 CET
      snap('0315', '2026-10-25T02:15:00Z'),
      snap('day-end', '2026-10-25T22:59:00Z'), // 23:59 CET, still the 25th
    ];
    const p = plan({ policy: policy({ hourly: 10, daily: 5 }), snapshots: s, timeZone: 'Europe/Berlin' });
    expect(reasonsOf(p)).toEqual({
      'day-end': 'hourly 2026-10-25 23:00; daily 2026-10-25',
      '0315': 'hourly 2026-10-25 03:00',
      'second-0215': 'hourly 2026-10-25 02:00',
      'first-0215': 'no rule keeps it (hourly 10, daily 5)',
    });
  });

  it('DST spring-forward: the day has 23 hours and its periods stay whole', () => {
    // Europe/Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST
    const s = [snap('0130', '2026-03-29T00:30:00Z'), snap('0330', '2026-03-29T01:30:00Z'), snap('2330', '2026-03-29T21:30:00Z')];
    const p = plan({ policy: policy({ hourly: 3, daily: 1 }), snapshots: s, timeZone: 'Europe/Berlin' });
    expect(reasonsOf(p)).toEqual({
      '2330': 'hourly 2026-03-29 23:00; daily 2026-03-29',
      '0330': 'hourly 2026-03-29 03:00',
      '0130': 'hourly 2026-03-29 01:00',
    });
    expect(zoneOffset('Europe/Berlin', at('2026-03-29T00:30:00Z'))).toBe(3600);
    expect(zoneOffset('Europe/Berlin', at('2026-03-29T01:30:00Z'))).toBe(7200);
  });

  it('leap days: 29 February is a day of its own and of February', () => {
    const s = [snap('feb28', '2024-02-28T12:00:00Z'), snap('feb29', '2024-02-29T12:00:00Z'), snap('mar1', '2024-03-01T12:00:00Z')];
    const p = plan({ policy: policy({ daily: 2, monthly: 2 }), snapshots: s });
    expect(reasonsOf(p)).toEqual({
      mar1: 'daily 2024-03-01; monthly 2024-03',
      feb29: 'daily 2024-02-29; monthly 2024-02',
      feb28: 'no rule keeps it (daily 2, monthly 2)',
    });
  });

  it('weeks are ISO weeks, Monday first, numbered by their Thursday (2026 has a W53)', () => {
    const s = [
      snap('sun', '2026-12-27T12:00:00Z'), // Sunday, 2026-W52
      snap('mon', '2026-12-28T00:00:00Z'), // Monday, 2026-W53
      snap('fri', '2027-01-01T12:00:00Z'), // Friday, still 2026-W53
      snap('mon2', '2027-01-04T00:00:00Z'), // 2027-W01
    ];
    const p = plan({ policy: policy({ weekly: 3, yearly: 2 }), snapshots: s, now: at('2027-01-05T00:00:00Z') });
    expect(reasonsOf(p)).toEqual({
      mon2: 'weekly 2027-W01; yearly 2027',
      fri: 'weekly 2026-W53', // 2027 by the calendar: the yearly period is the calendar year
      mon: 'yearly 2026',
      sun: 'weekly 2026-W52',
    });
  });

  it('within keeps everything newer than the duration, at the boundary included', () => {
    const now = at('2026-12-01T00:00:00Z');
    const s = [snap('old', '2026-11-28T23:59:59Z'), snap('edge', '2026-11-29T00:00:00Z'), snap('new', '2026-11-30T00:00:00Z')];
    const p = plan({ policy: policy({ within: '48h' }), snapshots: s, now });
    expect(kept(p)).toEqual(['new', 'edge']);
    expect(reasonsOf(p).edge).toBe('within 48h');
  });

  it('a snapshot kept by several rules names them all', () => {
    const s = [snap('a', '2026-11-29T10:00:00Z'), snap('b', '2026-11-30T10:00:00Z')];
    const p = plan({ policy: policy({ last: 1, daily: 2, within: '1d' }), snapshots: s, otherSideGuids: ['g-b'] });
    expect(reasonsOf(p)).toEqual({ b: 'last 1; daily 2026-11-30; within 1d; newest common', a: 'daily 2026-11-29' });
  });
});

describe('planRetention: protection', () => {
  const s = [
    snap('manual', '2026-11-01T00:00:00Z', { job: null }),
    snap('other', '2026-11-02T00:00:00Z', { job: 9 }),
    snap('oldgen', '2026-11-03T00:00:00Z', { generation: 0 }),
    snap('held', '2026-11-04T00:00:00Z', { userrefs: 1 }),
    snap('cloned', '2026-11-05T00:00:00Z', { cloned: true }),
    snap('common', '2026-11-06T00:00:00Z'),
    snap('plain', '2026-11-07T00:00:00Z'),
    snap('newest', '2026-11-08T00:00:00Z'),
  ];
  it('target: not ours, other jobs, other generations, held, cloned and the newest common are kept', () => {
    const p = plan({ side: 'target', generation: 1, policy: policy({ last: 1 }), snapshots: s, otherSideGuids: ['g-common', 'g-held'] });
    expect(reasonsOf(p)).toEqual({
      newest: 'last 1',
      plain: 'no rule keeps it (last 1)',
      common: 'newest common',
      cloned: 'cloned',
      held: 'held',
      oldgen: 'generation 0',
      other: 'job 9',
      manual: 'not ours',
    });
  });
  it('source: the generation does not matter', () => {
    const p = plan({ side: 'source', policy: policy({ last: 1 }), snapshots: s, otherSideGuids: ['g-common'] });
    expect(p.destroy.map((x) => x.name)).toEqual(['plain', 'oldgen']);
  });
  it('source: a bookmarked newest common snapshot is no longer protected (its bookmark is the next base); held still wins', () => {
    const a = snap('a', '2026-11-01T00:00:00Z');
    const b = snap('b', '2026-11-02T00:00:00Z');
    const zero = policy({});
    const p = plan({ policy: zero, snapshots: [a, b], otherSideGuids: ['g-a', 'g-b'], bookmarkedGuids: ['g-b'] });
    expect(p.destroy.map((x) => x.name)).toEqual(['b', 'a']);
    expect(reasonsOf(p).b).toBe('no rule keeps it (keeps only protected snapshots); newest common, its bookmark is the next base');
    expect(kept(plan({ policy: zero, snapshots: [a, b], otherSideGuids: ['g-b'] }))).toEqual(['b']);
    const heldB = { ...b, userrefs: 1 };
    expect(reasonsOf(plan({ policy: zero, snapshots: [a, heldB], otherSideGuids: ['g-b'], bookmarkedGuids: ['g-b'] })).b).toBe('held');
    const tgt = plan({ side: 'target', generation: 1, policy: zero, snapshots: [a, b], otherSideGuids: ['g-b'], bookmarkedGuids: ['g-b'] });
    expect(kept(tgt)).toEqual(['b']);
  });
  it('target side needs the generation', () => {
    expect(() => plan({ side: 'target', policy: policy({ last: 1 }), snapshots: [] })).toThrow(/generation/);
  });
  it('listings in any order give the same plan', () => {
    const a = plan({ policy: policy({ last: 2 }), snapshots: s, otherSideGuids: ['g-common'] });
    const b = plan({ policy: policy({ last: 2 }), snapshots: [...s].reverse(), otherSideGuids: ['g-common'] });
    expect(reasonsOf(b)).toEqual(reasonsOf(a));
  });
});

describe('policies', () => {
  it('validation names the field', () => {
    expect(retentionPolicyError(policy({ daily: 3, within: '48h' }))).toBeNull();
    expect(retentionPolicyError(policy({ daily: -1 }))).toEqual(['daily', 'must be an integer ≥ 0']);
    expect(retentionPolicyError(policy({ hourly: 1.5 }))).toEqual(['hourly', 'must be an integer ≥ 0']);
    expect(retentionPolicyError(policy({ within: '2 days' }))?.[0]).toBe('within');
    expect(retentionPolicyError(policy({ within: '0h' }))?.[0]).toBe('within');
  });
  it('the simple form: Keep Last on the source, on the target only with Prune on Target', () => {
    const job = { keepLast: 5, pruneTarget: false, sourceRetention: null, targetRetention: null };
    expect(effectivePolicy(job, 'source')).toEqual(keepLastPolicy(5));
    expect(effectivePolicy(job, 'target')).toBeNull();
    expect(effectivePolicy({ ...job, pruneTarget: true }, 'target')).toEqual(keepLastPolicy(5));
    expect(effectivePolicy({ ...job, keepLast: 0 }, 'source')).toBeNull();
    const explicit = policy({ daily: 7 });
    expect(effectivePolicy({ ...job, targetRetention: explicit }, 'target')).toBe(explicit);
  });
});

describe('planRetention: properties', () => {
  const START = at('2024-01-01T00:00:00Z');
  const snapshotList = fc
    .array(
      fc.record({
        gap: fc.integer({ min: 1, max: 40 * 3600 }),
        job: fc.constantFrom<number | null>(J, J, J, J, null, 9),
        generation: fc.constantFrom<number | null>(1, 1, 1, 2, null),
        held: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
        cloned: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
        onOther: fc.boolean(),
      }),
      { maxLength: 40 },
    )
    .map((rows) => {
      let t = START;
      return rows.map((r, i) => {
        t += r.gap;
        const s: RetentionSnapshot = {
          name: `s${i}`,
          guid: `g${i}`,
          createtxg: i + 1,
          creation: t,
          job: r.job,
          generation: r.generation,
          userrefs: r.held ? 1 : 0,
          cloned: r.cloned,
        };
        return { s, onOther: r.onOther };
      });
    });
  const count = fc.integer({ min: 0, max: 6 });
  const policyArb = fc.record({
    last: count,
    hourly: count,
    daily: count,
    weekly: count,
    monthly: count,
    yearly: count,
    within: fc.constantFrom(null, '6h', '3d', '1w'),
  });
  const zone = fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu');
  const side = fc.constantFrom<'source' | 'target'>('source', 'target');
  const input = (rows: { s: RetentionSnapshot; onOther: boolean }[], p: RetentionPolicy, tz: string, sd: 'source' | 'target') => ({
    side: sd,
    jobId: J,
    generation: 1,
    policy: p,
    timeZone: tz,
    now: (rows.at(-1)?.s.creation ?? START) + 3600,
    snapshots: rows.map((r) => r.s),
    otherSideGuids: rows.filter((r) => r.onOther).map((r) => r.s.guid),
  });

  it('never destroys the newest common, a foreign, held or cloned snapshot; every snapshot gets one verdict', () => {
    fc.assert(
      fc.property(snapshotList, policyArb, zone, side, (rows, p, tz, sd) => {
        const r = planRetention(input(rows, p, tz, sd));
        expect(r.verdicts.length).toBe(rows.length);
        const common = [...rows].filter((x) => x.onOther).sort((a, b) => Number(b.s.createtxg) - Number(a.s.createtxg))[0]?.s;
        for (const d of r.destroy) {
          expect(d).not.toBe(common);
          expect(d.job).toBe(J);
          if (sd === 'target') expect(d.generation).toBe(1);
          expect(d.userrefs).toBe(0);
          expect(d.cloned).toBe(false);
        }
        for (const v of r.verdicts) expect(v.reasons.length).toBeGreaterThan(0);
      }),
      { numRuns: 1500 },
    );
  });

  it('the kept set is monotonic in every count', () => {
    const field = fc.constantFrom('last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly' as const);
    fc.assert(
      fc.property(snapshotList, policyArb, zone, side, field, fc.integer({ min: 1, max: 5 }), (rows, p, tz, sd, k, more) => {
        const keptBy = (pol: RetentionPolicy) =>
          new Set(
            planRetention(input(rows, pol, tz, sd))
              .verdicts.filter((v) => v.keep)
              .map((v) => v.snapshot.name),
          );
        const before = keptBy(p);
        const after = keptBy({ ...p, [k]: p[k] + more });
        for (const n of before) expect(after.has(n)).toBe(true);
      }),
      { numRuns: 1500 },
    );
  });
});
