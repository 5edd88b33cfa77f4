// Fault-test world: the real Node entry (restartable on the same data dir and port), runner
// processes that can be SIGKILLed and restarted with the same node identity, a real sshd target,
// zfs-fuse pools. Everything is stopped by PID and removed afterwards.
import { expect } from 'vitest';
import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import { freePort } from '../helpers/server.ts';
import { run, zfs } from '../helpers/zfs.ts';
import type { ApiCall, LbEvent } from '../helpers/api.ts';
import { adminApi, eventWaiter, poll } from '../helpers/client.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const RUNNER_BIN = join(ROOT, 'node-runner/bin/lifeboat-runner.mjs');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Run Now on a job; waits a second first because snapshot names have one-second resolution. */
export async function runJob(srv: FaultServer, jobId: number): Promise<number> {
  await sleep(1100);
  const r = await srv.api('POST', `/jobs/${jobId}/run`);
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  return r.body.eventId;
}

/** Run Now and expect success (the event log in the failure message). */
export async function backupOk(srv: FaultServer, jobId: number) {
  const e = await srv.waitEvent(await runJob(srv, jobId));
  expect(e.status, `${e.error}\n${await eventLog(srv.api, e.id)}`).toBe('success');
  return e;
}

/** The admin's API (helpers/api.ts): the body typed by the route, or by `api<T>(...)`. */
export type Api = ApiCall;

export interface FaultServer {
  url: string;
  dataDir: string;
  api: Api;
  pid(): number;
  output(): string;
  waitFor<T>(what: string, f: () => Promise<T | null | undefined | false>, ms?: number, everyMs?: number): Promise<T>;
  waitEvent(id: number, ms?: number): Promise<LbEvent>;
  /** SIGTERM the server and wait for it to exit (the data dir stays). */
  halt(): Promise<void>;
  /** Start the server again on the same port and data dir. */
  restart(): Promise<void>;
  /** The embedded DB, read directly (assertions only). */
  db(): Client;
  stop(): Promise<void>;
}

