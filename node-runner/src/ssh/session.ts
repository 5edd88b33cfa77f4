// SSH transport to a target. One run = one master connection (ControlMaster) that every command
// and every `zfs recv` stream reuses; so a run opens at most one TCP connection (≤ 3 allowed).
// With `persistentShell`, short commands go to one long-lived remote /bin/sh (remote-shell.ts)
// instead of a session each; streams always get a session of their own.
//
//   ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=<pinned>
//       -o Ciphers=<default set, AES-GCM first on AES hardware> -i <0600 key file>
//       -o ControlPath=<socket> … -- host '<quoted> <args>'
//
// The private key and the pinned known_hosts live in a 0700 temp dir removed by close(); the key
// never reaches a log, an argument list or an error message.
import { mkdtemp, writeFile, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ExecError, type ErrorClass } from '../core/errors.ts';
import type { TargetSpec } from '../core/target.ts';
import { execArgv, killChild, spawnArgv, waitExit, waitExitDrained, type CmdResult, type ExecOptions } from '../core/process.ts';
import type { SpawnStdio, ZfsHost } from '../zfs/zfs.ts';
import { cipherList } from './ciphers.ts';
import { classifySsh, describeSshFailure } from './errors.ts';
import { shJoin } from './quote.ts';
import { RemoteShell } from './remote-shell.ts';

/** Name the pinned key is stored under (HostKeyAlias), so the pin does not depend on host/port spelling. */
export const HOST_KEY_ALIAS = 'lifeboat-target';

const KEY_TYPE = /^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-\S+|sk-\S+)$/;

/** Normalise pinned known_hosts lines to `<alias> <keytype> <base64>` (drops markers, hosts and comments). */
export function normalizeHostKeys(lines: string): string[] {
  const out: string[] = [];
  for (const raw of lines.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    const i = f.findIndex((x) => KEY_TYPE.test(x));
    if (i < 0 || !f[i + 1]) continue;
    out.push(`${HOST_KEY_ALIAS} ${f[i]} ${f[i + 1]}`);
  }
  return out;
}

export function validateSshEndpoint(t: Pick<TargetSpec, 'sshHost' | 'sshUser' | 'sshPort'>): void {
  if (!/^[A-Za-z0-9.:_[\]%-]+$/.test(t.sshHost) || t.sshHost.startsWith('-')) throw new ExecError('internal', `invalid SSH host ${JSON.stringify(t.sshHost)}`);
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(t.sshUser)) throw new ExecError('internal', `invalid SSH user ${JSON.stringify(t.sshUser)}`);
  if (!Number.isInteger(t.sshPort) || t.sshPort < 1 || t.sshPort > 65535) throw new ExecError('internal', `invalid SSH port ${t.sshPort}`);
}

/** Same cipher set as OpenSSH's default, the fastest strong one first on this CPU (ciphers.ts). */
function ciphersOption(): string[] {
  const list = cipherList();
  return list ? ['-o', `Ciphers=${list}`] : [];
}

let keyDirBase: string | null = null;

/**
 * Where sessions keep their per-run key, known_hosts and control socket: the runner sets a 0700
 * directory of its own (`<state dir>/ssh`, wiped at start-up and exit, so a crash leaves no key
 * behind for longer than until the next start); elsewhere (tests, tools) the system temp dir.
 */
export function setSessionDirBase(dir: string | null): boolean {
  // the control socket lives in it: a Unix socket path has room for about 100 bytes
  if (dir !== null && Buffer.byteLength(join(dir, 'lb-ssh-XXXXXX', 'cm')) > 100) return false;
  keyDirBase = dir;
  return true;
}

export interface SshOpenOptions {
  signal?: AbortSignal;
  /** First validation: accept and pin whatever key the host presents (into an empty known_hosts). */
  acceptNewHostKey?: boolean;
  connectTimeoutSec?: number;
  /** ssh binary (tests may point elsewhere); default `ssh`. */
  sshBinary?: string;
  /**
   * Run exec() commands in one long-lived remote /bin/sh instead of a session each (remote-shell.ts):
   * one session start per run instead of one per command.
   */
  persistentShell?: boolean;
}

export class SshSession implements ZfsHost {
  readonly label: string;
  private master: ChildProcess | null = null;
  private shell: RemoteShell | null = null;
  private masterErr = '';
  private closed = false;

