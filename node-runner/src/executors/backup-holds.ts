// Holds and bookmarks on the incremental base (docs/zfs.md, "Holds", "Bookmarks"). Once a run's
// snapshot of a dataset is on the target (GUID checked), it is the newest snapshot common to both
// sides, the next run's base: it is held on both sides with the job's tag (layout.holdTag), and the
// tag is released from the job's older snapshots of that dataset (the previous base). A hand
// `zfs destroy` or another tool's prune then cannot break the chain; Keep Last skips held snapshots
// and says so (backup-prune.ts). On the target this goes in the same command as the snapshot's
// tags, all writes at once (they share one transaction group's sync: zfs writes, not round trips,
// dominate a small run). A hold that cannot be placed (zfs without holds, a delegated user without
// the `hold` permission) is a warning, never a failed backup: the data is on the target.
// Where zfs has bookmarks the source also keeps `dataset#snap` of each sent snapshot, so the job
// stays incremental after the snapshot itself is gone; a bookmark goes once the target no longer
// has its snapshot (planBookmarkPrune).
import { holdTag } from '../../../protocol/src/layout.ts';
import type { BookmarkInfo, SnapshotInfo, Zfs, ZfsCapabilities } from '../zfs/index.ts';
import type { ExecContext } from './types.ts';

export interface HoldMove {
  /** the snapshot to hold (`pool/ds@snap`) */
  hold: string;
  /** the job's older snapshots of the same dataset that have holds: release the job's tag from them */
  release: string[];
}

/**
 * One dataset's move: hold `newSnapshot`, release the tag from every other snapshot of the job's in
 * `snapshots` (the dataset's listing) that has any hold. Snapshots of other jobs or none are never
 * released (their holds are not ours); a snapshot without holds needs no release.
 */
export function planHoldMove(jobId: number, snapshots: Pick<SnapshotInfo, 'full' | 'job' | 'userrefs'>[], newSnapshot: string): HoldMove {
  return {
    hold: newSnapshot,
    release: snapshots.filter((s) => s.job === jobId && s.userrefs > 0 && s.full !== newSnapshot).map((s) => s.full),
  };
}

/**
 * Tag received snapshots on the target and move the job's hold to them, in one command; move it on
 * the source meanwhile (one command too). Failed holds are logged as warnings; a failed tag throws.
 * `moves` are per dataset: the target snapshot's tags and both sides' hold moves.
 */
export async function tagAndHold(i: {
  jobId: number;
  local: Zfs;
  remote: Zfs;
  lcaps: ZfsCapabilities;
  rcaps: ZfsCapabilities;
  moves: { tags: { name: string; props: Record<string, string> }; source: HoldMove; target: HoldMove }[];
  ctx: ExecContext;
}): Promise<void> {
  const tag = holdTag(i.jobId);
  const side = async (
    name: 'source' | 'target',
    z: Zfs,
    caps: ZfsCapabilities,
    moves: HoldMove[],
    sets: { name: string; props: Record<string, string> }[],
  ) => {
    const hold = moves.map((m) => m.hold);
    // the source also bookmarks what it sent, where zfs has bookmarks
    const bookmark = name === 'source' && caps.bookmarks ? hold : [];
    const problems = await z.setAndHold(
      sets,
      caps.holds ? { tag, hold, release: moves.flatMap((m) => m.release), bookmark } : { tag, hold: [], release: [], bookmark },
    );
    const what = hold.length <= 3 ? hold.join(', ') : `${hold.slice(0, 3).join(', ')} and ${hold.length - 3} more`;
    if (!caps.holds) i.ctx.log(`zfs on the ${name} has no holds (zfs hold): ${what} not protected from a hand destroy`, 'warn');
    if (problems.length)
      i.ctx.log(
        `moving the hold ${tag} to ${what}${bookmark.length ? ' and bookmarking' : ''} on the ${name} failed, the chain is not protected there: ${problems.join(' | ')}`,
        'warn',
      );
  };
  await Promise.all([
    side(
      'target',
      i.remote,
      i.rcaps,
      i.moves.map((m) => m.target),
      i.moves.map((m) => m.tags),
    ),
    side(
      'source',
      i.local,
      i.lcaps,
      i.moves.map((m) => m.source),
      [],
    ),
  ]);
}

/**
 * The job's bookmarks of one source dataset that can go: named like the job's snapshots
 * (`lb_j<job>_…`, layout.snapshotNameFor) and no longer an incremental base, because the target
 * copy has no snapshot with their GUID. Other bookmarks are never touched.
 */
export function planBookmarkPrune(jobId: number, bookmarks: BookmarkInfo[], targetGuids: Iterable<string>): BookmarkInfo[] {
  const onTarget = new Set(targetGuids);
  return bookmarks.filter((b) => b.name.startsWith(`lb_j${jobId}_`) && !onTarget.has(b.guid));
}
