// Keep Last after a backup's data landed: both sides as they are now, the pure planner decides
// (prune/planner.ts: never a snapshot that is another job's, cloned, held, or the newest common
// one), and every destroy re-checks owner and GUID right before (zfs.ts destroySnapshotChecked).
import { planPrune, type KeptSnapshot, type PruneSnapshot } from '../prune/index.ts';
import type { DatasetInfo, SnapshotInfo, Zfs } from '../zfs/index.ts';
import { asExecError } from '../core/errors.ts';
import type { BackupResult, ExecContext, JobSpec } from './types.ts';

type Prunable = PruneSnapshot & { full: string };

export interface PruneInput {
  job: Pick<JobSpec, 'id' | 'keepLast' | 'pruneTarget'>;
  generation: number;
  local: Zfs;
  remote: Zfs;
  /** The source datasets now, and the job's target tree now (by name). */
  source: DatasetInfo[];
  target: Map<string, DatasetInfo>;
  sourcePools: string[];
  targetPool: string;
  /** `<backupRoot>/j<job>/g<generation>` and where a source dataset lands under it. */
  genRoot: string;
  targetPathOf: (source: string) => string;
  ctx: ExecContext;
}

/** Destroys what Keep Last lets go on the source (and on the target with pruneTarget); returns what went. */
export async function pruneAfterBackup(i: PruneInput): Promise<BackupResult['pruned']> {
  const { job, generation, local, remote, ctx } = i;
  const pruned: BackupResult['pruned'] = [];
  const srcClones = new Set<string>();
  for (const pool of i.sourcePools) for (const o of await local.clonesOrigins(pool)) srcClones.add(o);
  const tgtClones = await remote.clonesOrigins(i.targetPool);
  const toPrune = (s: SnapshotInfo, clones: Set<string>): Prunable => ({
    name: s.name,
    guid: s.guid,
    createtxg: s.createtxg,
    job: s.job,
    generation: s.generation,
    userrefs: s.userrefs,
    cloned: clones.has(s.full),
    full: s.full,
  });
  const destroy = async (z: Zfs, side: 'source' | 'target', s: Prunable) => {
    try {
      await z.destroySnapshotChecked(s.full, s.guid, job.id);
      pruned.push({ side, snapshot: s.full });
      ctx.log(`pruned ${side} ${s.full}`);
      ctx.checkpoint?.('during-pruning');
    } catch (e) {
      const err = asExecError(e);
      if (err.errorClass === 'cancelled' || err.errorClass === 'connectivity') throw err;
      ctx.log(`not pruned ${side} ${s.full}: ${err.message}`);
    }
  };
  // Keep Last never fights a hold: a held snapshot it would have destroyed is kept and named here
  const reportHeld = (side: 'source' | 'target', keep: KeptSnapshot[]) => {
    for (const k of keep)
      if (k.reason === 'held')
        ctx.log(
          `not pruned ${side} ${(k.snapshot as Prunable).full}: ${k.detail} (zfs holds shows whose); Keep Last does not release holds`,
        );
  };
  for (const d of i.source) {
    const t = i.target.get(i.targetPathOf(d.name));
    const plan = planPrune({
      side: 'source',
      jobId: job.id,
      keepLast: job.keepLast,
      snapshots: d.snapshots.map((s) => toPrune(s, srcClones)),
      otherSideGuids: (t?.snapshots ?? []).map((s) => s.guid),
    });
    reportHeld('source', plan.keep);
    for (const s of plan.destroy) await destroy(local, 'source', s as Prunable);
  }
  if (job.pruneTarget) {
    const srcMap = new Map(i.source.map((d) => [d.name, d]));
    for (const t of i.target.values()) {
      if (!t.name.startsWith(i.genRoot + '/') || t.source === null) continue;
      const s = srcMap.get(t.name.slice(i.genRoot.length + 1));
      const plan = planPrune({
        side: 'target',
        jobId: job.id,
        keepLast: job.keepLast,
        generation,
        snapshots: t.snapshots.map((x) => toPrune(x, tgtClones)),
        otherSideGuids: (s?.snapshots ?? []).map((x) => x.guid),
      });
      reportHeld('target', plan.keep);
      for (const x of plan.destroy) await destroy(remote, 'target', x as Prunable);
    }
  }
  return pruned;
}
