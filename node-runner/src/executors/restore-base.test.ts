// planItemBase: which base an incremental restore uses, table-driven over hand-made listings.
import { describe, expect, it } from 'vitest';
import type { SnapshotInfo } from '../zfs/index.ts';
import { planItemBase, type ItemBaseInput } from './restore-base.ts';

const T = 'bk/backups/j3/g1/tank/data';
const L = 'tank/data';
/** A snapshot `name` of `dataset` with `guid` at `txg`. */
const snap = (dataset: string, name: string, guid: string, txg: number): SnapshotInfo => ({
  dataset,
  name,
  full: `${dataset}@${name}`,
  guid,
  createtxg: BigInt(txg),
  creation: 0,
  used: 0,
  referenced: 0,
  userrefs: 0,
  job: 3,
  generation: 1,
  event: null,
});
// the target's chain: s1 < s2 < s3 < s4 (GUIDs 11..14)
const t1 = snap(T, 's1', '11', 100);
const t2 = snap(T, 's2', '12', 200);
const t3 = snap(T, 's3', '13', 300);
const t4 = snap(T, 's4', '14', 400);
const chain = [t1, t2, t3, t4];
// the live destination's copies of them (its own txgs), and snapshots it made itself
const l1 = snap(L, 's1', '11', 10);
const l2 = snap(L, 's2', '12', 20);
const l3 = snap(L, 's3', '13', 30);
const l4 = snap(L, 's4', '14', 40);
const own = snap(L, 'hand', '99', 25);

const input = (o: Partial<ItemBaseInput>): ItemBaseInput => ({ chosen: t3, targetChain: chain, live: [l1, l2], raw: false, ...o });

describe('planItemBase', () => {
  const cases: {
    name: string;
    i: Partial<ItemBaseInput>;
    want: { mode: 'full' } | { mode: 'incremental'; target: string; live: string };
  }[] = [
    { name: 'newest common older snapshot is the base', i: {}, want: { mode: 'incremental', target: t2.full, live: l2.full } },
    {
      name: 'listing order does not matter',
      i: { targetChain: [t4, t2, t1, t3], live: [l2, l1] },
      want: { mode: 'incremental', target: t2.full, live: l2.full },
    },
    { name: 'only an older one in common', i: { live: [l1, own] }, want: { mode: 'incremental', target: t1.full, live: l1.full } },
    {
      name: 'the chosen one itself is not a base: the next older common is',
      i: { live: [l1, l2, l3] },
      want: { mode: 'incremental', target: t2.full, live: l2.full },
    },
    { name: 'newer common snapshots are ignored', i: { live: [l1, l4] }, want: { mode: 'incremental', target: t1.full, live: l1.full } },
    { name: 'only newer or equal in common → full', i: { live: [l3, l4] }, want: { mode: 'full' } },
    { name: 'nothing in common → full', i: { live: [own] }, want: { mode: 'full' } },
    { name: 'no live dataset → full', i: { live: null }, want: { mode: 'full' } },
    { name: 'the first snapshot chosen → full', i: { chosen: t1, live: [l1, l2] }, want: { mode: 'full' } },
    { name: 'raw (encrypted) → full', i: { raw: true }, want: { mode: 'full' } },
    { name: 'chosen not in the listing → full', i: { targetChain: [t1, t2, t4] }, want: { mode: 'full' } },
    {
      name: 'a same-named older live snapshot would collide at the promote → full',
      i: { live: [snap(L, 's3', '77', 5), l1, l2] },
      want: { mode: 'full' },
    },
    {
      name: 'a same-named live snapshot newer than the base is fine (stays with the set-aside copy)',
      i: { live: [l1, l2, snap(L, 's3', '77', 50)] },
      want: { mode: 'incremental', target: t2.full, live: l2.full },
    },
    {
      name: 'snapshots of another dataset in the chain are not bases',
      i: { targetChain: [snap('bk/other', 's2', '12', 150), t1, t3] },
      want: { mode: 'incremental', target: t1.full, live: l1.full },
    },
    {
      name: 'an unusable target name → full',
      i: { targetChain: [t1, { ...t2, name: '-x', full: `${T}@-x` }, t3] },
      want: { mode: 'full' },
    },
    {
      name: 'an empty GUID never matches',
      i: { targetChain: [t1, { ...t2, guid: '' }, t3], live: [l2, { ...own, guid: '' }] },
      want: { mode: 'full' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = planItemBase(input(c.i));
      if (c.want.mode === 'full') {
        expect(got.mode).toBe('full');
        expect(got.mode === 'full' && got.why.length > 0).toBe(true);
      } else {
        expect(got.mode === 'incremental' ? { mode: got.mode, target: got.target.full, live: got.live.full } : got).toEqual(c.want);
      }
    });
  }
});
