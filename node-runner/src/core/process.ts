// Child-process helpers: argument vectors only (never a shell), abort-aware, killed by PID.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface CmdResult {
  code: number; // exit code; 128+n for a signal n; -1 when the binary could not be started
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  signal?: AbortSignal;
  /** Kill the command after this many ms (SIGTERM, then SIGKILL). */
  timeoutMs?: number;
  /** Data written to stdin (then closed). Without it stdin is /dev/null. */
  input?: string | Buffer;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };

/** Send SIGTERM, then SIGKILL after `graceMs` if the child is still there. */
export function killChild(child: ChildProcess, graceMs = 2000): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    child.kill('SIGTERM');
  } catch {
    /* gone */
  }
  const t = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  }, graceMs);
  t.unref();
}

/** Resolve with the exit code of `child` (128+signal when killed). */
export function waitExit(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    if (child.signalCode !== null) return resolve(128 + (SIGNALS[child.signalCode] ?? 0));
    child.once('error', () => resolve(-1));
    child.once('close', (code, sig) => resolve(code ?? 128 + (sig ? (SIGNALS[sig] ?? 0) : 0)));
  });
}

/**
 * Like waitExit, but once the process itself has exited, wait at most `drainMs` for its pipes to
 * close, then destroy them. A pipe end can outlive its process: an ssh mux client hands its
 * descriptors to the master, which keeps them until the remote command ends, and a stream paused
 * by a broken pipe downstream never reads to its EOF. Stream pipelines wait with this, so a cancel
 * or a dead peer cannot leave them waiting forever.
 */
export function waitExitDrained(child: ChildProcess, drainMs = 5000): Promise<number> {
  const closed = waitExit(child);
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const giveUp = () => {
      timer = setTimeout(() => {
        for (const s of [child.stdin, child.stdout, child.stderr]) s?.destroy();
      }, drainMs);
    };
    if (child.exitCode !== null || child.signalCode !== null) giveUp();
    else child.once('exit', giveUp);
    void closed.then((code) => {
      if (timer) clearTimeout(timer);
      resolve(code);
    });
  });
}

/** The first `max` characters of a child's stderr (and its spawn error), read when needed for a message. */
export function stderrOf(child: ChildProcess, max = 8192): () => string {
  let text = '';
  child.stderr?.on('data', (b: Buffer) => {
    if (text.length < max) text += b.toString('utf8');
  });
  child.on('error', (e) => {
    text += e.message;
  });
  return () => text;
}

/** Spawn `argv[0]` with `argv.slice(1)`; killed when `signal` aborts. */
export function spawnArgv(argv: string[], opts: SpawnOptions & { signal?: AbortSignal } = {}): ChildProcess {
  const { signal, ...rest } = opts;
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...rest, shell: false });
  if (signal) {
    const onAbort = () => killChild(child);
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      child.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return child;
}

/** Run a command to completion and collect its output. Never throws for a non-zero exit. */
export async function execArgv(argv: string[], opts: ExecOptions = {}): Promise<CmdResult> {
  const child = spawnArgv(argv, {
    signal: opts.signal,
    stdio: [opts.input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let spawnError = '';
  child.on('error', (e) => {
    spawnError = e.message;
  });
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  if (opts.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {
      /* EPIPE when the command does not read */
    });
    child.stdin.end(opts.input);
  }
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  if (opts.timeoutMs)
    timer = setTimeout(() => {
      timedOut = true;
      killChild(child, 1000);
    }, opts.timeoutMs);
  const code = await waitExitDrained(child);
  if (timer) clearTimeout(timer);
  let stderr = Buffer.concat(err).toString('utf8');
  if (spawnError) stderr += (stderr ? '\n' : '') + spawnError;
  if (timedOut) stderr += (stderr ? '\n' : '') + `timed out after ${opts.timeoutMs} ms`;
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr };
}
