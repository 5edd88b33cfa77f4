// A real control plane for tests: createApp over a fresh libSQL file DB in a temp dir.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../functions/src/app.ts';
import { configFromEnv, type AppConfig } from '../../functions/src/config.ts';
import { openDatabase } from '../../functions/src/db/libsql.ts';
import { createSecretBox } from '../../functions/src/lib/secrets.ts';
import { createPasswordHasher } from '../../functions/src/lib/password.ts';
import type { AppDeps } from '../../functions/src/lib/http.ts';
import { sha256Hex } from '../../functions/src/lib/tokens.ts';
import { createWaker } from '../../functions/src/waker.ts';
import type { ApiResponse, BodyOf } from './api.ts';

export const ADMIN = 'lba_test_admin_token';

export interface TestControl {
  app: ReturnType<typeof createApp>;
  db: Awaited<ReturnType<typeof openDatabase>>['db'];
  dir: string;
  clock: { now: number | null };
  /** The admin's call; `api<T>(...)` says what the body is, else it is the route's success body (helpers/api.ts). */
  api: <T = never, M extends string = string, P extends string = string>(
    method: M,
    path: P,
    body?: unknown,
    headers?: Record<string, string>,
  ) => Promise<ApiResponse<BodyOf<T, M, P>>>;
  /** A runner's call (POST) with a node token. */
  node: <T = never, P extends string = string>(token: string, path: P, body?: unknown) => Promise<ApiResponse<BodyOf<T, 'POST', P>>>;
  close: () => void;
}

export async function startControl(overrides: Partial<AppConfig> = {}, deps: Partial<AppDeps> = {}): Promise<TestControl> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-ctl-'));
  const { db, close, statements } = await openDatabase(`file:${join(dir, 'test.db')}`);
  const clock = { now: null as number | null };
  const config = { ...configFromEnv({}), claimWaitMs: 300, claimRecheckMs: 20, ...overrides };
  const app = createApp(
    {
      db,
      config,
      adminTokenHash: await sha256Hex(ADMIN),
      secrets: await createSecretBox('test-secret'),
      waker: createWaker(),
      now: () => clock.now ?? Date.now(),
      // Same scrypt, lower work factor: sign-in tests stay fast (verification reads the cost from the hash).
      passwords: createPasswordHasher(undefined, { logN: 10, r: 8, p: 1 }),
      dbStatements: statements,
      ...deps,
    },
    { log: () => {} },
  );
  const call = async <B>(method: string, path: string, body: unknown, headers: Record<string, string>): Promise<ApiResponse<B>> => {
    const res = await app.request(`/api/v1${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* text */
    }
    return { status: res.status, body: parsed as B };
  };
  return {
    app,
    db,
    dir,
    clock,
    api: <T, M extends string, P extends string>(method: M, path: P, body?: unknown, headers: Record<string, string> = {}) =>
      call<BodyOf<T, M, P>>(method, path, body, { authorization: `Bearer ${ADMIN}`, ...headers }),
    node: <T, P extends string>(token: string, path: P, body: unknown = {}) =>
      call<BodyOf<T, 'POST', P>>('POST', path, body, { authorization: `Bearer ${token}` }),
    close: () => {
      close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const TEST_KEY =
  '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';

/** Join a node through a join token and report an inventory with the given datasets. */
export async function joinNode(ctl: TestControl, name: string, datasets: string[] = ['tank', 'tank/data'], guests: unknown[] = []) {
  const jt = await ctl.api('POST', '/nodes/join-tokens');
  const joined = await ctl.node('', '/runner/join', { joinToken: jt.body.token, name });
  if (joined.status !== 201) throw new Error(`join failed: ${JSON.stringify(joined.body)}`);
  const token = joined.body.nodeToken as string;
  const inv = await ctl.node(token, '/runner/inventory', {
    zfsVersion: 'zfs-2.2.4',
    capabilities: { resumableRecv: true },
    pools: ['tank'],
    datasets: datasets.map((d) => ({ name: d })),
    guests,
  });
  if (inv.status !== 200) throw new Error(`inventory failed: ${JSON.stringify(inv.body)}`);
  return { id: joined.body.nodeId as number, token };
}

export async function makeTarget(ctl: TestControl, over: Record<string, unknown> = {}) {
  const r = await ctl.api('POST', '/targets', {
    name: 't1',
    sshHost: 'backup.example.org',
    sshPrivateKey: TEST_KEY,
    backupRoot: 'backup/lifeboat',
    ...over,
  });
  if (r.status !== 201) throw new Error(`target failed: ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function makeJob(ctl: TestControl, targetId: number, over: Record<string, unknown> = {}) {
  const r = await ctl.api('POST', '/jobs', { name: 'j1', targetId, mode: 'dataset', source: 'tank/data', ...over });
  if (r.status !== 201) throw new Error(`job failed: ${JSON.stringify(r.body)}`);
  return r.body;
}
