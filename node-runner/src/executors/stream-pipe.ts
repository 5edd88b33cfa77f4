// A ZFS stream between this node and the target, in either direction, as fast as a shell pipe:
//   backup   `zfs send …` here          → `ssh … zfs recv …` on the target  (sendToTarget)
//   restore  `ssh … zfs send …` there   → `zfs recv …` here                 (receiveFromTarget)
//
// Measured on zfs-fuse with 512 MiB–1 GiB streams (bench/, scratch runs): carrying the stream
// through Node (`send.stdout.pipe(recv.stdin)`) ran at 0.4–0.7x of a shell pipe — 64 KiB chunks
// ping-pong between two sockets and the event loop, ~1 CPU-s per GiB, on a box where zfs-fuse
// already uses every core. So the stream does not pass through Node at all: the receiving process
// starts first with an OS socket as its stdin, and the sending process gets that socket as its
// stdout (no copy here). This process keeps no end of it, so the receiver sees EOF when the sender
// exits. The bytes are counted where the SSH master reads them (backup) or writes them (restore),
// stream-meter.ts. (The other way round — handing a child's stdout socket to the receiver — is not
// safe: Node starts reading a child's stdout as soon as it exists, and bytes it read would be lost.)
// Only where that counter is not available is the stream piped through Node, with a large buffer
// instead of the 16 KiB default so the two sides do not wait on each other for every chunk.
// A bandwidth limit (`limitBps`) also takes the stream through Node: its reads of the sender's
// output are paced by a token bucket (throttle.ts), which holds the sender back through the pipe.
// Without a limit nothing changes: no byte of the stream passes through Node, except for streams
// that run beside others over one connection (`viaNode`: small incrementals, backup-send.ts).
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { shJoin, type SshSession } from '../ssh/index.ts';
import { LocalHost, killChild, oneLine, spawnArgv, stderrOf, waitExitDrained } from '../zfs/index.ts';
import { IoMeter } from './stream-meter.ts';
import { TokenBucket } from './throttle.ts';
import { ExecError } from './types.ts';

/** A stream between this node and the target; which of the two commands runs there depends on the direction. */
export interface PipeOptions {
  /** `zfs send …` (backup: here; restore: on the target). */
  sendArgv: string[];
  /** `zfs recv …` (backup: on the target; restore: here). */
  recvArgv: string[];
  session: SshSession;
  /** Called with the bytes counted since the last call (several times a second). */
  onBytes: (n: number) => void;
  signal: AbortSignal;
  /** Names for error messages. */
  what: { send: string; recv: string };
  /** Bytes per second; null/absent: unlimited (and the stream does not pass through Node). */
  limitBps?: number | null;
}

export interface SendPipeOptions extends PipeOptions {
  /** A session from session.spawnStandby(), already started: it gets the recv command line first. */
  standby?: ChildProcess | null;
  /**
   * Count the stream in Node instead of at the ssh master: for streams that run beside others over
   * one connection (the master's counter adds them all up; backup-send.ts).
   */
  viaNode?: boolean;
}

const NODE_PIPE_BUFFER = 8 << 20;
const METER_INTERVAL_MS = 50; // a cut stream is reported as it was 50 ms before (the reader is gone after)

/** Backup direction: run the pipeline to the end; returns the bytes counted. Kills both sides on failure or abort. */
export async function sendToTarget(o: SendPipeOptions): Promise<number> {
  if (o.signal.aborted) throw new ExecError('cancelled', `transfer of ${o.what.send} cancelled`);
  return runPipe(o, o.limitBps || o.viaNode ? null : IoMeter.open(o.session.streamPid(), 'rchar'), {
    startRecv: (signal) => remoteReceiver(o, signal),
    startSend: (stdout, signal) => spawnArgv(o.sendArgv, { signal, stdio: ['ignore', stdout, 'pipe'] }),
    failure: (sc, rc, sendErr, recvErr) => {
      if (rc !== 0) {
        const cls = o.session.classify({ code: rc, stdout: '', stderr: recvErr }, 'zfs');
        return new ExecError(cls, `zfs recv ${o.what.recv} failed (exit ${rc}): ${oneLine(recvErr) || oneLine(sendErr)}`);
      }
      return sc !== 0 ? new ExecError('zfs', `zfs send ${o.what.send} failed (exit ${sc}): ${oneLine(sendErr)}`) : null;
    },
    cancelled: () => new ExecError('cancelled', `transfer of ${o.what.send} cancelled`),
  });
}

/** Restore direction: the same, with `zfs send` on the target and `zfs recv` here. */
export async function receiveFromTarget(o: PipeOptions): Promise<number> {
  if (o.signal.aborted) throw new ExecError('cancelled', `receive of ${o.what.send} cancelled`);
  const local = new LocalHost();
  return runPipe(o, o.limitBps ? null : IoMeter.open(o.session.streamPid(), 'wchar'), {
    startRecv: async (signal) => ({ proc: local.spawn(o.recvArgv, { stdin: 'pipe', stdout: 'ignore' }, signal), preamble: 0 }),
    startSend: (stdout, signal) => o.session.spawn(o.sendArgv, { stdin: 'ignore', stdout }, signal),
    failure: (sc, rc, sendErr, recvErr) => {
      if (sc !== 0) {
        const cls = o.session.classify({ code: sc, stdout: '', stderr: sendErr }, 'zfs');
        return new ExecError(cls, `zfs send ${o.what.send} on the target failed (exit ${sc}): ${oneLine(sendErr) || oneLine(recvErr)}`);
      }
      return rc !== 0 ? new ExecError('zfs', `zfs recv ${o.what.recv} failed (exit ${rc}): ${oneLine(recvErr)}`) : null;
    },
    cancelled: () => new ExecError('cancelled', `receive of ${o.what.send} cancelled`),
  });
}

