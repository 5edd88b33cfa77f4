// Pure prune planner: listings + job settings → destroy list, with a reason for every kept snapshot.
// No I/O. The executor re-checks GUID and owner right before each destroy.

export interface PruneSnapshot {
  /** name after '@' */
  name: string;
  guid: string;
  createtxg: bigint | string | number;
  /** lifeboat:job (null: hand-made or foreign) */
  job: number | null;
  /** lifeboat:generation */
  generation: number | null;
  /** number of holds (zfs-fuse has no `zfs holds`, userrefs counts them) */
  userrefs: number;
  /** some dataset has this snapshot as its origin */
  cloned: boolean;
}

export interface PruneInput {
  side: 'source' | 'target';
  jobId: number;
  /** 0 (or less) disables count pruning */
  keepLast: number;
  /** target side: the current generation; only its snapshots are candidates */
  generation?: number | null;
  /** the snapshots of ONE dataset, any order */
  snapshots: PruneSnapshot[];
  /** GUIDs of the corresponding dataset on the other side (newest-common protection) */
  otherSideGuids: Iterable<string>;
}

export type KeepReason = 'pruning-disabled' | 'not-this-job' | 'other-generation' | 'held' | 'cloned' | 'newest-common' | 'keep-last';

export interface KeptSnapshot {
  snapshot: PruneSnapshot;
  reason: KeepReason;
  detail: string;
}

export interface PrunePlan {
  destroy: PruneSnapshot[];
  keep: KeptSnapshot[];
}

const txg = (s: Pick<PruneSnapshot, 'createtxg'>): bigint => BigInt(s.createtxg);
const newestFirst = (a: PruneSnapshot, b: PruneSnapshot) => (txg(a) > txg(b) ? -1 : txg(a) < txg(b) ? 1 : 0);

/**
 * The newest snapshot (by createtxg) whose GUID is also on the other side, or null: the incremental
 * base of a backup (backup-plan.ts) and the snapshot prune never destroys.
 */
export function newestCommon<T extends Pick<PruneSnapshot, 'guid' | 'createtxg'>>(
  snapshots: T[],
  otherSideGuids: Iterable<string>,
): T | null {
  const other = new Set(otherSideGuids);
  let best: T | null = null;
  for (const s of snapshots) if (other.has(s.guid) && (!best || txg(s) > txg(best))) best = s;
  return best;
}

export function planPrune(input: PruneInput): PrunePlan {
  const { side, jobId, keepLast } = input;
  if (side === 'target' && (input.generation === undefined || input.generation === null)) {
    throw new Error('planPrune: target side needs the current generation');
  }
  const snaps = [...input.snapshots].sort(newestFirst);
  const keep: KeptSnapshot[] = [];
  const destroy: PruneSnapshot[] = [];
  if (!(keepLast > 0)) {
    for (const s of snaps) keep.push({ snapshot: s, reason: 'pruning-disabled', detail: 'keepLast is 0: count pruning is disabled' });
    return { destroy, keep };
  }
  const common = newestCommon(snaps, input.otherSideGuids);
  let rank = 0;
  for (const s of snaps) {
    if (s.job !== jobId) {
      keep.push({
        snapshot: s,
        reason: 'not-this-job',
        detail: s.job === null ? 'not made by Lifeboat (no lifeboat:job)' : `belongs to job ${s.job}`,
      });
      continue;
    }
    if (side === 'target' && s.generation !== input.generation) {
      keep.push({
        snapshot: s,
        reason: 'other-generation',
        detail: `generation ${s.generation ?? 'unknown'}, current is ${input.generation}`,
      });
      continue;
    }
    rank++;
    if (rank <= keepLast) {
      keep.push({ snapshot: s, reason: 'keep-last', detail: `#${rank} of the newest ${keepLast}` });
    } else if (common && s.guid === common.guid) {
      keep.push({ snapshot: s, reason: 'newest-common', detail: 'newest snapshot common to source and target (next incremental base)' });
    } else if (s.userrefs > 0) {
      keep.push({ snapshot: s, reason: 'held', detail: `${s.userrefs} hold(s)` });
    } else if (s.cloned) {
      keep.push({ snapshot: s, reason: 'cloned', detail: 'a dataset is cloned from it' });
    } else {
      destroy.push(s);
    }
  }
  return { destroy, keep };
}
