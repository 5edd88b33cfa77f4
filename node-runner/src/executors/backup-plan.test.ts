// decideGeneration, newestCommonBase, newerThan, planDatasets: table tests over hand-made listings, no ZFS.
import { describe, expect, it } from 'vitest';
import type { BookmarkInfo, DatasetInfo, SnapshotInfo } from '../zfs/index.ts';
import { decideGeneration, newerThan, newestCommonBase, planDatasets, type GenerationInput } from './backup-plan.ts';

const JOB = 3;
const BACKUP_ROOT = 'bk/backups';
const ROOT = `${BACKUP_ROOT}/j3`;
let txg = 100n;
/** A snapshot `name` of `dataset` with `guid`, tagged for (job, generation) when given; later calls get later txgs. */
const snap = (dataset: string, name: string, guid: string, gen: number | null = 1, job: number | null = JOB): SnapshotInfo => ({
  dataset,
  name,
  full: `${dataset}@${name}`,
  guid,
  createtxg: txg++,
  creation: 0,
  used: 0,
  referenced: 0,
  userrefs: 0,
  job,
  generation: gen,
  event: null,
});
const ds = (name: string, snapshots: SnapshotInfo[], props: Record<string, string | null> = {}): DatasetInfo => ({
  name,
  type: 'filesystem',
  guid: `g-${name}`,
  used: 0,
  referenced: 0,
  origin: null,
  job: null,
  generation: null,
  source: null,
  props,
  snapshots,
  bookmarks: [],
});
const tgtOf = (...l: DatasetInfo[]) => new Map(l.map((d) => [d.name, d]));
const t = (gen: number, src: string) => `${ROOT}/g${gen}/${src}`;

const base = (o: Partial<GenerationInput>): GenerationInput => ({
  jobId: JOB,
  roots: ['tank/data'],
  backupRoot: BACKUP_ROOT,
  generation: 1,
  nextGeneration: 2,
  forkFrom: null,
  catalogDatasets: null,
  sendDecrypted: false,
  source: [],
  target: new Map(),
  ...o,
});