export async function startFaultServer(env: Record<string, string>): Promise<FaultServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lifeboat-fault-'));
  const port = await freePort();
  const admin = 'lba_fault_' + Math.random().toString(36).slice(2);
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  let proc: ChildProcess;
  let client: Client | null = null;
  const launch = async () => {
    proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'functions/src/node.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        LIFEBOAT_CONFIG: '', // no /etc/lifeboat/server.conf of the machine running the tests
        LIFEBOAT_DATA_DIR: dataDir,
        LIFEBOAT_PORT: String(port),
        LIFEBOAT_HOST: '127.0.0.1',
        LIFEBOAT_ADMIN_TOKEN: admin,
        LIFEBOAT_NODE_NAME: 'local',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d) => {
      out += d;
    });
    proc.stderr!.on('data', (d) => {
      out += d;
    });
    await waitFor('health', async () => (await fetch(`${url}/api/v1/health`)).ok, 30_000);
  };
  const api: Api = adminApi(url, () => admin);
  const waitFor = <T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 60_000, everyMs = 100) =>
    poll(what, f, { ms, everyMs, context: () => `--- server output ---\n${out.slice(-3000)}` });
  const halt = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const p = proc;
    const done = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
    await done;
    clearTimeout(t);
  };
  await launch();
  return {
    url,
    dataDir,
    api,
    waitFor,
    pid: () => proc.pid!,
    output: () => out,
    waitEvent: eventWaiter(api, <T>(what: string, f: () => Promise<T | null | undefined | false>, ms?: number) =>
      waitFor(what, f, ms, 150),
    ),
    halt,
    restart: launch,
    db: () => (client ??= createClient({ url: `file:${join(dataDir, 'lifeboat.db')}` })),
    async stop() {
      client?.close();
      await halt();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface FaultRunner {
  name: string;
  nodeId: number;
  proc: ChildProcess;
  output(): string;
  /** Resolves with the signal (or exit code) when the current process ends. */
  exited(): Promise<string>;
  /** Its --state-dir (node.json, ssh/). */
  stateDir: string;
  /** Start the runner again with the same identity (state dir), optionally crashing at a checkpoint. */
  restart(opts?: { crashAt?: string }): Promise<void>;
  stop(): Promise<void>;
}

/** A runner process on its own node (joined once), limited to `pools`. */
export async function startFaultRunner(
  srv: FaultServer,
  name: string,
  pools: string[],
  opts: { crashAt?: string; concurrency?: number } = {},
): Promise<FaultRunner> {
  const stateDir = mkdtempSync(join(tmpdir(), 'lifeboat-fault-runner-'));
  const jt = await srv.api('POST', '/nodes/join-tokens');
  let out = '';
  let proc!: ChildProcess;
  let exit!: Promise<string>;
  const launch = (o: { crashAt?: string }, joinToken?: string) => {
    const args = [
      RUNNER_BIN,
      '--server',
      srv.url,
      '--state-dir',
      stateDir,
      '--name',
      name,
      '--pools',
      pools.join(','),
      '--concurrency',
      String(opts.concurrency ?? 2),
    ];
    if (o.crashAt) args.push('--crash-at', o.crashAt);
    proc = spawn(process.execPath, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        LIFEBOAT_CONFIG: '', // no /etc/lifeboat/runner.conf of the machine running the tests
        LIFEBOAT_RUNNER_INVENTORY_MS: '3000',
        ...(joinToken ? { LIFEBOAT_JOIN_TOKEN: joinToken } : {}),
        ...(o.crashAt ? { LIFEBOAT_TEST_HOOKS: '1' } : {}), // --crash-at is an option only then (node-runner/src/options.ts)
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.on('data', (d) => {
      out += d;
    });
    proc.stderr!.on('data', (d) => {
      out += d;
    });
    const p = proc;
    exit = new Promise((r) => p.once('exit', (code, sig) => r(sig ?? String(code))));
  };
  launch({ crashAt: opts.crashAt }, jt.body.token);
  const nodeId = await srv.waitFor(
    `runner ${name} to join and report its inventory`,
    async () => {
      const n = (await srv.api('GET', '/nodes')).body.items.find((x) => x.name === name);
      return n?.inventoryAt ? (n.id as number) : null;
    },
    60_000,
    200,
  );
  const stopProc = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => {
      try {
        proc.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }, 15_000);
    await exit;
    clearTimeout(t);
  };
  return {
    name,
    nodeId,
    stateDir,
    get proc() {
      return proc;
    },
    output: () => out,
    exited: () => exit,
    async restart(o = {}) {
      await stopProc();
      const before = out.length;
      launch(o);
      // ready when it logged its first claim-loop line (inventory reported)
      await srv.waitFor(`runner ${name} to start again`, async () => /inventory/.test(out.slice(before)), 30_000, 100);
    },
    async stop() {
      await stopProc();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** Datasets and snapshots (all types) of a pool, for "nothing lost or left renamed" checks. */
export async function listAll(pool: string): Promise<string[]> {
  return (await zfs('list', '-H', '-o', 'name', '-t', 'all', '-r', pool)).split('\n').filter(Boolean);
}

/** Names that only crash leftovers have: staging, set-aside, partial receives. */
export const LEFTOVER = /lb-staging|-lb-old-|%recv/;

/** PIDs of processes whose command line contains every one of `parts`. */
export async function pidsMatching(...parts: string[]): Promise<number[]> {
  const r = await run('ps', ['-eo', 'pid=,args=']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => parts.every((p) => l.includes(p)))
    .map((l) => Number(l.split(/\s+/)[0]))
    .filter((p) => p !== process.pid);
}

/** Children of a process (by PPID). */
export async function childPids(ppid: number): Promise<number[]> {
  const r = await run('ps', ['-o', 'pid=', '--ppid', String(ppid)]);
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

/** Wait until a process matching `parts` exists; returns its pids. Polls fast (streams are short). */
export async function waitProcess(what: string, parts: string[], ms = 30_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const p = await pidsMatching(...parts);
    if (p.length) return p;
    await sleep(15);
  }
  throw new Error(`no ${what} process (${parts.join(' ')}) within ${ms} ms`);
}

/** The runner's log lines of an event. */
export async function eventLog(api: Api, id: number): Promise<string> {
  return (await api('GET', `/events/${id}/log`)).body.items.map((l) => l.message).join('\n');
}

/** Every process: pid, parent and command line, read from /proc (faster than ps on a busy box). */
export async function processes(): Promise<{ pid: number; ppid: number; args: string }[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const out: { pid: number; ppid: number; args: string }[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = await readFile(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const args = (await readFile(`/proc/${d}/cmdline`, 'utf8')).split('\0').join(' ').trim();
      out.push({ pid: Number(d), ppid, args });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** All descendants of `pid` (not `pid` itself). */
export async function descendants(pid: number): Promise<number[]> {
  const ps = await processes();
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of ps.filter((x) => x.ppid === p)) {
      out.push(c.pid);
      walk(c.pid);
    }
  };
  walk(pid);
  return out;
}

/** Wait (polling /proc every few ms) until a process whose command line contains all `parts` exists. */
export async function waitProcessFast(what: string, parts: string[], ms = 30_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const p = (await processes()).filter((x) => x.pid !== process.pid && parts.every((s) => x.args.includes(s))).map((x) => x.pid);
    if (p.length) return p;
    await sleep(3);
  }
  throw new Error(`no ${what} process (${parts.join(' ')}) within ${ms} ms`);
}

/**
 * After the runners are stopped: SSH processes still connected to this test's sshd are orphans of
 * SIGKILLed runners (an ssh ControlMaster outlives its killed parent; see the README's limitations).
 * Stop them, and sshd's session processes, by PID. Returns how many were stopped.
 */
export async function reapSsh(sshdPid: number, port: number): Promise<number> {
  const ps = await processes();
  const clients = ps
    .filter((p) => p.args.startsWith('ssh ') && p.args.includes('lb-ssh-') && p.args.includes(` -p ${port} `))
    .map((p) => p.pid);
  const sessions = await descendants(sshdPid);
  let n = 0;
  for (const pid of [...clients, ...sessions]) {
    try {
      process.kill(pid, 'SIGKILL');
      n++;
    } catch {
      /* gone */
    }
  }
  return n;
}
