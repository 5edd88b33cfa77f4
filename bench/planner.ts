// Planning at scale (issue 14 #9): a backup run's pure work on synthetic listings of
// BENCH_DATASETS datasets (default 1,000) with BENCH_SNAPSHOTS snapshots in all (default 10,000) on
// each side: parse both sides' `zfs get -Hp` output (one listing per side, as a run reads it), the
// generation decision, the send plan, the hold moves and Keep Last of both sides for every dataset.
// The baseline in the same run is splitting the same listing text into lines and tabs (the least any
// parser does), so the ratio says how much the planning adds on this machine. Median of BENCH_ROUNDS
// (default 5) after one warm-up. No ZFS, no I/O.
import { performance } from 'node:perf_hooks';
import { PROP } from '../protocol/src/layout.ts';
import { decideGeneration, planDatasets } from '../node-runner/src/executors/backup-plan.ts';
import { planHoldMove } from '../node-runner/src/executors/backup-holds.ts';
import { keepLastPolicy, planRetention } from '../protocol/src/retention.ts';
import { parseGetHp, treeFromTable, TREE_PROPS, type DatasetInfo } from '../node-runner/src/zfs/index.ts';

const DATASETS = Number(process.env.BENCH_DATASETS ?? 1000);
const SNAPSHOTS = Number(process.env.BENCH_SNAPSHOTS ?? 10_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const JOB = 1;
const BACKUP_ROOT = 'backup/lifeboat';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** `zfs get -Hp -o name,property,value TREE_PROPS -r <root>` output for `datasets` with `perDataset` snapshots each. */
function listing(datasetName: (i: number) => string, perDataset: number, extraSnapshot: string | null): string {
  const lines: string[] = [];
  const row = (name: string, props: Record<string, string>) => {
    for (const p of TREE_PROPS) lines.push(`${name}\t${p}\t${props[p] ?? '-'}`);
  };
  for (let d = 0; d < DATASETS; d++) {
    const ds = datasetName(d);
    row(ds, {
      type: 'filesystem',
      guid: String(1e15 + d),
      used: '1000',
      referenced: '1000',
      [PROP.job]: '-',
      [PROP.source]: `tank/fleet/d${d}`,
    });
    const n = perDataset + (extraSnapshot ? 1 : 0);
    for (let s = 0; s < n; s++) {
      const name = s < perDataset ? `lb_j${JOB}_2026${String(s).padStart(6, '0')}Z` : extraSnapshot!;
      row(`${ds}@${name}`, {
        type: 'snapshot',
        guid: String(2e15 + d * 100_000 + s),
        createtxg: String(1000 + s),
        creation: String(1_700_000_000 + s),
        used: '100',
        referenced: '1000',
        userrefs: s === perDataset - 1 ? '1' : '0',
        [PROP.job]: String(JOB),
        [PROP.generation]: '1',
        [PROP.event]: String(s + 1),
      });
    }
  }
  return lines.join('\n') + '\n';
}

export async function benchPlanner(): Promise<void> {
  const per = Math.max(1, Math.round(SNAPSHOTS / DATASETS));
  const snapName = 'lb_j1_20261130T000000Z';
  const genRoot = `${BACKUP_ROOT}/j${JOB}/g1`;
  const srcText = listing((d) => `tank/fleet/d${d}`, per, snapName); // after this run's snapshot
  const tgtText = listing((d) => `${genRoot}/tank/fleet/d${d}`, per, null);
  console.log(
    `${DATASETS} datasets, ${per * DATASETS} snapshots per side (${((srcText.length + tgtText.length) / 1e6).toFixed(1)} MB of listings)`,
  );

  const baseline = () => {
    let n = 0;
    for (const t of [srcText, tgtText]) for (const l of t.split('\n')) n += l.split('\t').length;
    return n;
  };
  const plan = () => {
    const source: DatasetInfo[] = treeFromTable(parseGetHp(srcText));
    const targetList = treeFromTable(parseGetHp(tgtText));
    const target = new Map(targetList.map((d) => [d.name, d]));
    const sourceBefore = source.map((d) => ({ ...d, snapshots: d.snapshots.filter((s) => s.name !== snapName) }));
    const decided = decideGeneration({
      jobId: JOB,
      roots: ['tank/fleet'],
      backupRoot: BACKUP_ROOT,
      generation: 1,
      nextGeneration: 2,
      forkFrom: null,
      catalogDatasets: null,
      sendDecrypted: false,
      source: sourceBefore,
      target,
    });
    if (decided.newGeneration) throw new Error(`unexpected new generation: ${decided.newGeneration.reason}`);
    const { plans } = planDatasets({
      source,
      target,
      snapName,
      sendDecrypted: false,
      targetPathOf: (d) => `${genRoot}/${d}`,
    });
    const sourceByName = new Map(source.map((d) => [d.name, d]));
    let work = plans.length;
    for (const p of plans) {
      const t = target.get(p.target)!;
      const s = sourceByName.get(p.source);
      work += planHoldMove(JOB, s?.snapshots ?? [], `${p.source}@${snapName}`).release.length;
      work += planHoldMove(JOB, t.snapshots, `${p.target}@${snapName}`).release.length;
      const prune = (side: 'source' | 'target', snaps: typeof t.snapshots, other: typeof t.snapshots) =>
        planRetention({
          side,
          jobId: JOB,
          policy: keepLastPolicy(3),
          generation: 1,
          timeZone: 'UTC',
          now: 1_800_000_000,
          snapshots: snaps.map((x) => ({ ...x, cloned: false })),
          otherSideGuids: other.map((x) => x.guid),
        }).destroy.length;
      work += prune('source', s?.snapshots ?? [], t.snapshots) + prune('target', t.snapshots, s?.snapshots ?? []);
    }
    return work;
  };

  const time = (f: () => number) => {
    const t0 = performance.now();
    f();
    return (performance.now() - t0) / 1000;
  };
  time(baseline);
  time(plan);
  const b: number[] = [];
  const p: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    b.push(time(baseline));
    p.push(time(plan));
  }
  const mb = median(b);
  const mp = median(p);
  console.log(`split into fields (baseline)  median ${mb.toFixed(3)} s`);
  console.log(`parse + plan a whole run      median ${mp.toFixed(3)} s   (${(mp / mb).toFixed(1)}x the baseline; budget < 2 s)`);
}
