// A restore's stream: `ssh … zfs send` on the target into a local `zfs recv` of the staging
// dataset, counted in Node; and its size estimate.
import { SshSession } from '../ssh/index.ts';
import { LocalHost, Zfs, killChild, oneLine, parseSendEstimate, recvArgv, sendArgv, stderrOf, waitExitDrained, type SnapshotInfo, type ZfsCapabilities } from '../zfs/index.ts';
import { TransferProgress } from './progress.ts';
import { ExecError } from './types.ts';
/** Stream size of a restore: `send -nvP` on the target where it exists, else the snapshot's referenced size. */
export async function restoreEstimate(remote: Zfs, rcaps: ZfsCapabilities, snap: SnapshotInfo, raw: boolean): Promise<number> {
  if (rcaps.sendEstimate) {
    const res = await remote.host.exec(sendArgv({ snapshot: snap.full, raw }, { dryRun: true }));
    const n = res.code === 0 ? parseSendEstimate(res.stdout + '\n' + res.stderr) : null;
    if (n !== null) return n;
  }
  return snap.referenced;
}

/** `ssh … zfs send <snap>` piped in Node into local `zfs recv <to>`, counting bytes. Kills both on failure or abort. */
export async function transfer(session: SshSession, lcaps: ZfsCapabilities, snap: string, raw: boolean, to: string, progress: TransferProgress, signal: AbortSignal): Promise<void> {
  const ac = new AbortController();
  if (signal.aborted) throw new ExecError('cancelled', 'restore cancelled');
  const local = new LocalHost();
  const send = session.spawn(sendArgv({ snapshot: snap, raw }), { stdin: 'ignore', stdout: 'pipe' }, ac.signal);
  // not resumable: a cut restore leaves nothing to resume (its staging is removed)
  const recv = local.spawn(recvArgv({ target: to, caps: lcaps, resumable: false }), { stdin: 'pipe', stdout: 'ignore' }, ac.signal);
  const sendErr = stderrOf(send);
  const recvErr = stderrOf(recv);
  recv.stdin!.on('error', () => { /* EPIPE when recv dies first: its exit status tells why */ });
  send.stdout!.on('data', (c: Buffer) => progress.add(c.length));
  send.stdout!.pipe(recv.stdin!);
  // On abort or a failed side the rest of the stream is dropped here: left piped, a dead receiver
  // pauses it, and a paused stream never reads to the end that lets the ssh side finish.
  const drop = () => { send.stdout!.unpipe(); send.stdout!.destroy(); };
  const onAbort = () => { drop(); ac.abort(); };
  signal.addEventListener('abort', onAbort, { once: true });
  const sendExit = waitExitDrained(send).then((c) => { if (c !== 0) killChild(recv); return c; });
  const recvExit = waitExitDrained(recv).then((c) => { if (c !== 0) { drop(); killChild(send); } return c; });
  const [sc, rc] = await Promise.all([sendExit, recvExit]);
  signal.removeEventListener('abort', onAbort);
  if (signal.aborted) throw new ExecError('cancelled', `receive of ${snap} cancelled`);
  if (sc !== 0) {
    const cls = session.classify({ code: sc, stdout: '', stderr: sendErr() }, 'zfs');
    throw new ExecError(cls, `zfs send ${snap} on the target failed (exit ${sc}): ${oneLine(sendErr()) || oneLine(recvErr())}`);
  }
  if (rc !== 0) throw new ExecError('zfs', `zfs recv ${to} failed (exit ${rc}): ${oneLine(recvErr())}`);
}
