// Retention after a backup's data landed: both sides as they are now, the pure planner decides
// (protocol/src/retention.ts: the job's policy per side; never a snapshot that is another job's,
// cloned, held, or the newest common one), and every destroy re-checks owner and GUID right before
// (zfs.ts destroySnapshotChecked). Each destroyed snapshot is logged with the reason, one line each.
import {
  effectivePolicy,
  planRetention,
  type RetentionPolicy,
  type RetentionSnapshot,
  type RetentionVerdict,
} from '../../../protocol/src/retention.ts';
import type { DatasetInfo, SnapshotInfo, Zfs } from '../zfs/index.ts';
import { holdTag } from '../../../protocol/src/layout.ts';
import { asExecError } from '../core/errors.ts';
import type { BackupResult, ExecContext, JobSpec } from './types.ts';

type Prunable = RetentionSnapshot & { full: string };
type Side = 'source' | 'target';

/** The policy of each side: as the server resolved it, or (a server from before policies) the simple form. */
export function retentionOf(job: Pick<JobSpec, 'keepLast' | 'pruneTarget' | 'retention'>): Record<Side, RetentionPolicy | null> {
  if (job.retention) return job.retention;
  const simple = { ...job, sourceRetention: null, targetRetention: null };
  return { source: effectivePolicy(simple, 'source'), target: effectivePolicy(simple, 'target') };
}

export interface PruneInput {
  job: Pick<JobSpec, 'id' | 'keepLast' | 'pruneTarget' | 'retention' | 'timezone'>;
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
  /** unix seconds (`within` rules) */
  now: number;
  ctx: ExecContext;
}

/** Destroys what each side's policy lets go; returns what went. */
export async function pruneAfterBackup(i: PruneInput): Promise<BackupResult['pruned']> {
  const { job, generation, local, remote, ctx } = i;
  const policy = retentionOf(job);
  const pruned: BackupResult['pruned'] = [];
  const toPrune = (s: SnapshotInfo, clones: Set<string>): Prunable => ({
    name: s.name,
    guid: s.guid,
    createtxg: s.createtxg,
    creation: s.creation,
    job: s.job,
    generation: s.generation,
    userrefs: s.userrefs,
    cloned: clones.has(s.full),
    full: s.full,
  });
  // source snapshots held by this job alone and bookmarked: the bookmark is the next base, so the
  // hold may go with the snapshot when the policy lets it go (docs/zfs.md, "Bookmarks")
  const ownHoldOnly = new Set<string>();
  const destroy = async (z: Zfs, side: Side, v: RetentionVerdict<Prunable>) => {
    const s = v.snapshot;
    try {
      if (side === 'source' && ownHoldOnly.has(s.full)) await z.setAndHold([], { tag: holdTag(job.id), hold: [], release: [s.full] });
      await z.destroySnapshotChecked(s.full, s.guid, job.id);
      pruned.push({ side, snapshot: s.full });
      ctx.log(`pruned ${side} ${s.full}: ${v.reasons.join('; ')}`);
      ctx.checkpoint?.('during-pruning');
    } catch (e) {
      const err = asExecError(e);
      if (err.errorClass === 'cancelled' || err.errorClass === 'connectivity') throw err;
      ctx.log(`not pruned ${side} ${s.full}: ${err.message}`);
    }
  };
  const planSide = (side: Side, snapshots: Prunable[], other: SnapshotInfo[], bookmarkedGuids?: string[]) =>
    planRetention({
      bookmarkedGuids,
      side,
      jobId: job.id,
      policy: policy[side],
      generation,
      timeZone: job.timezone ?? 'UTC',
      now: i.now,
      snapshots,
      otherSideGuids: other.map((x) => x.guid),
    });
  const apply = async (z: Zfs, side: Side, p: ReturnType<typeof planSide>) => {
    for (const v of p.verdicts) {
      // retention never fights a hold: a held snapshot kept by nothing else is named, not forced
      if (v.keep && v.reasons.length === 1 && v.reasons[0] === 'held')
        ctx.log(
          `not pruned ${side} ${v.snapshot.full}: held by ${v.snapshot.userrefs} hold(s) (zfs holds shows whose); retention does not release holds`,
        );
    }
    for (const v of p.verdicts) if (!v.keep) await destroy(z, side, v);
  };
  if (policy.source) {
    const srcClones = new Set<string>();
    for (const pool of i.sourcePools) for (const o of await local.clonesOrigins(pool)) srcClones.add(o);
    const bookmarks = (await local.capabilities()).bookmarks;
    const planned = i.source.map((d) => {
      const other = i.target.get(i.targetPathOf(d.name))?.snapshots ?? [];
      const marked = bookmarks ? d.bookmarks.map((b) => b.guid) : undefined;
      const snaps = d.snapshots.map((s) => toPrune(s, srcClones));
      return { snaps, other, marked, p: planSide('source', snaps, other, marked) };
    });
    // kept only for a hold, and bookmarked: whose holds? (one `zfs holds` for the run, and only
    // when a policy would let such a snapshot go: with Keep Last ≥ 1 there is none)
    const onlyHeld = planned.flatMap(({ p, marked }) =>
      p.verdicts
        .filter((v) => v.keep && v.reasons.length === 1 && v.reasons[0] === 'held')
        .filter((v) => v.snapshot.job === job.id && marked?.includes(v.snapshot.guid))
        .map((v) => v.snapshot.full),
    );
    for (const [n, tags] of await local.holds(onlyHeld)) if (tags.length && tags.every((x) => x === holdTag(job.id))) ownHoldOnly.add(n);
    for (const x of planned) {
      const replan = x.snaps.some((s) => ownHoldOnly.has(s.full));
      const p = replan
        ? planSide(
            'source',
            x.snaps.map((s) => (ownHoldOnly.has(s.full) ? { ...s, userrefs: 0 } : s)),
            x.other,
            x.marked,
          )
        : x.p;
      await apply(local, 'source', p);
    }
  }
  if (policy.target) {
    const tgtClones = await remote.clonesOrigins(i.targetPool);
    const srcMap = new Map(i.source.map((d) => [d.name, d]));
    for (const t of i.target.values()) {
      if (!t.name.startsWith(i.genRoot + '/') || t.source === null) continue;
      const s = srcMap.get(t.name.slice(i.genRoot.length + 1));
      await apply(
        remote,
        'target',
        planSide(
          'target',
          t.snapshots.map((x) => toPrune(x, tgtClones)),
          s?.snapshots ?? [],
        ),
      );
    }
  }
  return pruned;
}