interface PipeEnds {
  /** Started first: its stdin is the socket the sender writes into; `preamble` = bytes ahead of the stream on it. */
  startRecv(signal: AbortSignal): Promise<{ proc: ChildProcess; preamble: number }>;
  /** The sender, with the receiver's stdin socket as its stdout ('pipe': through Node). */
  startSend(stdout: 'pipe' | Writable, signal: AbortSignal): ChildProcess;
  /** The error for the exit codes, or null when both succeeded. */
  failure(sendCode: number, recvCode: number, sendErr: string, recvErr: string): ExecError | null;
  cancelled(): ExecError;
}

/** `meter` null: the stream goes through Node (no counter here, or a bandwidth limit). */
async function runPipe(
  o: { onBytes: (n: number) => void; signal: AbortSignal; limitBps?: number | null },
  meter: IoMeter | null,
  ends: PipeEnds,
): Promise<number> {
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const { proc: recv, preamble } = await ends.startRecv(ac.signal);
    let send: ChildProcess;
    let counted = 0;
    let timer: NodeJS.Timeout | null = null;
    const take = (total: number) => {
      if (total > counted) {
        o.onBytes(total - counted);
        counted = total;
      }
    };
    if (meter) {
      // The OS socket goes to the sender; this process keeps no end of it.
      send = ends.startSend(recv.stdin!, ac.signal);
      recv.stdin!.destroy();
      timer = setInterval(() => take(meter.read() - preamble), METER_INTERVAL_MS);
    } else {
      send = ends.startSend('pipe', ac.signal);
      pipeCounting(send, recv, (n) => take(counted + n), o.limitBps ? new TokenBucket(o.limitBps) : null);
    }
    const sendErr = stderrOf(send);
    const recvErr = stderrOf(recv);
    const sendExit = waitExitDrained(send).then((c) => {
      if (c !== 0) killChild(recv);
      return c;
    });
    const recvExit = waitExitDrained(recv).then((c) => {
      if (c !== 0) {
        send.stdout?.destroy();
        killChild(send);
      }
      return c;
    });
    const [sc, rc] = await Promise.all([sendExit, recvExit]);
    if (timer) clearInterval(timer);
    if (meter) take(meter.read() - preamble);
    // A receive that completed is not undone by a cancel that came after it: the caller reports it.
    if (o.signal.aborted && !(sc === 0 && rc === 0)) throw ends.cancelled();
    const err = ends.failure(sc, rc, sendErr(), recvErr());
    if (err) throw err;
    return counted;
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The standby session with the recv command written to it (when it is still there), else a new
 * session; `preamble` = bytes written ahead of the stream (not part of it, but read by ssh).
 */
async function remoteReceiver(o: SendPipeOptions, signal: AbortSignal): Promise<{ proc: ChildProcess; preamble: number }> {
  const sb = o.standby;
  if (sb && sb.exitCode === null && sb.signalCode === null && sb.stdin?.writable) {
    const onAbort = () => killChild(sb);
    signal.addEventListener('abort', onAbort, { once: true });
    sb.once('close', () => signal.removeEventListener('abort', onAbort));
    sb.stdin.on('error', () => {
      /* it died: its exit status tells why */
    });
    // written before zfs send gets the socket, so the line is ahead of the stream
    const line = shJoin(o.recvArgv) + '\n';
    const ok = await new Promise<boolean>((res) => sb.stdin!.write(line, (e) => res(!e)));
    if (ok) return { proc: sb, preamble: Buffer.byteLength(line) };
    killChild(sb);
  }
  return { proc: o.session.spawn(o.recvArgv, { stdin: 'pipe', stdout: 'ignore' }, signal), preamble: 0 };
}

/**
 * Carry the stream through Node, counting, with an 8 MiB buffer before pausing the source; with a
 * `bucket`, each chunk also pauses the source for as long as the bucket says (throttle.ts).
 */
function pipeCounting(send: ChildProcess, recv: ChildProcess, add: (n: number) => void, bucket: TokenBucket | null): void {
  const out = send.stdout!;
  const inp = recv.stdin!;
  // the receiver died first (its exit status tells why): drop the rest, a paused source would never end
  inp.on('error', () => out.destroy());
  out.on('data', (c: Buffer) => {
    add(c.length);
    inp.write(c);
    const wait = bucket ? bucket.take(c.length) : 0;
    const full = inp.writableLength > NODE_PIPE_BUFFER;
    if (wait <= 0 && !full) return;
    out.pause();
    let holds = 0;
    const release = () => {
      if (--holds === 0) out.resume();
    };
    if (wait > 0) {
      holds++;
      setTimeout(release, wait);
    }
    if (full) {
      holds++;
      inp.once('drain', release);
    }
  });
  out.on('end', () => inp.end());
}