  private constructor(
    private readonly target: TargetSpec,
    private readonly dir: string,
    private readonly opts: SshOpenOptions,
  ) {
    this.label = `${target.sshUser}@${target.sshHost}:${target.sshPort}`;
  }

  private get keyFile() { return join(this.dir, 'id'); }
  private get knownHosts() { return join(this.dir, 'known_hosts'); }
  private get controlPath() { return join(this.dir, 'cm'); }
  private host(): string { return this.target.sshHost.replace(/^\[(.*)\]$/, '$1'); }

  /** Open the master connection. Throws ExecError(connectivity | authentication | host-key). */
  static async open(target: TargetSpec, opts: SshOpenOptions = {}): Promise<SshSession> {
    validateSshEndpoint(target);
    if (!opts.acceptNewHostKey && !target.hostKey) {
      throw new ExecError('host-key', `target "${target.name}" has no pinned host key yet: validate it first`);
    }
    const dir = await mkdtemp(join(keyDirBase ?? tmpdir(), 'lb-ssh-'));
    const s = new SshSession(target, dir, opts);
    try {
      let key = target.sshPrivateKey.replace(/\r\n/g, '\n');
      if (!key.endsWith('\n')) key += '\n'; // OpenSSH rejects a key file without the final newline
      await writeFile(s.keyFile, key, { mode: 0o600 });
      const pinned = opts.acceptNewHostKey ? [] : normalizeHostKeys(target.hostKey ?? '');
      if (!opts.acceptNewHostKey && pinned.length === 0) throw new ExecError('host-key', `pinned host key of target "${target.name}" is unreadable`);
      await writeFile(s.knownHosts, pinned.map((l) => l + '\n').join(''), { mode: 0o600 });
      await s.startMaster();
      if (opts.persistentShell) {
        // not bound to the run's signal (like the master): a cancelled command takes its shell
        // down and the next command starts a new one; close() ends the last
        s.shell = new RemoteShell(() => spawnArgv(s.commandArgs(['exec', '/bin/sh']), { stdio: ['pipe', 'pipe', 'pipe'] }));
        s.shell.warmUp();
      }
      return s;
    } catch (e) {
      await s.close();
      throw e;
    }
  }

