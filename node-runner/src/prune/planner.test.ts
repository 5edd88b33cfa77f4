// Prune planner: table-driven cases plus a seeded property test (no extra dependency).
import { describe, expect, it } from 'vitest';
import { planPrune, type PruneInput, type PruneSnapshot } from './index.ts';

const J = 7;
let txg = 100;
function snap(name: string, o: Partial<PruneSnapshot> = {}): PruneSnapshot {
  return { name, guid: `g-${name}`, createtxg: txg++, job: J, generation: 1, userrefs: 0, cloned: false, ...o };
}
const names = (l: PruneSnapshot[]) => l.map((s) => s.name).sort();
const reasonOf = (plan: ReturnType<typeof planPrune>, n: string) => plan.keep.find((k) => k.snapshot.name === n)?.reason;

describe('planPrune (table)', () => {
  const a = snap('a');
  const b = snap('b');
  const c = snap('c');
  const d = snap('d');
  const manual = snap('manual', { job: null });
  const other = snap('lb_j9_x', { job: 9 });
  const oldGen = snap('oldgen', { generation: 0, createtxg: 1 });
  const held = snap('held', { userrefs: 1 });
  const cloned = snap('cloned', { cloned: true });
  const e = snap('e');
  const f = snap('f');
  const cases: { name: string; input: Omit<PruneInput, 'jobId'>; destroy: string[]; reasons?: Record<string, string> }[] = [
    {
      name: 'keepLast 0 disables pruning',
      input: { side: 'source', keepLast: 0, snapshots: [a, b, c], otherSideGuids: [] },
      destroy: [],
      reasons: { a: 'pruning-disabled' },
    },
    {
      name: 'keeps newest N',
      input: { side: 'source', keepLast: 2, snapshots: [a, b, c, d], otherSideGuids: [d.guid] },
      destroy: ['a', 'b'],
      reasons: { c: 'keep-last', d: 'keep-last' },
    },
    {
      name: 'newest common survives keepLast 1 when newer snapshots are not on the other side',
      input: { side: 'source', keepLast: 1, snapshots: [a, b, c, d], otherSideGuids: [b.guid, a.guid] },
      destroy: ['a', 'c'],
      reasons: { b: 'newest-common', d: 'keep-last' },
    },
    {
      name: 'hand-made and other job snapshots are never candidates',
      input: { side: 'source', keepLast: 1, snapshots: [manual, other, a, b], otherSideGuids: [b.guid] },
      destroy: ['a'],
      reasons: { manual: 'not-this-job', lb_j9_x: 'not-this-job', b: 'keep-last' },
    },
    {
      name: 'target: other generations are kept',
      input: { side: 'target', generation: 1, keepLast: 1, snapshots: [oldGen, a, b], otherSideGuids: [b.guid] },
      destroy: ['a'],
      reasons: { oldgen: 'other-generation' },
    },
    {
      name: 'source: generation does not matter',
      input: { side: 'source', keepLast: 1, snapshots: [oldGen, a, b], otherSideGuids: [b.guid] },
      destroy: ['a', 'oldgen'],
    },
    {
      name: 'held and cloned are kept',
      input: { side: 'source', keepLast: 1, snapshots: [held, cloned, e, f], otherSideGuids: [f.guid] },
      destroy: ['e'],
      reasons: { held: 'held', cloned: 'cloned', f: 'keep-last' },
    },
    {
      name: 'nothing common: only count pruning',
      input: { side: 'target', generation: 1, keepLast: 2, snapshots: [a, b, c], otherSideGuids: [] },
      destroy: ['a'],
    },
  ];
  for (const c0 of cases) {
    it(c0.name, () => {
      const plan = planPrune({ jobId: J, ...c0.input });
      expect(names(plan.destroy)).toEqual([...c0.destroy].sort());
      expect(plan.destroy.length + plan.keep.length).toBe(c0.input.snapshots.length);
      for (const [n, r] of Object.entries(c0.reasons ?? {})) expect(reasonOf(plan, n), n).toBe(r);
    });
  }
  it('target side needs the generation', () => {
    expect(() => planPrune({ jobId: J, side: 'target', keepLast: 1, snapshots: [], otherSideGuids: [] })).toThrow(/generation/);
  });
});

/** mulberry32: small deterministic PRNG */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('planPrune (property, seeded)', () => {
  it('never destroys a protected snapshot and keeps the newest N candidates, 2000 random cases', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const r = rng(seed);
      const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
      const n = Math.floor(r() * 14);
      const side = r() < 0.5 ? 'source' : 'target';
      const generation = 1 + Math.floor(r() * 3);
      const keepLast = Math.floor(r() * 5);
      const snaps: PruneSnapshot[] = [];
      const txgs = new Set<number>();
      for (let i = 0; i < n; i++) {
        let t = Math.floor(r() * 1000);
        while (txgs.has(t)) t++;
        txgs.add(t);
        snaps.push({
          name: `s${i}`,
          guid: `${seed}-${i}`,
          createtxg: BigInt(t),
          job: pick([J, J, J, J, null, 3]),
          generation: pick([generation, generation, generation - 1, null]),
          userrefs: r() < 0.1 ? 1 : 0,
          cloned: r() < 0.1,
        });
      }
      const other = snaps.filter(() => r() < 0.4).map((s) => s.guid);
      const plan = planPrune({ side, jobId: J, keepLast, generation, snapshots: snaps, otherSideGuids: other });
      const ctx = `seed ${seed}`;
      // partition
      const all = [...plan.destroy.map((s) => s.name), ...plan.keep.map((k) => k.snapshot.name)].sort();
      expect(all, ctx).toEqual(snaps.map((s) => s.name).sort());
      const otherSet = new Set(other);
      const common = snaps.filter((s) => otherSet.has(s.guid)).sort((a, b) => Number(BigInt(b.createtxg) - BigInt(a.createtxg)))[0];
      for (const d of plan.destroy) {
        expect(keepLast, ctx).toBeGreaterThan(0);
        expect(d.job, ctx).toBe(J);
        if (side === 'target') expect(d.generation, ctx).toBe(generation);
        expect(d.userrefs, ctx).toBe(0);
        expect(d.cloned, ctx).toBe(false);
        if (common) expect(d.guid, ctx).not.toBe(common.guid);
      }
      // the newest keepLast candidates are kept; every destroyed one is older than all of them
      const candidates = snaps
        .filter((s) => s.job === J && (side === 'source' || s.generation === generation))
        .sort((a, b) => Number(BigInt(b.createtxg) - BigInt(a.createtxg)));
      const newest = candidates.slice(0, Math.max(0, keepLast));
      const destroyed = new Set(plan.destroy.map((s) => s.name));
      for (const s of newest) expect(destroyed.has(s.name), ctx).toBe(false);
      if (keepLast > 0) {
        const minKept = newest.length ? BigInt(newest[newest.length - 1].createtxg) : null;
        for (const d of plan.destroy) expect(minKept !== null && BigInt(d.createtxg) < minKept, ctx).toBe(true);
        // everything older than the newest N that is not protected goes
        for (const s of candidates.slice(keepLast)) {
          const protectedS = s.userrefs > 0 || s.cloned || (common && s.guid === common.guid);
          expect(destroyed.has(s.name), ctx).toBe(!protectedS);
        }
      } else {
        expect(plan.destroy, ctx).toEqual([]);
      }
      for (const k of plan.keep) expect(k.detail.length, ctx).toBeGreaterThan(0);
    }
  });
});
