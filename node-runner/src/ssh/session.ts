// SSH transport to a target. One run = one master connection (ControlMaster) that every command
// and every `zfs recv` stream reuses; so a run opens at most one TCP connection (≤ 3 allowed).
// With `persistentShell`, short commands go to one long-lived remote /bin/sh (remote-shell.ts)
// instead of a session each; streams always get a session of their own. With `warm` (backups, in
// the runner), the master and its shell can outlive the run for the next run of the same connection
// identity (see "warm connections" below); a run still holds its connection alone.
//
//   ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=<pinned>
//       -o Ciphers=<default set, AES-GCM first on AES hardware> -i <0600 key file>
//       -o ControlPath=<socket> … -- host '<quoted> <args>'
//
// The private key and the pinned known_hosts live in a 0700 temp dir; the key file exists while a
// run holds the connection and is removed by close() (a warm master keeps its dir with the socket
// and known_hosts only); the key never reaches a log, an argument list or an error message.
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ExecError, type ErrorClass } from '../core/errors.ts';
import type { TargetSpec } from '../core/target.ts';
import { execArgv, killChild, spawnArgv, waitExit, waitExitDrained, type CmdResult, type ExecOptions } from '../core/process.ts';
import type { SpawnStdio, ZfsHost } from '../zfs/zfs.ts';
import { cipherList } from './ciphers.ts';
import { classifySsh, connectRetryDelayMs, CONNECT_ATTEMPTS, describeSshFailure } from './errors.ts';
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
  if (!/^[A-Za-z0-9.:_[\]%-]+$/.test(t.sshHost) || t.sshHost.startsWith('-'))
    throw new ExecError('internal', `invalid SSH host ${JSON.stringify(t.sshHost)}`);
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

// ---- warm connections ---------------------------------------------------------------------------
// A backup's connection (master + remote shell) can stay up after its run, for the next run with
// the same connection identity: sha256 of host, port, user, the pinned host key (byte for byte), the
// private key, the cipher list and the ssh options that shape the connection. A target edit changes
// the claim payload, hence the identity: the old connection of that target is closed. One run at a
// time holds a connection (the stream meter counts the master's I/O, and sshd limits sessions per
// connection), so concurrent runs to one target each have their own. Bounded: at most `max` idle
// connections (the oldest closed first), `idleMs` each, none reused past an hour; closed on runner stop. Off (max 0) unless
// the runner turns it on (cli.ts: LIFEBOAT_RUNNER_SSH_WARM, LIFEBOAT_RUNNER_SSH_WARM_IDLE_S).

/** A session that reads one command line on stdin, then execs it with the rest of stdin (spawnStandby). */
const STANDBY = ['exec', '/bin/sh', '-c', 'IFS= read -r cmd || exit 0; eval "exec $cmd"'];

/** How long a reused connection may take to answer `true` through its remote shell before it is replaced. */
const PROBE_MS = 5000;
/** A connection older than this is not reused (a new one authenticates and checks the host key again). */
const MAX_AGE_MS = 3600_000;

const warm = { max: 0, idleMs: 60_000, stopping: false };
/** Idle connections, oldest first. */
const idle: Connection[] = [];
/** The identity each target id last asked for (a connection of an older one is not kept). */
const latestIdentity = new Map<number, string>();

/** Keep up to `max` connections warm for `idleMs` each after their run (0: close every connection with its run). */
export function configureWarmConnections(max: number, idleMs: number): void {
  warm.max = Math.max(0, Math.floor(max));
  warm.idleMs = Math.max(0, idleMs);
  warm.stopping = false;
}

/** Close every idle connection (runner stop) and keep none from now on; returns the master PIDs it stopped. */
export async function closeWarmConnections(): Promise<number[]> {
  warm.stopping = true;
  const all = idle.splice(0);
  const pids = all.map((c) => c.pid).filter((p): p is number => p !== null);
  await Promise.all(all.map((c) => c.shutdown()));
  return pids;
}

/** Master PIDs of the idle connections (tests, logs). */
export function warmConnectionPids(): number[] {
  return idle.map((c) => c.pid).filter((p): p is number => p !== null);
}

function dropIdle(c: Connection): void {
  const i = idle.indexOf(c);
  if (i >= 0) idle.splice(i, 1);
  if (c.idleTimer) clearTimeout(c.idleTimer);
  c.idleTimer = null;
}

