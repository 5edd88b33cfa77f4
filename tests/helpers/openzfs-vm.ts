// The OpenZFS tier's handle on its test VM: a Debian 12 guest with the OpenZFS 2.3 kernel module,
// booted by scripts/openzfs-vm.sh (scripts/test.mjs passes the path of its vm.json in
// LIFEBOAT_OPENZFS_VM). One ssh ControlMaster from this test process to the guest's root carries
// every command; it is started and stopped by PID. Everything a handle starts in the guest (pools,
// runners, authorized keys, tunnels) is undone by close().
//
// No VM, or a VM that does not answer, is an error: the OpenZFS tests fail, they never skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from './zfs.ts';
import type { ApiCall } from './api.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
/** The runner bundle `npm run build:js` makes (scripts/test.mjs builds it before the tiers). */
export const RUNNER_BUNDLE = join(ROOT, 'node-runner/dist/lifeboat-runner.mjs');
/** Where installRunner() puts node and the bundle in the guest. */
export const GUEST_DIR = '/opt/lifeboat';
const GUEST_POOL_DIR = '/var/tmp/lb-pools';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What `scripts/openzfs-vm.sh start` wrote (vm.json). */
export interface VmInfo {
  pid: number;
  port: number;
  key: string;
  knownHosts: string;
  runDir: string;
  zfsVersion: string;
  kernel: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}
export interface ExecOptions {
  /** fed to the remote command's stdin (otherwise stdin is empty) */
  input?: string | Buffer;
  /** kill the local ssh client after this long and reject (default: no limit) */
  timeoutMs?: number;
}

export interface GuestPool {
  name: string;
  /** the sparse vdev file in the guest */
  file: string;
  /** mountpoint of the pool's root dataset in the guest, or null (mountpoint=none) */
  mountpoint: string | null;
  destroy(): Promise<void>;
}

/** The parts of a test server (startFaultServer / startServer) a guest runner needs. */
export interface RunnerServer {
  url: string;
  api: ApiCall;
  waitFor<T>(what: string, f: () => Promise<T | null | undefined | false>, ms?: number, everyMs?: number): Promise<T>;
}

export interface GuestRunnerOptions {
  crashAt?: string;
  concurrency?: number;
  env?: Record<string, string>;
}

/** A lifeboat-runner process in the guest; shaped like FaultRunner (tests/faults/fixture.ts). */
export interface GuestRunner {
  name: string;
  nodeId: number;
  /** the runner's state dir in the guest (its node identity) */
  stateDir: string;
  /** PID of the current runner process in the guest (null until the wrapper reported it) */
  pid(): number | null;
  output(): string;
  /** When the current process ends: 'SIGKILL' if it died of SIGKILL, else its exit status as a
   *  string ('0', '1', '143' for SIGTERM, ...). 'lost:<ssh status>' if the ssh session ended
   *  without reporting the runner's status. */
  exited(): Promise<string>;
  /** Start it again with the same state dir (same node), optionally crashing at a checkpoint. */
  restart(opts?: { crashAt?: string }): Promise<void>;
  /** SIGTERM in the guest (by PID), SIGKILL after 15 s; removes the state dir. */
  stop(): Promise<void>;
}

export interface GuestProcess {
  pid: number;
  ppid: number;
  args: string;
}

