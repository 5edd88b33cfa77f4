// A restore's stream: `ssh … zfs send` on the target into a local `zfs recv` of the staging
// dataset (stream-pipe.ts, the same pipe as a backup's the other way round); and its size estimate.
import { SshSession } from '../ssh/index.ts';
import { Zfs, parseSendEstimate, recvArgv, sendArgv, type SnapshotInfo, type StreamFlags, type ZfsCapabilities } from '../zfs/index.ts';
import { TransferProgress } from './progress.ts';
import type { StreamPlan } from './stream-options.ts';
import { receiveFromTarget } from './stream-pipe.ts';
/**
 * Stream size of a restore: `send -nvP` on the target where it exists, else the snapshot's
 * referenced size (an increment: the difference of the two snapshots' referenced sizes, at least 0,
 * a rough guess that only sizes the progress bar).
 */
export async function restoreEstimate(
  remote: Zfs,
  rcaps: ZfsCapabilities,
  snap: SnapshotInfo,
  raw: boolean,
  flags: StreamFlags,
  base: SnapshotInfo | null = null,
): Promise<number> {
  if (rcaps.sendEstimate) {
    const res = await remote.host.exec(sendArgv({ snapshot: snap.full, base: base?.full ?? null, raw, flags }, { dryRun: true }));
    const n = res.code === 0 ? parseSendEstimate(res.stdout + '\n' + res.stderr) : null;
    if (n !== null) return n;
  }
  return base ? Math.max(0, snap.referenced - base.referenced) : snap.referenced;
}

/**
 * `ssh … zfs send [-i base] <snap>` on the target into local `zfs recv <to>` (stream-pipe.ts),
 * counting into `progress`; with the run's `-c -L -e` and bandwidth limit (stream-options.ts). An
 * increment (`inc.base`, a snapshot of the same target dataset) is received as a clone of the
 * destination's snapshot with the base's GUID, `recv -o origin=<inc.origin>` (restore.ts).
 */
export async function transfer(
  session: SshSession,
  lcaps: ZfsCapabilities,
  snap: string,
  raw: boolean,
  stream: StreamPlan,
  to: string,
  progress: TransferProgress,
  signal: AbortSignal,
  inc: { base: string | null; origin: string | null } = { base: null, origin: null },
): Promise<void> {
  await receiveFromTarget({
    sendArgv: sendArgv({ snapshot: snap, base: inc.base, raw, flags: stream.flags }),
    // not resumable: a cut restore leaves nothing to resume (its staging is removed)
    recvArgv: recvArgv({ target: to, caps: lcaps, resumable: false, props: inc.origin ? { origin: inc.origin } : undefined }),
    session,
    signal,
    onBytes: (n) => progress.add(n),
    limitBps: stream.limitBps,
    what: { send: snap, recv: to },
  });
}