/** sha256 of everything that makes two connections interchangeable (the key only as part of the digest). */
function connectionIdentity(target: TargetSpec, opts: SshOpenOptions): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify([
      target.sshHost,
      target.sshPort,
      target.sshUser,
      target.hostKey ?? '',
      keyText(target),
      ciphersOption(),
      opts.sshBinary ?? 'ssh',
      opts.connectTimeoutSec ?? 10,
    ]),
  );
  return h.digest('hex');
}

const SCAN_TYPES: Record<string, string> = {
  'ssh-ed25519': 'ed25519',
  'ssh-rsa': 'rsa',
  'ssh-dss': 'dsa',
  'ecdsa-sha2-nistp256': 'ecdsa',
  'ecdsa-sha2-nistp384': 'ecdsa',
  'ecdsa-sha2-nistp521': 'ecdsa',
  'sk-ssh-ed25519@openssh.com': 'ed25519-sk',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'ecdsa-sk',
};

/**
 * Does the target present a pinned host key right now? `ssh-keyscan` (key exchange only: no login, no
 * session) of the pinned key types, compared with the pin. A reused master was checked at its connect;
 * this re-checks the host key on every reuse, so a target that changed its key is refused by the next
 * run as without warm connections (that run connects anew and ssh reports the mismatch). False on any
 * doubt (no answer within PROBE_MS, nothing comparable).
 */
async function presentsPinnedKey(target: TargetSpec, opts: SshOpenOptions): Promise<boolean> {
  const pinned = normalizeHostKeys(target.hostKey ?? '');
  if (!pinned.length) return false;
  const types = [...new Set(pinned.map((l) => SCAN_TYPES[l.split(' ')[1]]))];
  const host = target.sshHost.replace(/^\[(.*)\]$/, '$1');
  const argv = [
    opts.sshBinary ? join(dirname(opts.sshBinary), 'ssh-keyscan') : 'ssh-keyscan',
    '-T',
    String(Math.ceil(PROBE_MS / 1000)),
    '-p',
    String(target.sshPort),
  ];
  if (types.every((t) => t)) argv.push('-t', types.join(','));
  const r = await execArgv([...argv, '--', host], { timeoutMs: PROBE_MS + 1000, signal: opts.signal });
  const offered = new Set(normalizeHostKeys(r.stdout));
  return r.code === 0 && pinned.some((l) => offered.has(l));
}

function keyText(target: TargetSpec): string {
  const key = target.sshPrivateKey.replace(/\r\n/g, '\n');
  return key.endsWith('\n') ? key : key + '\n'; // OpenSSH rejects a key file without the final newline
}

/** One ControlMaster (and the remote shell over it) with its 0700 dir: key, known_hosts, socket. */
class Connection {
  master: ChildProcess | null = null;
  masterErr = '';
  shell: RemoteShell | null = null;
  idleTimer: NodeJS.Timeout | null = null;
  idleSince = 0;
  readonly createdAt = Date.now();
  private down: Promise<void> | null = null;

  constructor(
    readonly dir: string,
    readonly identity: string | null,
    public targetId: number,
  ) {}

  get keyFile() {
    return join(this.dir, 'id');
  }
  get knownHosts() {
    return join(this.dir, 'known_hosts');
  }
  get controlPath() {
    return join(this.dir, 'cm');
  }
  get pid(): number | null {
    return this.alive() ? (this.master!.pid ?? null) : null;
  }

  alive(): boolean {
    const m = this.master;
    return !!m && m.exitCode === null && m.signalCode === null && !this.down;
  }

  /** Stop the shell and the master (by its PID: SIGTERM, SIGKILL a second later) and remove the dir. Idempotent. */
  shutdown(): Promise<void> {
    this.down ??= (async () => {
      if (this.idleTimer) clearTimeout(this.idleTimer);
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
    })();
    return this.down;
  }
}

export interface SshOpenOptions {
  signal?: AbortSignal;
  /** First validation: accept and pin whatever key the host presents (into an empty known_hosts). */
  acceptNewHostKey?: boolean;
  connectTimeoutSec?: number;
  /** Told each time a failed connect is tried again (connect()), with the failure and the wait. */
  onConnectRetry?: (line: string) => void;
  /** ssh binary (tests may point elsewhere); default `ssh`. */
  sshBinary?: string;
  /**
   * Run exec() commands in one long-lived remote /bin/sh instead of a session each (remote-shell.ts):
   * one session start per run instead of one per command.
   */
  persistentShell?: boolean;
  /**
   * Take a warm connection of the same identity when there is one, and keep this one warm after a
   * clean close (`close({ keepWarm: true })`); needs `persistentShell`. Only where the runner turned
   * warm connections on (configureWarmConnections).
   */
  warm?: boolean;
}