export interface OpenZfsVm {
  info: VmInfo;
  /** argv is quoted for the remote shell; never throws for a non-zero exit */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** exec, throwing with stderr on a non-zero exit; returns stdout */
  must(argv: string[], opts?: ExecOptions): Promise<string>;
  /** `sh -c script` in the guest */
  sh(script: string, opts?: ExecOptions): Promise<ExecResult>;
  zfs(...args: string[]): Promise<string>;
  zpool(...args: string[]): Promise<string>;
  /** A uniquely named pool on a sparse file vdev in the guest (default 128 MiB, mounted under /mnt/<name>). */
  createPool(prefix: string, opts?: { sizeMiB?: number; mounted?: boolean }): Promise<GuestPool>;
  /** `bytes` of /dev/urandom into a guest file */
  writeRandom(path: string, bytes: number): Promise<void>;
  sha256(path: string): Promise<string>;
  /** snapshot name → guid for every snapshot under root (recursive) */
  snapshotGuids(root: string): Promise<Map<string, string>>;
  /** datasets, snapshots, bookmarks, volumes of a pool */
  listAll(pool: string): Promise<string[]>;
  addAuthorizedKey(user: 'root' | 'lbtarget', publicKeyLine: string): Promise<void>;
  removeAuthorizedKey(user: 'root' | 'lbtarget', publicKeyLine: string): Promise<void>;
  /** node (this process's own binary) and the runner bundle into /opt/lifeboat, once per VM boot */
  installRunner(): Promise<{ node: string; bundle: string }>;
  /** A reverse tunnel guest 127.0.0.1:<returned port> → host 127.0.0.1:hostPort (on the master). */
  forwardServerPort(hostPort: number): Promise<number>;
  startRunner(server: RunnerServer, name: string, pools: string[], opts?: GuestRunnerOptions): Promise<GuestRunner>;
  /** every process in the guest (one round trip) */
  processes(): Promise<GuestProcess[]>;
  /** kill(1) in the guest; false when the signal could not be sent (no such process) */
  kill(pid: number, signal?: string): Promise<boolean>;
  close(): Promise<void>;
}

