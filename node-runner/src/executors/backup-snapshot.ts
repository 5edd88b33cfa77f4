// A backup's snapshot: one name for every root (a new one: a name taken on either side gets a
// suffix), taken atomically per pool where zfs can, with the guest stopped around it when the job
// asks (docs/zfs.md).
import { USER_PROP_EVENT, USER_PROP_JOB, snapshotNameFor, type DatasetInfo, type Zfs, type ZfsCapabilities } from '../zfs/index.ts';
import { ExecError } from '../core/errors.ts';
import type { BackupGuest } from '../guests/types.ts';
import type { ExecContext, Phase } from './types.ts';

const poolOf = (ds: string) => ds.split('/')[0];

/** `lb_j<job>_<UTC time>`, or with `_2`, `_3`… when a dataset of either listing already has that name. */
export function pickSnapshotName(jobId: number, at: Date, listings: Iterable<DatasetInfo>[]): string {
  const taken = new Set<string>();
  for (const l of listings) for (const d of l) for (const s of d.snapshots) taken.add(s.name);
  const base = snapshotNameFor(jobId, at);
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

export interface SnapshotInput {
  local: Zfs;
  caps: ZfsCapabilities;
  roots: string[];
  recursive: boolean;
  name: string;
  props: Record<string, string>;
  /**
   * A recursive job with children left out (protocol/src/exclude.ts): the datasets to snapshot and
   * those to leave out (listed before the snapshot). Null or none left out: `snapshot -r` per root.
   */
  leaveOut: { included: string[]; excluded: string[] } | null;
  jobId: number;
  /** Stopped before and started after, when the job says so and the guest can be. */
  guest: BackupGuest | null;
  stopGuest: boolean;
  phase: (p: Phase) => void;
  ctx: ExecContext;
}

export async function snapshotSources(i: SnapshotInput): Promise<void> {
  const { local, roots, recursive, name, props, guest, ctx } = i;
  let guestWasRunning = false;
  if (i.stopGuest && guest?.stop) {
    i.phase('stopping-guest');
    guestWasRunning = await guest.stop();
  }
  try {
    i.phase('snapshotting');
    if (i.leaveOut?.excluded.length) {
      await snapshotLeavingOut(i, i.leaveOut);
      return;
    }
    const byPool = new Map<string, string[]>();
    for (const r of roots) byPool.set(poolOf(r), [...(byPool.get(poolOf(r)) ?? []), r]);
    for (const rs of byPool.values()) {
      if (rs.length === 1 || i.caps.multiSnapshot) {
        await local.snapshot(rs, name, props, recursive);
      } else {
        // zfs-fuse takes one snapshot per call: the roots of one pool are not atomic there
        ctx.log(`this zfs cannot snapshot ${rs.length} datasets in one call; snapshotting ${rs.join(', ')} one after another`, 'warn');
        for (const r of rs) await local.snapshot([r], name, props, recursive);
      }
    }
    ctx.log(`snapshot ${name} of ${roots.join(', ')}${recursive ? ' (recursive)' : ''}`);
  } finally {
    if (guestWasRunning && guest?.start) {
      i.phase('starting-guest');
      await guest.start();
    }
  }
}

/**
 * The snapshot of a recursive job that leaves children out (docs/zfs.md, "Excluding children"):
 * one atomic `zfs snapshot` of exactly the included datasets where zfs takes many in one call;
 * elsewhere (zfs-fuse) the atomic `snapshot -r`, then this run's new snapshot of each left-out
 * dataset is destroyed again, each after its GUID and owner (this job, this event) are checked.
 */
async function snapshotLeavingOut(i: SnapshotInput, { included, excluded }: { included: string[]; excluded: string[] }): Promise<void> {
  const { local, roots, name, props, ctx } = i;
  if (i.caps.multiSnapshot) {
    await local.snapshot(included, name, props, false);
    ctx.log(`snapshot ${name} of ${included.length} dataset(s) of ${roots.join(', ')} in one call; left out: ${excluded.join(', ')}`);
    return;
  }
  await local.snapshot(roots, name, props, true);
  const fulls = excluded.map((d) => `${d}@${name}`);
  const made = await local.get(fulls, ['guid', USER_PROP_JOB, USER_PROP_EVENT], { skipMissing: true });
  for (const full of fulls) {
    const p = made.get(full);
    if (!p) continue; // a child created after the listing that `-r` did not reach, or gone since
    if (!p.guid || p[USER_PROP_JOB] !== String(i.jobId) || p[USER_PROP_EVENT] !== String(ctx.eventId))
      throw new ExecError('source-state', `${full} is not this run's snapshot; not destroying it`);
    await local.destroySnapshotChecked(full, p.guid, i.jobId);
  }
  ctx.log(`snapshot ${name} of ${roots.join(', ')} (recursive); its snapshot of the left-out ${excluded.join(', ')} destroyed again`);
}