export class SshSession implements ZfsHost {
  readonly label: string;
  private closed = false;
  /** Processes this session started over the master (commands, streams, standbys) that may still run. */
  private readonly children = new Set<ChildProcess>();

  private constructor(
    private readonly target: TargetSpec,
    private readonly conn: Connection,
    private readonly opts: SshOpenOptions,
    /** This run took a warm connection (no new TCP connection, no authentication). */
    readonly reused: boolean,
  ) {
    this.label = `${target.sshUser}@${target.sshHost}:${target.sshPort}`;
  }

  private host(): string {
    return this.target.sshHost.replace(/^\[(.*)\]$/, '$1');
  }

  /** PID of the master process (null once it is gone). */
  get masterPid(): number | null {
    return this.conn.pid;
  }

  /** Open the master connection (retrying transient failures), or take a warm one. Throws ExecError(connectivity | authentication | host-key). */
  static async open(target: TargetSpec, opts: SshOpenOptions = {}): Promise<SshSession> {
    validateSshEndpoint(target);
    if (!opts.acceptNewHostKey && !target.hostKey) {
      throw new ExecError(
        'host-key',
        `target "${target.name}" has no pinned host key yet: validate it, then confirm the host key it shows (or give its expected fingerprint)`,
      );
    }
    const identity =
      opts.warm && opts.persistentShell && !opts.acceptNewHostKey && warm.max > 0 && !warm.stopping
        ? connectionIdentity(target, opts)
        : null;
    if (identity) {
      latestIdentity.set(target.id, identity);
      const s = await SshSession.takeWarm(target, identity, opts);
      if (s) return s;
    }
    const conn = new Connection(await mkdtemp(join(keyDirBase ?? tmpdir(), 'lb-ssh-')), identity, target.id);
    const s = new SshSession(target, conn, opts, false);
    try {
      await writeFile(conn.keyFile, keyText(target), { mode: 0o600 });
      const pinned = opts.acceptNewHostKey ? [] : normalizeHostKeys(target.hostKey ?? '');
      if (!opts.acceptNewHostKey && pinned.length === 0)
        throw new ExecError('host-key', `pinned host key of target "${target.name}" is unreadable`);
      await writeFile(conn.knownHosts, pinned.map((l) => l + '\n').join(''), { mode: 0o600 });
      await s.connect();
      if (opts.persistentShell) {
        // not bound to the run's signal (like the master): a cancelled command takes its shell
        // down and the next command starts a new one; close() ends the last
        conn.shell = new RemoteShell(() => spawnArgv(s.commandArgs(['exec', '/bin/sh']), { stdio: ['pipe', 'pipe', 'pipe'] }));
        conn.shell.warmUp();
      }
      return s;
    } catch (e) {
      await s.close();
      throw e;
    }
  }

  /**
   * An idle connection of `identity`, checked by a round trip through its remote shell (a master
   * whose connection died is replaced, never waited on longer than PROBE_MS), with the run's key file
   * written again (a command falls back to a connection of its own if the master goes away). Idle
   * connections of this target with another identity (an edited target) are closed.
   */
  private static async takeWarm(target: TargetSpec, identity: string, opts: SshOpenOptions): Promise<SshSession | null> {
    for (const c of [...idle]) {
      if (c.targetId === target.id && c.identity !== identity) {
        dropIdle(c);
        void c.shutdown();
      }
    }
    const conn = idle.find((c) => c.identity === identity);
    if (!conn) return null;
    dropIdle(conn);
    conn.targetId = target.id;
    // a connection that cannot be used is stopped beside the new connect, not before it
    if (!conn.alive() || !conn.shell) {
      void conn.shutdown();
      return null;
    }
    const s = new SshSession(target, conn, opts, true);
    try {
      await stat(conn.controlPath);
      await writeFile(conn.keyFile, keyText(target), { mode: 0o600 });
      // the round trip through the shell and the key the target presents now, side by side
      const [r, keyOk] = await Promise.all([
        conn.shell.run(['true'], { timeoutMs: PROBE_MS, signal: opts.signal }),
        presentsPinnedKey(target, opts),
      ]);
      if (r.code === 0 && keyOk && conn.alive()) return s;
    } catch {
      /* socket gone or dir unwritable: a new connection */
    }
    s.closed = true;
    void conn.shutdown();
    return null;
  }