describe('decideGeneration', () => {
  const s1 = snap('tank/data', 'lb_j3_1', 'A');
  const s2 = snap('tank/data', 'lb_j3_2', 'B');
  const srcData = ds('tank/data', [s1, s2]);

  it('a first run: the offered generation, nothing to log', () => {
    expect(decideGeneration(base({ source: [ds('tank/data', [])] }))).toEqual({
      generation: 1,
      newGeneration: null,
      fork: null,
      notes: [],
    });
  });

  it('continues when the newest snapshot is common by GUID', () => {
    const target = tgtOf(
      ds(`${ROOT}/g1`, []),
      ds(t(1, 'tank/data'), [snap(t(1, 'tank/data'), 'lb_j3_1', 'A'), snap(t(1, 'tank/data'), 'lb_j3_2', 'B')]),
    );
    expect(decideGeneration(base({ source: [srcData], target }))).toMatchObject({ generation: 1, newGeneration: null, fork: null });
  });

  it('continues from a bookmark when the common snapshots are gone from the source (the send plan uses it)', () => {
    const target = tgtOf(ds(`${ROOT}/g1`, []), ds(t(1, 'tank/data'), [snap(t(1, 'tank/data'), 'lb_j3_2', 'B')]));
    const now = snap('tank/data', 'lb_j3_3', 'C');
    const source = { ...ds('tank/data', [now]), bookmarks: [mark(s1), mark(s2)] };
    const d = decideGeneration(base({ source: [{ ...source, snapshots: [] }], target }));
    expect(d).toMatchObject({ generation: 1, newGeneration: null, fork: null });
    expect(d.notes).toEqual(['tank/data: the newest common snapshot is gone from the source; its bookmark #lb_j3_2 is the base']);
    const { plans } = planDatasets({ source: [source], target, snapName: 'lb_j3_3', sendDecrypted: false, targetPathOf: (x) => t(1, x) });
    expect(plans[0].base?.full).toBe('tank/data#lb_j3_2');
  });

  it('a copy the catalog never knew never arrived: same generation, full send, a note', () => {
    const d = decideGeneration(base({ source: [srcData], target: tgtOf(ds(`${ROOT}/g1`, [])), catalogDatasets: [] }));
    expect(d).toMatchObject({ generation: 1, newGeneration: null });
    expect(d.notes).toEqual([
      'nothing of tank/data has reached generation 1 on the target yet (an earlier transfer did not complete): full send into generation 1',
    ]);
  });

  it.each([
    ['the catalog knew it', [t(1, 'tank/data')]],
    ['the catalog is not known', null],
  ])('a copy gone from the target (%s): the next generation, full send', (_, catalogDatasets) => {
    const d = decideGeneration(base({ source: [srcData], target: tgtOf(ds(`${ROOT}/g1`, [])), catalogDatasets }));
    expect(d.generation).toBe(2);
    expect(d.fork).toBeNull();
    expect(d.newGeneration?.reason).toMatch(
      /is missing on the target although tank\/data was backed up to generation 1 \(destroyed by hand\?\)/,
    );
  });

  it('no common snapshot: the next generation, full send', () => {
    const target = tgtOf(ds(`${ROOT}/g1`, []), ds(t(1, 'tank/data'), [snap(t(1, 'tank/data'), 'lb_j3_0', 'Z')]));
    const d = decideGeneration(base({ source: [srcData], target }));
    expect(d).toMatchObject({ generation: 2, fork: null });
    expect(d.newGeneration?.reason).toMatch(/no snapshot of tank\/data is common/);
  });

  it.each([
    [false, 'raw', 'decrypted', 'off'],
    [true, 'decrypted', 'raw', 'aes-256-gcm'],
  ])(
    'an encrypted source whose sendDecrypted=%s no longer matches the target copy: the next generation',
    (sendDecrypted, now, held, tgtEnc) => {
      const src = ds('tank/data', [s1], { encryption: 'aes-256-gcm' });
      const target = tgtOf(ds(`${ROOT}/g1`, []), ds(t(1, 'tank/data'), [snap(t(1, 'tank/data'), 'lb_j3_1', 'A')], { encryption: tgtEnc }));
      const d = decideGeneration(base({ source: [src], target, sendDecrypted }));
      expect(d.generation).toBe(2);
      expect(d.newGeneration?.reason).toContain(`this job now sends it ${now}, but generation 1 holds it ${held}`);
    },
  );

  it('target snapshots newer than the common one: fork the next generation from it, never roll back', () => {
    const target = tgtOf(
      ds(`${ROOT}/g1`, []),
      ds(t(1, 'tank/data'), [snap(t(1, 'tank/data'), 'lb_j3_1', 'A'), snap(t(1, 'tank/data'), 'hand', 'H', null, null)]),
    );
    const d = decideGeneration(base({ source: [ds('tank/data', [s1])], target }));
    expect(d).toMatchObject({ generation: 2, fork: { fromDataset: `${ROOT}/g1`, snapName: 'lb_j3_1' } });
    expect(d.newGeneration?.reason).toMatch(
      /has snapshots newer than the newest common snapshot lb_j3_1 \(hand\); forked generation 2 from lb_j3_1/,
    );
  });

  it('after a restore: fork from the restored snapshot, found by GUID in any generation of the first root', () => {
    const restored = snap(t(1, 'tank/data'), 'lb_j3_1', 'A');
    const target = tgtOf(
      ds(`${ROOT}/g1`, []),
      ds(t(1, 'tank/data'), [restored]),
      ds(t(1, 'tank/data/child'), [snap(t(1, 'tank/data/child'), 'lb_j3_1', 'A')]),
    );
    const d = decideGeneration(base({ source: [srcData], target, forkFrom: { generation: 1, snapshotGuid: 'A' } }));
    expect(d).toMatchObject({ generation: 2, fork: { fromDataset: `${ROOT}/g1`, snapName: 'lb_j3_1' } });
    expect(d.newGeneration?.reason).toBe(
      'restored from generation 1 snapshot lb_j3_1: forked on the target (clone + promote), continuing incrementally',
    );
  });

  it.each([
    ['gone from the target', 'Q', JOB],
    ["present but another job's", 'A', 9],
  ])('after a restore whose snapshot is %s: the next generation with a full send', (_, guid, owner) => {
    const target = tgtOf(ds(`${ROOT}/g1`, []), ds(t(1, 'tank/data'), [snap(t(1, 'tank/data'), 'lb_j3_1', 'A', 1, owner)]));
    const d = decideGeneration(base({ source: [srcData], target, forkFrom: { generation: 1, snapshotGuid: guid } }));
    expect(d).toMatchObject({ generation: 2, fork: null });
    expect(d.newGeneration?.reason).toMatch(/is not on the target any more: new generation with a full send/);
  });
});

/** A bookmark of source snapshot `s` (same GUID and txg). */
const mark = (s: SnapshotInfo): BookmarkInfo => ({
  dataset: s.dataset,
  name: s.name,
  full: `${s.dataset}#${s.name}`,
  guid: s.guid,
  createtxg: s.createtxg,
  bookmark: true,
});

