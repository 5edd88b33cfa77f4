// `zfs send …` here → `ssh … zfs recv …` on the target, as fast as a shell pipe.
//
// Measured on zfs-fuse with 512 MiB–1 GiB streams (bench/, scratch runs): carrying the stream
// through Node (`send.stdout.pipe(recv.stdin)`) ran at 0.4–0.7x of a shell pipe — 64 KiB chunks
// ping-pong between two sockets and the event loop, ~1 CPU-s per GiB, on a box where zfs-fuse
// already uses every core. So the stream does not pass through Node at all: `zfs send` is spawned
// with the ssh process's stdin socket as its stdout (one OS socket, no copy here), and the bytes
// are counted where ssh reads them (stream-meter.ts). Only where that counter is not available is
// the stream piped through Node, with a large buffer instead of the 16 KiB default so the two
// sides do not wait on each other for every chunk.
import type { ChildProcess } from 'node:child_process';
import { shJoin, type SshSession } from '../ssh/index.ts';
import { killChild, oneLine, spawnArgv, stderrOf, waitExitDrained } from '../zfs/index.ts';
import { ReadMeter } from './stream-meter.ts';
import { ExecError } from './types.ts';

export interface SendPipeOptions {
  sendArgv: string[];
  /** Remote command, e.g. ['zfs', 'recv', target]. */
  recvArgv: string[];
  session: SshSession;
  /** Called with the bytes counted since the last call (several times a second). */
  onBytes: (n: number) => void;
  signal: AbortSignal;
  /** Names for error messages. */
  what: { send: string; recv: string };
  /** A session from session.spawnStandby(), already started: it gets the recv command line first. */
  standby?: ChildProcess | null;
}

const NODE_PIPE_BUFFER = 8 << 20;
const METER_INTERVAL_MS = 50; // a cut stream is reported as it was 50 ms before (the reader is gone after)

/** Run the pipeline to the end; returns the bytes counted. Kills both sides on failure or abort. */
export async function sendToTarget(o: SendPipeOptions): Promise<number> {
  if (o.signal.aborted) throw new ExecError('cancelled', `transfer of ${o.what.send} cancelled`);
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  const meter = ReadMeter.open(o.session.streamReaderPid());
  const { proc: recv, preamble } = await receiver(o, ac.signal);
  let send: ChildProcess;
  let counted = 0;
  let timer: NodeJS.Timeout | null = null;
  const take = (total: number) => { if (total > counted) { o.onBytes(total - counted); counted = total; } };
  if (meter) {
    // The OS socket goes to zfs send; this process keeps no end of it, so ssh sees EOF when send exits.
    send = spawnArgv(o.sendArgv, { signal: ac.signal, stdio: ['ignore', recv.stdin!, 'pipe'] });
    recv.stdin!.destroy();
    timer = setInterval(() => take(meter.read() - preamble), METER_INTERVAL_MS);
  } else {
    send = spawnArgv(o.sendArgv, { signal: ac.signal, stdio: ['ignore', 'pipe', 'pipe'] });
    pipeCounting(send, recv, (n) => take(counted + n));
  }
  const sendErr = stderrOf(send);
  const recvErr = stderrOf(recv);
  const sendExit = waitExitDrained(send).then((c) => { if (c !== 0) killChild(recv); return c; });
  const recvExit = waitExitDrained(recv).then((c) => { if (c !== 0) { send.stdout?.destroy(); killChild(send); } return c; });
  const [sc, rc] = await Promise.all([sendExit, recvExit]);
  if (timer) clearInterval(timer);
  if (meter) take(meter.read() - preamble);
  o.signal.removeEventListener('abort', onAbort);
  // A receive that completed is not undone by a cancel that came after it: the caller reports it.
  if (o.signal.aborted && !(sc === 0 && rc === 0)) throw new ExecError('cancelled', `transfer of ${o.what.send} cancelled`);
  if (rc !== 0) {
    const cls = o.session.classify({ code: rc, stdout: '', stderr: recvErr() }, 'zfs');
    throw new ExecError(cls, `zfs recv ${o.what.recv} failed (exit ${rc}): ${oneLine(recvErr()) || oneLine(sendErr())}`);
  }
  if (sc !== 0) throw new ExecError('zfs', `zfs send ${o.what.send} failed (exit ${sc}): ${oneLine(sendErr())}`);
  return counted;
}

/**
 * The standby session with the recv command written to it (when it is still there), else a new
 * session; `preamble` = bytes written ahead of the stream (not part of it, but read by ssh).
 */
async function receiver(o: SendPipeOptions, signal: AbortSignal): Promise<{ proc: ChildProcess; preamble: number }> {
  const sb = o.standby;
  if (sb && sb.exitCode === null && sb.signalCode === null && sb.stdin?.writable) {
    const onAbort = () => killChild(sb);
    signal.addEventListener('abort', onAbort, { once: true });
    sb.once('close', () => signal.removeEventListener('abort', onAbort));
    sb.stdin.on('error', () => { /* it died: its exit status tells why */ });
    // written before zfs send gets the socket, so the line is ahead of the stream
    const line = shJoin(o.recvArgv) + '\n';
    const ok = await new Promise<boolean>((res) => sb.stdin!.write(line, (e) => res(!e)));
    if (ok) return { proc: sb, preamble: Buffer.byteLength(line) };
    killChild(sb);
  }
  return { proc: o.session.spawn(o.recvArgv, { stdin: 'pipe', stdout: 'ignore' }, signal), preamble: 0 };
}

/** Fallback: carry the stream through Node, counting, with an 8 MiB buffer before pausing the source. */
function pipeCounting(send: ChildProcess, recv: ChildProcess, add: (n: number) => void): void {
  const out = send.stdout!;
  const inp = recv.stdin!;
  // recv died first (its exit status tells why): drop the rest, a paused source would never end
  inp.on('error', () => out.destroy());
  out.on('data', (c: Buffer) => {
    add(c.length);
    inp.write(c);
    if (inp.writableLength > NODE_PIPE_BUFFER) {
      out.pause();
      inp.once('drain', () => out.resume());
    }
  });
  out.on('end', () => inp.end());
}
