// A restore's stream: `ssh … zfs send` on the target into a local `zfs recv` of the staging
// dataset (stream-pipe.ts, the same pipe as a backup's the other way round); and its size estimate.
import { SshSession } from '../ssh/index.ts';
import { Zfs, parseSendEstimate, recvArgv, sendArgv, type SnapshotInfo, type StreamFlags, type ZfsCapabilities } from '../zfs/index.ts';
import { TransferProgress } from './progress.ts';
import type { StreamPlan } from './stream-options.ts';
import { receiveFromTarget } from './stream-pipe.ts';
/** Stream size of a restore: `send -nvP` on the target where it exists, else the snapshot's referenced size. */
export async function restoreEstimate(
  remote: Zfs,
  rcaps: ZfsCapabilities,
  snap: SnapshotInfo,
  raw: boolean,
  flags: StreamFlags,
): Promise<number> {
  if (rcaps.sendEstimate) {
    const res = await remote.host.exec(sendArgv({ snapshot: snap.full, raw, flags }, { dryRun: true }));
    const n = res.code === 0 ? parseSendEstimate(res.stdout + '\n' + res.stderr) : null;
    if (n !== null) return n;
  }
  return snap.referenced;
}

/**
 * `ssh … zfs send <snap>` on the target into local `zfs recv <to>` (stream-pipe.ts), counting into
 * `progress`; with the run's `-c -L -e` and bandwidth limit (stream-options.ts).
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
): Promise<void> {
  await receiveFromTarget({
    sendArgv: sendArgv({ snapshot: snap, raw, flags: stream.flags }),
    // not resumable: a cut restore leaves nothing to resume (its staging is removed)
    recvArgv: recvArgv({ target: to, caps: lcaps, resumable: false }),
    session,
    signal,
    onBytes: (n) => progress.add(n),
    limitBps: stream.limitBps,
    what: { send: snap, recv: to },
  });
}