describe('newestCommonBase / newerThan', () => {
  const a = snap('s', 'a', 'A');
  const b = snap('s', 'b', 'B');
  const c = snap('s', 'c', 'C');
  it.each([
    ['the newest of the common ones', [a, b, c], [], [a, b], undefined, 'b'],
    ['the excluded one left out', [a, b, c], [], [a, b, c], 'c', 'b'],
    ['none in common', [a, b], [], [c], undefined, null],
    ['an empty source', [], [], [a], undefined, null],
    ['the snapshot is gone, its bookmark is the base', [c], [mark(a), mark(b)], [a, b], 'c', 'bookmark #b'],
    ['a snapshot wins over its own bookmark', [a, b, c], [mark(b)], [a, b], undefined, 'b'],
    ['a newer common snapshot wins over an older bookmark', [b], [mark(a)], [a, b], undefined, 'b'],
    ['a bookmark newer than every common snapshot wins', [a], [mark(b)], [a, b], undefined, 'bookmark #b'],
    ['a bookmark the target does not have is no base', [], [mark(c)], [a, b], undefined, null],
  ] as [string, SnapshotInfo[], BookmarkInfo[], SnapshotInfo[], string | undefined, string | null][])(
    '%s',
    (_, snapshots, bookmarks, tgt, exclude, want) => {
      const base = newestCommonBase({ snapshots, bookmarks }, tgt, exclude);
      expect(base ? ('bookmark' in base ? `bookmark #${base.name}` : base.name) : null).toBe(want);
    },
  );
  it('newerThan: target snapshots after the target copy of the base', () => {
    const ta = snap('t', 'a', 'A');
    const tb = snap('t', 'b', 'B');
    const tx = snap('t', 'x', 'X');
    expect(newerThan([ta, tb, tx], b).map((s) => s.name)).toEqual(['x']);
    expect(newerThan([tx], b)).toEqual([]);
  });
});

describe('planDatasets', () => {
  const s1 = snap('tank/data', 'lb_j3_1', 'A');
  const now = snap('tank/data', 'lb_j3_2', 'B');
  const child = snap('tank/data/c', 'lb_j3_2', 'C');
  const input = (source: DatasetInfo[], target: DatasetInfo[], sendDecrypted = false) => ({
    source,
    target: tgtOf(...target),
    snapName: 'lb_j3_2',
    sendDecrypted,
    targetPathOf: (d: string) => t(1, d),
  });
  const summary = (r: ReturnType<typeof planDatasets>) =>
    r.plans.map((p) => `${p.source} → ${p.target} ${p.base ? `from ${p.base.name}` : 'full'}${p.raw ? ' raw' : ''}`);

  it.each([
    [
      'nothing on the target: full sends, parents first',
      [ds('tank/data', [s1, now]), ds('tank/data/c', [child])],
      [],
      ['tank/data → bk/backups/j3/g1/tank/data full', 'tank/data/c → bk/backups/j3/g1/tank/data/c full'],
    ],
    [
      'the target has the older snapshot: incremental from it; a new child: full',
      [ds('tank/data', [s1, now]), ds('tank/data/c', [child])],
      [ds(t(1, 'tank/data'), [snap(t(1, 'tank/data'), 'lb_j3_1', 'A')])],
      ['tank/data → bk/backups/j3/g1/tank/data from lb_j3_1', 'tank/data/c → bk/backups/j3/g1/tank/data/c full'],
    ],
    [
      'an encrypted source: raw',
      [ds('tank/data', [s1, now], { encryption: 'aes-256-gcm' })],
      [],
      ['tank/data → bk/backups/j3/g1/tank/data full raw'],
    ],
    ['encryption off: not raw', [ds('tank/data', [s1, now], { encryption: 'off' })], [], ['tank/data → bk/backups/j3/g1/tank/data full']],
  ] as [string, DatasetInfo[], DatasetInfo[], string[]][])('%s', (_, source, target, want) => {
    const r = planDatasets(input(source, target));
    expect(summary(r)).toEqual(want);
    expect(r.warnings).toEqual([]);
  });

  it('an encrypted source of a job that sends decrypted: not raw, and a warning', () => {
    const r = planDatasets(input([ds('tank/data', [s1, now], { encryption: 'aes-256-gcm' })], [], true));
    expect(summary(r)).toEqual(['tank/data → bk/backups/j3/g1/tank/data full']);
    expect(r.warnings).toEqual(['tank/data is encrypted and this job sends it decrypted: the target holds its plaintext']);
  });

  it.each([
    [
      'a target copy sharing no snapshot',
      [ds(t(1, 'tank/data'), [snap(t(1, 'tank/data'), 'other', 'Z')])],
      'bk/backups/j3/g1/tank/data exists on the target but shares no snapshot with tank/data',
    ],
    [
      'a target copy with a snapshot newer than the common base',
      [ds(t(1, 'tank/data'), [snap(t(1, 'tank/data'), 'lb_j3_1', 'A'), snap(t(1, 'tank/data'), 'later', 'L')])],
      'bk/backups/j3/g1/tank/data has snapshots newer than the common base lb_j3_1 (later); not rolling them back',
    ],
  ] as [string, DatasetInfo[], string][])('%s: an error, nothing rolled back', (_, target, message) => {
    expect(() => planDatasets(input([ds('tank/data', [s1, now])], target))).toThrow(message);
  });
});
