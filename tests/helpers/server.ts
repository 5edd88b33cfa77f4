// The real Node entry as a child process (server + UI + local runner), on a free port and a temp data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiCall, LbEvent } from './api.ts';
import { adminApi, eventWaiter, poll } from './client.ts';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface TestServer {
  url: string;
  admin: string;
  dataDir: string;
  proc: ChildProcess;
  output: () => string;
  api: ApiCall;
  waitFor: <T>(what: string, f: () => Promise<T | null | undefined | false>, ms?: number) => Promise<T>;
  waitEvent: (id: number, ms?: number) => Promise<LbEvent>;
  stop: () => Promise<number | null>;
}

const ROOT = new URL('../../', import.meta.url).pathname;

/** `bundle`: start functions/dist/lifeboat-server.mjs with a plain node, as production does (npm run build:js first). */
export async function startServer(env: Record<string, string> = {}, opts: { bundle?: boolean } = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'lifeboat-e2e-'));
  const port = await freePort();
  // LIFEBOAT_ADMIN_TOKEN: '' → the server generates the token into the data dir; it is read from there.
  let admin = 'lba_e2e_' + Math.random().toString(36).slice(2);
  let out = '';
  const entry = opts.bundle ? [join(ROOT, 'functions/dist/lifeboat-server.mjs')] : ['--import', 'tsx', join(ROOT, 'functions/src/node.ts')];
  const proc = spawn(process.execPath, entry, {
    cwd: ROOT,
    env: {
      ...process.env,
      LIFEBOAT_CONFIG: '', // no /etc/lifeboat/server.conf of the machine running the tests (a test may name one)
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
  const url = `http://127.0.0.1:${port}`;
  const api = adminApi(url, () => admin);
  const waitFor = <T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 60_000) =>
    poll(what, f, {
      ms,
      gone: () => (proc.exitCode !== null ? `server exited (${proc.exitCode})` : null),
      context: () => `--- server output ---\n${out.slice(-4000)}`,
    });
  await waitFor('health', async () => (await fetch(`${url}/api/v1/health`)).ok, 30_000);
  if (env.LIFEBOAT_ADMIN_TOKEN === '') admin = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  return {
    url,
    admin,
    dataDir,
    proc,
    output: () => out,
    api,
    waitFor,
    waitEvent: eventWaiter(api, waitFor),
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            proc.kill('SIGKILL');
            r(null);
          }, 15_000);
          proc.once('exit', () => {
            clearTimeout(t);
            r(null);
          });
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
      return proc.exitCode;
    },
  };
}

export interface TestRunner {
  proc: ChildProcess;
  stateDir: string;
  output: () => string;
  stop: () => Promise<void>;
}

/** Another node: a lifeboat-runner process joined with a fresh join token, limited to `pools`. */
export async function startRunner(
  srv: Pick<TestServer, 'url' | 'api'>,
  name: string,
  pools: string[],
  env: Record<string, string> = {},
): Promise<TestRunner> {
  const stateDir = mkdtempSync(join(tmpdir(), 'lifeboat-runner-'));
  const jt = await srv.api('POST', '/nodes/join-tokens');
  let out = '';
  const proc = spawn(
    process.execPath,
    [
      join(ROOT, 'node-runner/bin/lifeboat-runner.mjs'),
      '--server',
      srv.url,
      '--state-dir',
      stateDir,
      '--name',
      name,
      '--pools',
      pools.join(','),
    ],
    {
      cwd: ROOT,
      // LIFEBOAT_CONFIG empty: no /etc/lifeboat/runner.conf of the machine running the tests
      env: { ...process.env, LIFEBOAT_CONFIG: '', LIFEBOAT_JOIN_TOKEN: jt.body.token, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  return {
    proc,
    stateDir,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            proc.kill('SIGKILL');
            r(null);
          }, 15_000);
          proc.once('exit', () => {
            clearTimeout(t);
            r(null);
          });
        });
      }
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** A call to the runner API as a node would make it (`token`: its node token; '' to join); answers under 300 only. */
export async function runnerCall(
  srv: Pick<TestServer, 'url'>,
  token: string,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${srv.url}/api/v1/runner${path}`, {
    method: 'POST',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`runner ${path}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** A node without a runner process: the test joins it and reports `inventory` for it. */
export async function joinFakeNode(srv: Pick<TestServer, 'url' | 'api'>, name: string, inventory: Record<string, unknown>) {
  const jt = await srv.api('POST', '/nodes/join-tokens');
  const { nodeId, nodeToken } = (await runnerCall(srv, '', '/join', { joinToken: jt.body.token, name })) as {
    nodeId: number;
    nodeToken: string;
  };
  await runnerCall(srv, nodeToken, '/inventory', inventory);
  return { nodeId, nodeToken };
}