/** One word for a POSIX shell: left bare when safe, else single-quoted. */
export function shQuote(s: string): string {
  if (s !== '' && /^[A-Za-z0-9_/.,:=@%+-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function readInfo(): VmInfo {
  const path = process.env.LIFEBOAT_OPENZFS_VM;
  if (!path) {
    throw new Error(
      'LIFEBOAT_OPENZFS_VM is not set: the OpenZFS tests need the test VM. Run them with ' +
        '`LIFEBOAT_TEST_TIERS=openzfs npm test` (scripts/test.mjs builds and boots it with scripts/openzfs-vm.sh), ' +
        'or boot one yourself (`scripts/openzfs-vm.sh build && scripts/openzfs-vm.sh start`) and set LIFEBOAT_OPENZFS_VM to the vm.json it prints.',
    );
  }
  let info: VmInfo;
  try {
    info = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`LIFEBOAT_OPENZFS_VM=${path}: cannot read the VM description (${(e as Error).message}); was the VM stopped?`, {
      cause: e,
    });
  }
  for (const k of ['pid', 'port', 'key', 'knownHosts', 'runDir'] as const) {
    if (!info[k]) throw new Error(`LIFEBOAT_OPENZFS_VM=${path}: "${k}" is missing`);
  }
  if (!existsSync(`/proc/${info.pid}`)) {
    throw new Error(
      `the OpenZFS VM described by ${path} is not running (qemu PID ${info.pid} is gone; console log: ${info.runDir}/console.log)`,
    );
  }
  return info;
}

export async function openzfsVm(): Promise<OpenZfsVm> {
  const info = readInfo();
  const local = mkdtempSync(join(tmpdir(), 'lb-ozvm-ssh-'));
  const ctl = join(local, 'ctl');
  const base = [
    '-F',
    '/dev/null',
    '-i',
    info.key,
    '-p',
    String(info.port),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${info.knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    `ControlPath=${ctl}`,
  ];
  const dest = 'root@127.0.0.1';
  const client = [...base, '-o', 'ControlMaster=no'];

  // Children this handle started on the host, killed by PID if the test process ends without close().
  const hostChildren = new Set<ChildProcess>();
  const killLeftovers = () => {
    for (const c of hostChildren) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(local, { recursive: true, force: true });
  };
  process.once('exit', killLeftovers);

  // --- the master connection --------------------------------------------------------------------
  let masterErr = '';
  const master = spawn(
    'ssh',
    [
      ...base,
      '-o',
      'ControlMaster=yes',
      '-o',
      'ControlPersist=no',
      '-o',
      'ServerAliveInterval=10',
      '-o',
      'ServerAliveCountMax=6',
      '-o',
      'ConnectTimeout=30',
      '-o',
      'ExitOnForwardFailure=yes',
      '-N',
      dest,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  hostChildren.add(master);
  master.stderr!.on('data', (d) => {
    if (masterErr.length < 8000) masterErr += d;
  });
  const masterExit = new Promise<void>((r) =>
    master.once('exit', () => {
      hostChildren.delete(master);
      r();
    }),
  );
  const noAnswer = (why: string) =>
    new Error(
      `the OpenZFS VM (qemu PID ${info.pid}, ssh 127.0.0.1:${info.port}) does not answer: ${why}` +
        `\nconsole log: ${info.runDir}/console.log`,
    );
  {
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (master.exitCode !== null || master.signalCode !== null) {
        rmSync(local, { recursive: true, force: true });
        process.removeListener('exit', killLeftovers);
        throw noAnswer(`ssh exited (${master.signalCode ?? master.exitCode}): ${masterErr.trim()}`);
      }
      if (existsSync(ctl) && (await run('ssh', [...base, '-O', 'check', dest])).code === 0) break;
      if (Date.now() > deadline) {
        master.kill('SIGKILL');
        await masterExit;
        rmSync(local, { recursive: true, force: true });
        process.removeListener('exit', killLeftovers);
        throw noAnswer(`no ssh master connection within 90 s: ${masterErr.trim()}`);
      }
      await sleep(100);
    }
  }

  // --- commands --------------------------------------------------------------------------------
  const remote = (argv: string[]) => argv.map(shQuote).join(' ');
  const exec = (argv: string[], opts: ExecOptions & { inputFile?: string } = {}): Promise<ExecResult> =>
    new Promise((resolve, reject) => {
      const feed = opts.input !== undefined || opts.inputFile !== undefined;
      const c = spawn('ssh', [...client, dest, '--', remote(argv)], { stdio: [feed ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
      hostChildren.add(c);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      c.stdout!.on('data', (d: Buffer) => out.push(d));
      c.stderr!.on('data', (d: Buffer) => err.push(d));
      let timedOut = false;
      const t = opts.timeoutMs
        ? setTimeout(() => {
            timedOut = true;
            c.kill('SIGKILL');
          }, opts.timeoutMs)
        : null;
      c.once('error', (e) => {
        if (t) clearTimeout(t);
        hostChildren.delete(c);
        reject(e);
      });
      c.once('close', (code, sig) => {
        if (t) clearTimeout(t);
        hostChildren.delete(c);
        const r = {
          code: code ?? 128 + (sig === 'SIGKILL' ? 9 : 15),
          stdout: Buffer.concat(out).toString(),
          stderr: Buffer.concat(err).toString(),
        };
        if (timedOut)
          reject(new Error(`in the OpenZFS VM: ${remote(argv).slice(0, 300)} timed out after ${opts.timeoutMs} ms\n${r.stderr}`));
        else resolve(r);
      });
      // the remote side may stop reading early (EPIPE): its exit status tells what happened
      if (feed) c.stdin!.on('error', () => {});
      if (opts.inputFile !== undefined) {
        const s = createReadStream(opts.inputFile);
        s.once('error', (e) => {
          c.kill('SIGKILL');
          reject(e);
        });
        s.pipe(c.stdin!);
      } else if (opts.input !== undefined) {
        c.stdin!.end(opts.input);
      }
    });
  const must = async (argv: string[], opts: ExecOptions & { inputFile?: string } = {}): Promise<string> => {
    const r = await exec(argv, opts);
    if (r.code !== 0)
      throw new Error(`in the OpenZFS VM: ${remote(argv).slice(0, 500)} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  };
  const sh = (script: string, opts?: ExecOptions) => exec(['sh', '-c', script], opts);
  const zfs = (...args: string[]) => must(['zfs', ...args]);
  const zpool = (...args: string[]) => must(['zpool', ...args]);

  // --- pools -------------------------------------------------------------------------------------
  const pools = new Map<string, GuestPool>();
  const createPool = async (prefix: string, opts: { sizeMiB?: number; mounted?: boolean } = {}): Promise<GuestPool> => {
    const name = uniqueName(prefix);
    const file = `${GUEST_POOL_DIR}/${name}.img`;
    const mountpoint = (opts.mounted ?? true) ? `/mnt/${name}` : null;
    await must(['sh', '-c', 'mkdir -p "$1" && truncate -s "$2" "$3"', 'sh', GUEST_POOL_DIR, `${opts.sizeMiB ?? 128}M`, file]);
    const made = await exec(['zpool', 'create', '-m', mountpoint ?? 'none', name, file]);
    if (made.code !== 0) {
      await exec(['rm', '-f', file]);
      throw new Error(`in the OpenZFS VM: zpool create ${name} failed (${made.code}): ${made.stderr.trim()}`);
    }
    const pool: GuestPool = {
      name,
      file,
      mountpoint,
      async destroy() {
        let r = await exec(['zpool', 'destroy', '-f', name]);
        for (let i = 0; r.code !== 0 && /busy/i.test(r.stderr) && i < 20; i++) {
          await sleep(300);
          r = await exec(['zpool', 'destroy', '-f', name]);
        }
        pools.delete(name);
        await exec(['sh', '-c', 'rm -f "$1"; [ -z "$2" ] || rmdir "$2" 2>/dev/null; true', 'sh', file, mountpoint ?? '']);
        if (r.code !== 0 && !/no such pool/i.test(r.stderr))
          throw new Error(`in the OpenZFS VM: zpool destroy ${name}: ${r.stderr.trim()}`);
      },
    };
    pools.set(name, pool);
    return pool;
  };
  const writeRandom = async (path: string, bytes: number) => {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`writeRandom: bad byte count ${bytes}`);
    await must(['sh', '-c', 'head -c "$1" /dev/urandom > "$2"', 'sh', String(bytes), path]);
  };
  const sha256 = async (path: string) => (await must(['sha256sum', '--', path])).trim().split(/\s+/)[0];
  const snapshotGuids = async (root: string) => {
    const m = new Map<string, string>();
    for (const line of (await zfs('get', '-Hp', '-r', '-o', 'name,value', 'guid', root)).split('\n')) {
      const [n, v] = line.split('\t');
      if (n && n.includes('@')) m.set(n, v);
    }
    return m;
  };
  const listAll = async (pool: string) => (await zfs('list', '-H', '-o', 'name', '-t', 'all', '-r', pool)).split('\n').filter(Boolean);

  // --- authorized keys ---------------------------------------------------------------------------
  const addedKeys = new Set<string>(); // `${user}\n${line}`
  const checkKey = (user: string, line: string) => {
    if (user !== 'root' && user !== 'lbtarget') throw new Error(`authorized keys: user must be root or lbtarget, not ${user}`);
    const l = line.trim();
    if (!l || /[\r\n]/.test(l) || !/^(?:[a-z][a-z0-9-]*(?:="[^"]*")?(?:,[a-z][a-z0-9-]*(?:="[^"]*")?)* )?(ssh-|ecdsa-|sk-)\S+ \S+/.test(l))
      throw new Error(`authorized keys: not one public key line: ${JSON.stringify(line.slice(0, 80))}`);
    return l;
  };
  const addAuthorizedKey = async (user: 'root' | 'lbtarget', publicKeyLine: string) => {
    const l = checkKey(user, publicKeyLine);
    await must([
      'sh',
      '-c',
      [
        'set -e',
        'home=$(getent passwd "$1" | cut -d: -f6)',
        'install -d -m 0700 -o "$1" -g "$1" "$home/.ssh"',
        'f=$home/.ssh/authorized_keys',
        'touch "$f"',
        'grep -qxF -- "$2" "$f" || printf "%s\\n" "$2" >> "$f"',
        'chown "$1:$1" "$f"',
        'chmod 0600 "$f"',
      ].join('\n'),
      'sh',
      user,
      l,
    ]);
    addedKeys.add(`${user}\n${l}`);
  };
  const removeAuthorizedKey = async (user: 'root' | 'lbtarget', publicKeyLine: string) => {
    const l = checkKey(user, publicKeyLine);
    if (user === 'root' && readFileSync(`${info.key}.pub`, 'utf8').trim().split(/\s+/)[1] === l.split(/\s+/)[1]) {
      throw new Error("removeAuthorizedKey: that is the VM's own root key (the tests would lose the VM)");
    }
    await must([
      'sh',
      '-c',
      [
        'set -e',
        'f=$(getent passwd "$1" | cut -d: -f6)/.ssh/authorized_keys',
        '[ -f "$f" ] || exit 0',
        'grep -vxF -- "$2" "$f" > "$f.lb-tmp" || true',
        'cat "$f.lb-tmp" > "$f"',
        'rm -f "$f.lb-tmp"',
      ].join('\n'),
      'sh',
      user,
      l,
    ]);
    addedKeys.delete(`${user}\n${l}`);
  };

  // --- the runner in the guest -------------------------------------------------------------------
  let installed: Promise<{ node: string; bundle: string }> | null = null;
  const installRunner = () =>
    (installed ??= (async () => {
      if (!existsSync(RUNNER_BUNDLE))
        throw new Error(`${RUNNER_BUNDLE} is missing: run \`npm run build:js\` (scripts/test.mjs does before the tiers)`);
      const node = `${GUEST_DIR}/node`;
      const bundle = `${GUEST_DIR}/lifeboat-runner.mjs`;
      const h = createHash('sha256');
      for (const f of [process.execPath, RUNNER_BUNDLE]) {
        await new Promise<void>((res, rej) =>
          createReadStream(f)
            .on('data', (d) => h.update(d))
            .once('end', res)
            .once('error', rej),
        );
      }
      const hash = h.digest('hex');
      const marker = `${GUEST_DIR}/.installed`;
      if ((await exec(['cat', marker])).stdout.trim() === hash) return { node, bundle };
      const tag = randomBytes(4).toString('hex');
      await must(['mkdir', '-p', GUEST_DIR]);
      await must(['sh', '-c', 'cat > "$1"', 'sh', `${node}.${tag}`], { inputFile: process.execPath });
      await must(['sh', '-c', 'cat > "$1"', 'sh', `${bundle}.${tag}`], { inputFile: RUNNER_BUNDLE });
      await must(['sh', '-c', 'chmod 0755 "$1.$3" && mv -f "$1.$3" "$1" && mv -f "$2.$3" "$2"', 'sh', node, bundle, tag]);
      const v = await exec([node, '--version']);
      if (v.code !== 0 || v.stdout.trim() !== process.version) {
        throw new Error(
          `this host's node (${process.execPath}, ${process.version}) does not run in the OpenZFS VM: ${v.code} ${v.stdout.trim()} ${v.stderr.trim()}`,
        );
      }
      await must(['sh', '-c', 'printf "%s\\n" "$1" > "$2"', 'sh', hash, marker]);
      return { node, bundle };
    })().catch((e) => {
      installed = null;
      throw e;
    }));

  const forwards = new Map<number, Promise<number>>();
  const forwardServerPort = (hostPort: number) => {
    if (!Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535)
      return Promise.reject(new Error(`forwardServerPort: bad port ${hostPort}`));
    let p = forwards.get(hostPort);
    if (!p) {
      p = (async () => {
        // Port 0: the guest's sshd picks a free port and the mux client prints it.
        const r = await run('ssh', [...base, '-O', 'forward', '-R', `127.0.0.1:0:127.0.0.1:${hostPort}`, dest]);
        const port = Number(r.stdout.trim().split('\n').pop());
        if (r.code !== 0 || !Number.isInteger(port) || port <= 0) {
          throw new Error(`reverse tunnel to host port ${hostPort} failed (${r.code}): ${r.stderr.trim()} ${r.stdout.trim()}`);
        }
        return port;
      })();
      p.catch(() => forwards.delete(hostPort));
      forwards.set(hostPort, p);
    }
    return p;
  };

  const processes = async (): Promise<GuestProcess[]> => {
    const py = [
      'import os, json',
      'me = os.getpid()',
      'out = []',
      'for d in os.listdir("/proc"):',
      '    if not d.isdigit() or int(d) == me: continue',
      '    try:',
      '        st = open("/proc/%s/stat" % d).read()',
      '        ppid = int(st[st.rindex(")") + 2:].split()[1])',
      '        args = open("/proc/%s/cmdline" % d, "rb").read().replace(b"\\0", b" ").decode("utf-8", "replace").strip()',
      '    except (OSError, ValueError): continue',
      '    out.append({"pid": int(d), "ppid": ppid, "args": args})',
      'print(json.dumps(out))',
    ].join('\n');
    return JSON.parse(await must(['python3', '-c', py]));
  };
  const kill = async (pid: number, signal = 'TERM') => {
    if (!Number.isInteger(pid) || pid <= 1) throw new Error(`kill: bad pid ${pid}`);
    return (await exec(['kill', '-s', signal.replace(/^SIG/, ''), String(pid)])).code === 0;
  };

  const runners = new Set<GuestRunner>();
  const startRunner = async (
    server: RunnerServer,
    name: string,
    poolNames: string[],
    opts: GuestRunnerOptions = {},
  ): Promise<GuestRunner> => {
    const { node, bundle } = await installRunner();
    const hostPort = Number(new URL(server.url).port);
    const guestPort = await forwardServerPort(hostPort);
    const env = { LIFEBOAT_RUNNER_INVENTORY_MS: '3000', ...opts.env };
    for (const k of Object.keys(env)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`startRunner: bad env name ${k}`);
    const stateDir = (await must(['mktemp', '-d', '/var/tmp/lb-runner.XXXXXXXX'])).trim();
    const jt = await server.api('POST', '/nodes/join-tokens');
    if (!jt.body?.token) throw new Error(`startRunner: no join token (${jt.status}): ${JSON.stringify(jt.body)}`);

    let out = '';
    let proc!: ChildProcess;
    let pid: number | null = null;
    let exit!: Promise<string>;
    let running = false;
    const launch = (o: { crashAt?: string }, joinToken?: string) => {
      const argv = [
        // --crash-at is an option only when test hooks are on (node-runner/src/options.ts)
        ...(o.crashAt ? ['LIFEBOAT_TEST_HOOKS=1'] : []),
        node,
        bundle,
        '--server',
        `http://127.0.0.1:${guestPort}`,
        '--state-dir',
        stateDir,
        '--name',
        name,
        '--pools',
        poolNames.join(','),
        '--concurrency',
        String(opts.concurrency ?? 2),
        ...(o.crashAt ? ['--crash-at', o.crashAt] : []),
      ];
      // The wrapper: the join token comes on stdin (kept out of the guest's ps), the runner runs in the
      // background so the wrapper can report its PID first and its exit status last (137 = SIGKILL).
      const wrapper = [
        'IFS= read -r tok || tok=',
        'if [ -n "$tok" ]; then LIFEBOAT_JOIN_TOKEN=$tok; export LIFEBOAT_JOIN_TOKEN; fi',
        'cd /',
        `env ${[...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv].map(shQuote).join(' ')} </dev/null &`,
        'pid=$!',
        'echo "@@lb-runner-pid $pid"',
        'wait "$pid"; st=$?',
        'echo "@@lb-runner-exit $st"',
      ].join('\n');
      const c = spawn('ssh', [...client, dest, '--', `sh -c ${shQuote(wrapper)}`], { stdio: ['pipe', 'pipe', 'pipe'] });
      hostChildren.add(c);
      proc = c;
      pid = null;
      running = true;
      let status: string | null = null;
      let partial = '';
      c.stdout!.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) {
          const m = /^@@lb-runner-(pid|exit) (\d+)$/.exec(l);
          if (m?.[1] === 'pid') pid = Number(m[2]);
          else if (m?.[1] === 'exit') status = m[2] === '137' ? 'SIGKILL' : m[2];
          else out += l + '\n';
        }
      });
      c.stderr!.on('data', (d) => {
        out += d;
      });
      c.stdin!.on('error', () => {
        /* the session ended early; its status tells */
      });
      c.stdin!.end(`${joinToken ?? ''}\n`);
      exit = new Promise((r) =>
        c.once('close', (code, sig) => {
          hostChildren.delete(c);
          if (partial) out += partial;
          running = false;
          r(status ?? `lost:${sig ?? code}`);
        }),
      );
    };
    const stopProc = async () => {
      if (!running) return;
      const c = proc;
      const ended = exit;
      for (let i = 0; pid === null && running && i < 100; i++) await sleep(50);
      const p = pid;
      // signal the runner by PID, and only if that PID still is this runner (its state dir in the cmdline)
      const signal = (sig: string) =>
        p !== null &&
        exec(['sh', '-c', 'grep -qF -- "$2" "/proc/$1/cmdline" 2>/dev/null && kill -s "$3" "$1"', 'sh', String(p), stateDir, sig]);
      await signal('TERM');
      const tKill = setTimeout(() => {
        void signal('KILL');
      }, 15_000);
      const tSsh = setTimeout(() => {
        try {
          c.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }, 25_000);
      await ended;
      clearTimeout(tKill);
      clearTimeout(tSsh);
    };

    launch({ crashAt: opts.crashAt }, jt.body.token);
    const died = exit.then((s) => {
      throw new Error(`runner ${name} in the OpenZFS VM ended (${s}) before it joined and reported its inventory:\n${out.slice(-3000)}`);
    });
    died.catch(() => {
      /* raced below */
    });
    let nodeId: number;
    try {
      nodeId = await Promise.race([
        died,
        server.waitFor(
          `runner ${name} in the OpenZFS VM to join and report its inventory`,
          async () => {
            const n = (await server.api('GET', '/nodes')).body.items.find((x) => x.name === name);
            return n?.inventoryAt ? (n.id as number) : null;
          },
          180_000,
          300,
        ),
      ]);
    } catch (e) {
      await stopProc();
      await exec(['rm', '-rf', '--', stateDir]);
      throw new Error(`${(e as Error).message}\n--- runner output ---\n${out.slice(-3000)}`, { cause: e });
    }
    const runner: GuestRunner = {
      name,
      nodeId,
      stateDir,
      pid: () => pid,
      output: () => out,
      exited: () => exit,
      async restart(o = {}) {
        await stopProc();
        const before = out.length;
        launch(o);
        const ended = exit.then((s) => {
          throw new Error(`runner ${name} ended (${s}) while starting again:\n${out.slice(before).slice(-3000)}`);
        });
        ended.catch(() => {
          /* raced below */
        });
        await Promise.race([
          ended,
          server.waitFor(`runner ${name} in the OpenZFS VM to start again`, async () => /inventory/.test(out.slice(before)), 120_000, 100),
        ]);
      },
      async stop() {
        await stopProc();
        runners.delete(runner);
        await must(['rm', '-rf', '--', stateDir]);
      },
    };
    runners.add(runner);
    return runner;
  };

  // --- close ---------------------------------------------------------------------------------------
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    const problems: string[] = [];
    const attempt = async (what: string, f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        problems.push(`${what}: ${(e as Error).message}`);
      }
    };
    for (const r of [...runners]) await attempt(`stopping runner ${r.name}`, () => r.stop());
    for (const p of [...pools.values()]) await attempt(`destroying pool ${p.name}`, () => p.destroy());
    for (const k of [...addedKeys]) {
      const [user, line] = k.split('\n');
      await attempt(`removing a key of ${user}`, () => removeAuthorizedKey(user as 'root' | 'lbtarget', line));
    }
    // The master carries the tunnels; stop it by its PID.
    if (master.exitCode === null && master.signalCode === null) {
      master.kill('SIGTERM');
      const t = setTimeout(() => {
        try {
          master.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }, 5000);
      await masterExit;
      clearTimeout(t);
    }
    for (const c of [...hostChildren]) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    process.removeListener('exit', killLeftovers);
    rmSync(local, { recursive: true, force: true });
    if (problems.length) throw new Error(`closing the OpenZFS VM handle:\n${problems.join('\n')}`);
  };

  return {
    info,
    exec: (argv, opts) => exec(argv, opts),
    must: (argv, opts) => must(argv, opts),
    sh,
    zfs,
    zpool,
    createPool,
    writeRandom,
    sha256,
    snapshotGuids,
    listAll,
    addAuthorizedKey,
    removeAuthorizedKey,
    installRunner,
    forwardServerPort,
    startRunner,
    processes,
    kill,
    close,
  };
}

/** A local command (ssh -O …), never throwing for a non-zero exit. */
function run(bin: string, args: string[]): Promise<ExecResult> {
  return new Promise((resolve) => {
    const c = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout!.on('data', (d) => {
      stdout += d;
    });
    c.stderr!.on('data', (d) => {
      stderr += d;
    });
    c.once('error', (e) => resolve({ code: -1, stdout, stderr: `${stderr}${e.message}` }));
    c.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
