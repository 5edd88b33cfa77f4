// One remote /bin/sh per SSH session that runs short commands sent over its stdin.
//
// Why: every SSH session start costs the target a fork plus the login shell's startup files (bash
// reads ~/.bashrc for commands run by sshd); on the test host that is 220–570 ms per command
// (root's .bashrc runs `pyenv init`), against ~20 ms for the zfs command itself. A backup issues a
// dozen short commands, so they go to one long-lived `sh` instead: one session start per run.
// Streams (zfs recv) still get a session of their own.
//
// Protocol: each command is one line `<quoted argv> </dev/null; <end markers>`. After the command
// the shell prints "\n<nonce> <seq> <exit code>\n" on stdout and "\n<nonce> <seq>\n" on stderr; the
// nonce is random per shell, so command output cannot fake a marker. stdin is /dev/null for the
// command so it cannot read the script. Commands run one at a time, in order.
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { killChild, waitExit, type CmdResult, type ExecOptions } from '../core/process.ts';
import { shJoin } from './quote.ts';

interface Pending {
  seq: number;
  resolve: (r: CmdResult) => void;
}

export class RemoteShell {
  private proc: ChildProcess | null = null;
  private readonly nonce = randomBytes(12).toString('hex');
  private seq = 0;
  private out = '';
  private err = '';
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  /** `spawn` starts `exec /bin/sh` on the target with stdin, stdout and stderr piped. */
  constructor(private readonly spawn: () => ChildProcess) {}

  /** Start the shell now (its startup overlaps whatever the caller does next). */
  warmUp(): void {
    void this.run(['true']).catch(() => {
      /* the next command reports the failure */
    });
  }

  /** Run one command; never throws for a non-zero exit (like execArgv). */
  run(argv: string[], opts: ExecOptions = {}): Promise<CmdResult> {
    const next = this.queue.then(() => this.runNow(argv, opts));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** End the shell (EOF on its stdin) and wait for it. */
  async close(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p) return;
    p.stdin?.end();
    const t = setTimeout(() => killChild(p, 1000), 3000);
    await waitExit(p);
    clearTimeout(t);
  }

  private start(): ChildProcess {
    const p = this.spawn();
    this.out = '';
    this.err = '';
    p.stdout!.setEncoding('utf8');
    p.stderr!.setEncoding('utf8');
    p.stdout!.on('data', (s: string) => {
      this.out += s;
      this.check();
    });
    p.stderr!.on('data', (s: string) => {
      this.err += s;
      this.check();
    });
    p.stdin!.on('error', () => {
      /* the shell is gone: its exit is reported below */
    });
    p.on('error', () => {
      /* spawn failure: reported through the exit below */
    });
    void waitExit(p).then((code) => {
      if (this.proc === p) this.proc = null;
      const cur = this.pending;
      if (!cur) return;
      this.pending = null;
      // the session ended under a running command: report what ssh said (255 = transport)
      cur.resolve({ code: code === 0 ? 255 : code, stdout: '', stderr: this.err.trim() || 'remote shell ended unexpectedly' });
    });
    this.proc = p;
    return p;
  }

  private check(): void {
    const cur = this.pending;
    if (!cur) return;
    const m = new RegExp(`\n${this.nonce} ${cur.seq} (\\d+)\n`).exec(this.out);
    if (!m) return;
    const errMark = `\n${this.nonce} ${cur.seq}\n`;
    const e = this.err.indexOf(errMark);
    if (e < 0) return;
    const stdout = this.out.slice(0, m.index);
    const stderr = this.err.slice(0, e);
    this.out = this.out.slice(m.index + m[0].length);
    this.err = this.err.slice(e + errMark.length);
    this.pending = null;
    cur.resolve({ code: Number(m[1]), stdout, stderr });
  }

  private runNow(argv: string[], opts: ExecOptions): Promise<CmdResult> {
    if (opts.signal?.aborted) return Promise.resolve({ code: 130, stdout: '', stderr: 'cancelled' });
    const p = this.proc ?? this.start();
    const seq = ++this.seq;
    return new Promise<CmdResult>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const stop = (why: string) => {
        // a command that hangs or is cancelled takes the shell with it; the next command starts a new one
        if (this.pending?.seq !== seq) return;
        this.pending = null;
        if (this.proc === p) this.proc = null;
        killChild(p, 1000);
        finish({ code: 130, stdout: '', stderr: why });
      };
      const onAbort = () => stop('cancelled');
      const finish = (r: CmdResult) => {
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        resolve(r);
      };
      this.pending = { seq, resolve: finish };
      if (opts.timeoutMs) timer = setTimeout(() => stop(`timed out after ${opts.timeoutMs} ms`), opts.timeoutMs);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const n = this.nonce;
      p.stdin!.write(`${shJoin(argv)} </dev/null; printf '\\n%s %s %s\\n' ${n} ${seq} "$?"; printf '\\n%s %s\\n' ${n} ${seq} >&2\n`);
    });
  }
}