  private baseArgs(): string[] {
    const t = this.target;
    return [
      '-F',
      '/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      `StrictHostKeyChecking=${this.opts.acceptNewHostKey ? 'accept-new' : 'yes'}`,
      '-o',
      `UserKnownHostsFile=${this.conn.knownHosts}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      `HostKeyAlias=${HOST_KEY_ALIAS}`,
      '-o',
      'CheckHostIP=no',
      '-o',
      'UpdateHostKeys=no',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'IdentityAgent=none',
      '-o',
      'PasswordAuthentication=no',
      '-o',
      'KbdInteractiveAuthentication=no',
      '-o',
      `ConnectTimeout=${this.opts.connectTimeoutSec ?? 10}`,
      '-o',
      'ServerAliveInterval=10',
      '-o',
      'ServerAliveCountMax=3',
      '-o',
      'LogLevel=ERROR',
      ...ciphersOption(),
      '-o',
      `ControlPath=${this.conn.controlPath}`,
      // not `-i`: ssh stats a `-i` file while parsing its arguments and warns on stderr when it is
      // absent (as between the runs of a warm connection); a mux client never reads it
      '-o',
      `IdentityFile=${this.conn.keyFile}`,
      '-p',
      String(t.sshPort),
      '-l',
      t.sshUser,
    ];
  }

  private bin(): string {
    return this.opts.sshBinary ?? 'ssh';
  }

  /**
   * Start the master; after a transient failure (connectRetryDelayMs: no answer in time, a connection
   * dropped before the key exchange) wait and start a new one, up to CONNECT_ATTEMPTS in all. Each
   * retry is said through `onConnectRetry` (the event's log).
   */
  private async connect(): Promise<void> {
    const signal = this.opts.signal;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startMaster();
      } catch (e) {
        const delay = e instanceof ExecError && e.errorClass === 'connectivity' ? connectRetryDelayMs(attempt, e.message) : null;
        if (delay === null || signal?.aborted) throw e;
        this.opts.onConnectRetry?.(
          `${(e as Error).message}; connecting again in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${CONNECT_ATTEMPTS})`,
        );
        // the failed master is gone before the next one starts, and so is any socket it left
        const m = this.conn.master;
        if (m) await waitExit(m);
        await rm(this.conn.controlPath, { force: true });
        this.conn.masterErr = '';
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, delay);
          function done() {
            clearTimeout(t);
            signal?.removeEventListener('abort', done);
            resolve();
          }
          signal?.addEventListener('abort', done, { once: true });
        });
        if (signal?.aborted) throw new ExecError('cancelled', 'cancelled while connecting');
      }
    }
  }

  private async startMaster(): Promise<void> {
    // The master outlives a cancel of the run: commands are cancelled one by one (their own signal),
    // and what a run does after its data arrived (GUID check, tags, catalog) still has a connection.
    // close() stops it (or keeps it warm for the next run), always.
    const conn = this.conn;
    const m = spawnArgv([this.bin(), ...this.baseArgs(), '-M', '-N', '-o', 'ControlPersist=no', '--', this.host()], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    conn.master = m;
    m.stderr?.on('data', (b: Buffer) => {
      if (conn.masterErr.length < 8192) conn.masterErr += b.toString('utf8');
    });
    let exited: number | null = null;
    const exitP = waitExit(m).then((c) => {
      exited = c;
      // a warm connection whose master died (the target dropped it) leaves the pool at once
      if (idle.includes(conn)) {
        dropIdle(conn);
        void conn.shutdown();
      }
    });
    const deadline = Date.now() + ((this.opts.connectTimeoutSec ?? 10) + 20) * 1000;
    for (;;) {
      if (this.opts.signal?.aborted) {
        killChild(m, 500);
        throw new ExecError('cancelled', 'cancelled while connecting');
      }
      if (exited !== null) {
        await exitP;
        const cls = classifySsh(255, conn.masterErr) ?? 'connectivity';
        throw new ExecError(cls, describeSshFailure(cls, this.label, conn.masterErr));
      }
      try {
        const st = await stat(conn.controlPath);
        if (st.isSocket()) return;
      } catch {
        /* not yet */
      }
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

  private track(c: ChildProcess): ChildProcess {
    this.children.add(c);
    c.once('close', () => this.children.delete(c));
    c.once('error', () => this.children.delete(c));
    return c;
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<CmdResult> {
    if (this.closed) throw new ExecError('internal', 'ssh session already closed');
    const o = { ...opts, signal: opts.signal ?? this.opts.signal };
    if (this.conn.shell && opts.input === undefined) return this.conn.shell.run(argv, o);
    return execArgv(this.commandArgs(argv), o);
  }

  spawn(argv: string[], stdio: SpawnStdio, signal?: AbortSignal): ChildProcess {
    if (this.closed) throw new ExecError('internal', 'ssh session already closed');
    return this.track(
      spawnArgv(this.commandArgs(argv), { signal: signal ?? this.opts.signal, stdio: [stdio.stdin, stdio.stdout, 'pipe'] }),
    );
  }

  /**
   * The process that reads a spawned command's stdin and writes its stdout: the master, since a mux
   * client passes its descriptors to the master (stream-pipe.ts counts the stream there). Null when
   * the master is gone.
   */
  streamPid(): number | null {
    return this.conn.pid;
  }

  /**
   * A session that waits for one command line on its stdin and then execs it with the rest of
   * stdin (stream-pipe.ts writes `zfs recv …`, then the stream). Started ahead of a transfer so its
   * session start (fork, login shell files) overlaps other work instead of delaying the stream.
   * /bin/sh's `read` takes stdin one byte at a time, so it never eats into the stream.
   */
  spawnStandby(): ChildProcess {
    return this.spawn(STANDBY, { stdin: 'pipe', stdout: 'ignore' });
  }

  classify(res: CmdResult, fallback: ErrorClass): ErrorClass {
    return classifySsh(res.code, res.stderr) ?? fallback;
  }

  /** Throw the classified ExecError for a failed result. */
  fail(what: string, res: CmdResult, fallback: ErrorClass = 'zfs'): ExecError {
    const cls = this.classify(res, fallback);
    const msg =
      cls === fallback
        ? `${what} on ${this.label} failed: ${res.stderr.trim().split('\n').slice(0, 4).join(' | ')}`
        : describeSshFailure(cls, this.label, res.stderr);
    return new ExecError(cls, msg);
  }

  /** The host key(s) this session trusts, as normalised known_hosts lines. */
  async hostKeyLines(): Promise<string> {
    return normalizeHostKeys(await readFile(this.conn.knownHosts, 'utf8')).join('\n');
  }

  /** `SHA256:…` fingerprint(s) of the trusted host key, as `ssh-keygen -lf` prints them. */
  async fingerprint(): Promise<string> {
    const r = await execArgv(['ssh-keygen', '-lf', this.conn.knownHosts]);
    if (r.code !== 0) throw new ExecError('internal', `ssh-keygen -lf failed: ${r.stderr.trim()}`);
    const fps = r.stdout
      .split('\n')
      .map((l) => l.split(/\s+/)[1])
      .filter((x): x is string => !!x && x.startsWith('SHA256:'));
    if (!fps.length) throw new ExecError('internal', 'ssh-keygen printed no fingerprint');
    return fps.join(' ');
  }

  /**
   * End this run's use of the connection. Idempotent. With `keepWarm` (a run that succeeded) and
   * warm connections on, a healthy connection whose commands have all ended stays up for the next run
   * of the same identity, its key file removed now (the master is authenticated; a later run writes
   * its own); otherwise the master is stopped by its PID and the key, known_hosts and socket removed.
   */
  async close(opts: { keepWarm?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const conn = this.conn;
    if (opts.keepWarm && conn.identity && (await this.quiet())) {
      if (
        warm.max > 0 &&
        !warm.stopping &&
        latestIdentity.get(conn.targetId) === conn.identity &&
        conn.alive() &&
        conn.shell &&
        Date.now() - conn.createdAt < MAX_AGE_MS
      ) {
        try {
          await rm(conn.keyFile, { force: true });
          conn.idleSince = Date.now();
          conn.idleTimer = setTimeout(() => {
            dropIdle(conn);
            void conn.shutdown();
          }, warm.idleMs);
          conn.idleTimer.unref();
          idle.push(conn);
          while (idle.length > warm.max) {
            const old = idle[0];
            dropIdle(old);
            void old.shutdown();
          }
          return;
        } catch {
          /* fall through: close it */
        }
      }
    }
    for (const c of this.children) killChild(c, 1000);
    await conn.shutdown();
  }

  /** Every process this run started over the master has ended (a standby given EOF gets 2 s to). */
  private async quiet(): Promise<boolean> {
    const deadline = Date.now() + 2000;
    while (this.children.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.children.size === 0;
  }
}
