// A backup's snapshot: one name for every root (a new one: a name taken on either side gets a
// suffix), taken atomically per pool where zfs can, with the guest stopped around it when the job
// asks (docs/zfs.md).
import { snapshotNameFor, type DatasetInfo, type Zfs, type ZfsCapabilities } from '../zfs/index.ts';
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
    const byPool = new Map<string, string[]>();
    for (const r of roots) byPool.set(poolOf(r), [...(byPool.get(poolOf(r)) ?? []), r]);
    for (const rs of byPool.values()) {
      if (rs.length === 1 || i.caps.multiSnapshot) {
        await local.snapshot(rs, name, props, recursive);
      } else {
        // zfs-fuse takes one snapshot per call: the roots of one pool are not atomic there
        ctx.log(`warning: this zfs cannot snapshot ${rs.length} datasets in one call; snapshotting ${rs.join(', ')} one after another`);
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