  private baseArgs(): string[] {
    const t = this.target;
    return [
      '-F', '/dev/null',
      '-o', 'BatchMode=yes',
      '-o', `StrictHostKeyChecking=${this.opts.acceptNewHostKey ? 'accept-new' : 'yes'}`,
      '-o', `UserKnownHostsFile=${this.knownHosts}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', `HostKeyAlias=${HOST_KEY_ALIAS}`,
      '-o', 'CheckHostIP=no',
      '-o', 'UpdateHostKeys=no',
      '-o', 'IdentitiesOnly=yes',
      '-o', 'IdentityAgent=none',
      '-o', 'PasswordAuthentication=no',
      '-o', 'KbdInteractiveAuthentication=no',
      '-o', `ConnectTimeout=${this.opts.connectTimeoutSec ?? 10}`,
      '-o', 'ServerAliveInterval=10',
      '-o', 'ServerAliveCountMax=3',
      '-o', 'LogLevel=ERROR',
      ...ciphersOption(),
      '-o', `ControlPath=${this.controlPath}`,
      '-i', this.keyFile,
      '-p', String(t.sshPort),
      '-l', t.sshUser,
    ];
  }

  private bin(): string { return this.opts.sshBinary ?? 'ssh'; }

  private async startMaster(): Promise<void> {
    // The master outlives a cancel of the run: commands are cancelled one by one (their own signal),
    // and what a run does after its data arrived (GUID check, tags, catalog) still has a connection.
    // close() stops it, always.
    const m = spawnArgv([this.bin(), ...this.baseArgs(), '-M', '-N', '-o', 'ControlPersist=no', '--', this.host()], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.master = m;
    m.stderr?.on('data', (b: Buffer) => { if (this.masterErr.length < 8192) this.masterErr += b.toString('utf8'); });
    let exited: number | null = null;
    const exitP = waitExit(m).then((c) => { exited = c; });
    const deadline = Date.now() + ((this.opts.connectTimeoutSec ?? 10) + 20) * 1000;
    for (;;) {
      if (this.opts.signal?.aborted) {
        killChild(m, 500);
        throw new ExecError('cancelled', 'cancelled while connecting');
      }
      if (exited !== null) {
        await exitP;
        const cls = classifySsh(255, this.masterErr) ?? 'connectivity';
        throw new ExecError(cls, describeSshFailure(cls, this.label, this.masterErr));
      }
      try {
        const st = await stat(this.controlPath);
        if (st.isSocket()) return;
      } catch { /* not yet */ }
      if (Date.now() > deadline) {
        killChild(m, 500);
        throw new ExecError('connectivity', `cannot connect to ${this.label}: timed out`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Arguments for one command over the master connection. */
  commandArgs(argv: string[]): string[] {
    return [this.bin(), ...this.baseArgs(), '-o', 'ControlMaster=no', '-T', '--', this.host(), shJoin(argv)];
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<CmdResult> {
    if (this.closed) throw new ExecError('internal', 'ssh session already closed');
    const o = { ...opts, signal: opts.signal ?? this.opts.signal };
    if (this.shell && opts.input === undefined) return this.shell.run(argv, o);
    return execArgv(this.commandArgs(argv), o);
  }

  spawn(argv: string[], stdio: SpawnStdio, signal?: AbortSignal): ChildProcess {
    if (this.closed) throw new ExecError('internal', 'ssh session already closed');
    return spawnArgv(this.commandArgs(argv), { signal: signal ?? this.opts.signal, stdio: [stdio.stdin, stdio.stdout, 'pipe'] });
  }

  /**
   * The process that reads a spawned command's stdin and writes its stdout: the master, since a mux
   * client passes its descriptors to the master (stream-pipe.ts counts the stream there). Null when
   * the master is gone.
   */
  streamPid(): number | null {
    const m = this.master;
    return m && m.exitCode === null && m.signalCode === null ? m.pid ?? null : null;
  }

  /**
   * A session that waits for one command line on its stdin and then execs it with the rest of
   * stdin (stream-pipe.ts writes `zfs recv …`, then the stream). Started ahead of a transfer so its
   * session start (fork, login shell files) overlaps other work instead of delaying the stream.
   * /bin/sh's `read` takes stdin one byte at a time, so it never eats into the stream.
   */
  spawnStandby(): ChildProcess {
    return this.spawn(['exec', '/bin/sh', '-c', 'IFS= read -r cmd || exit 0; eval "exec $cmd"'], { stdin: 'pipe', stdout: 'ignore' });
  }

  classify(res: CmdResult, fallback: ErrorClass): ErrorClass {
    return classifySsh(res.code, res.stderr) ?? fallback;
  }

  /** Throw the classified ExecError for a failed result. */
  fail(what: string, res: CmdResult, fallback: ErrorClass = 'zfs'): ExecError {
    const cls = this.classify(res, fallback);
    const msg = cls === fallback ? `${what} on ${this.label} failed: ${res.stderr.trim().split('\n').slice(0, 4).join(' | ')}` : describeSshFailure(cls, this.label, res.stderr);
    return new ExecError(cls, msg);
  }

  /** The host key(s) this session trusts, as normalised known_hosts lines. */
  async hostKeyLines(): Promise<string> {
    return normalizeHostKeys(await readFile(this.knownHosts, 'utf8')).join('\n');
  }

  /** `SHA256:…` fingerprint(s) of the trusted host key, as `ssh-keygen -lf` prints them. */
  async fingerprint(): Promise<string> {
    const r = await execArgv(['ssh-keygen', '-lf', this.knownHosts]);
    if (r.code !== 0) throw new ExecError('internal', `ssh-keygen -lf failed: ${r.stderr.trim()}`);
    const fps = r.stdout.split('\n').map((l) => l.split(/\s+/)[1]).filter((x): x is string => !!x && x.startsWith('SHA256:'));
    if (!fps.length) throw new ExecError('internal', 'ssh-keygen printed no fingerprint');
    return fps.join(' ');
  }

  /** Stop the master (by its PID) and remove the key, known_hosts and socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.shell?.close();
    const m = this.master;
    if (m && m.exitCode === null && m.signalCode === null) {
      // SIGTERM ends a master as `ssh -O exit` does (socket removed, connection closed), without
      // starting another ssh process for it; SIGKILL a second later if it is still there
      const done = waitExitDrained(m, 1000);
      killChild(m, 1000);
      await done;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
