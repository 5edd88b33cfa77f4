// Secrets never leak: a full backup-and-restore through the real system (Node entry + local runner,
// a second runner, zfs-fuse pools, a real sshd) while recording every API response body and every
// log line (server and runners, stdout and stderr). The SSH private key, the admin password and every
// token (admin, node, join, webhook, API, session cookie) appear in none of them — except the one
// response that deliberately shows a new token once — nor in the database files.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRunner, startServer, type TestRunner, type TestServer } from '../helpers/server.ts';
import type { TestSshd } from '../helpers/sshd.ts';
import type { BodyOf } from '../helpers/api.ts';
import { loopbackTarget, startWorld, Teardown } from '../helpers/world.ts';
import { writeRandom, zfs, type TestPool } from '../helpers/zfs.ts';

const PASSWORD = 'e2e admin password ' + Math.random().toString(36).slice(2);
let srv: TestServer;
let second: TestRunner | null = null;
let sshd: TestSshd;
let src: TestPool;
let other: TestPool;
let tgt: TestPool;

interface Recorded {
  method: string;
  path: string;
  status: number;
  text: string;
}
const responses: Recorded[] = [];

/** Every API call of this test goes through here and is recorded; the body typed by the route, or by `call<T>(...)` (helpers/api.ts). */
async function call<T = never, M extends string = string, P extends string = string>(
  method: M,
  path: P,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${srv.url}/api/v1${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  responses.push({ method, path, status: res.status, text });
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* text (metrics) */
  }
  return { status: res.status, body: json as BodyOf<T, M, P>, headers: res.headers };
}

const teardown = new Teardown();
beforeAll(async () => {
  ({
    pools: { src, other, tgt },
    sshd,
  } = await startWorld(teardown, {
    src: { prefix: 'lbss', mounted: true },
    other: { prefix: 'lbso', mounted: true },
    tgt: { prefix: 'lbst', mounted: false, sizeMiB: 256 },
  }));
  await zfs('create', `${src.name}/app`);
  await writeRandom(join(src.mountpoint!, 'app', 'bulk'), 1 << 20);
  // The admin token is generated into the data dir (the server must not print it) and the first
  // password comes from the environment.
  srv = teardown.own(
    await startServer({
      LIFEBOAT_ADMIN_TOKEN: '',
      LIFEBOAT_ADMIN_PASSWORD: PASSWORD,
      LIFEBOAT_RUNNER_POOLS: src.name,
      LIFEBOAT_RUNNER_INVENTORY_MS: '2000',
      // every line the server and its runner can write goes into the log the secrets are looked for in
      LIFEBOAT_LOG_LEVEL: 'debug',
      LIFEBOAT_ACCESS_LOG: 'all',
    }),
  );
  // startRunner asks for its join token through srv.api: record that too.
  srv.api = async <T, M extends string, P extends string>(method: M, path: P, body?: unknown) => {
    const r = await call<T, M, P>(method, path, body, { authorization: `Bearer ${srv.admin}` });
    return { status: r.status, body: r.body };
  };
  teardown.defer(() => second?.stop()); // started by the test
}, 240_000);

afterAll(() => teardown.run(), 120_000);

describe('secrets stay secret through a full backup and restore', () => {
  it('no key material or token in any response body, log line or database file', async () => {
    const adminAuth = { authorization: `Bearer ${srv.admin}` };
    const waitEvent = (id: number) =>
      srv.waitFor(
        `event ${id}`,
        async () => {
          const e = (await call('GET', `/events/${id}`, undefined, adminAuth)).body;
          return e && !['queued', 'running'].includes(e.status) ? e : null;
        },
        120_000,
      );

    // Sign in with the password (session cookie + CSRF token), and make an API token.
    const login = await call('POST', '/auth/login', { password: PASSWORD });
    expect(login.status).toBe(200);
    const cookie = /lifeboat_session=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')![1];
    // what a browser sends with each write: the cookie, the CSRF token and its Origin (README, Signing in)
    const session = { cookie: `lifeboat_session=${cookie}`, 'x-csrf-token': login.body.csrfToken!, origin: srv.url };
    const tok = await call('POST', '/auth/tokens', { name: 'automation', scope: 'admin' }, session);
    expect(tok.status).toBe(201);
    const apiToken = tok.body.token as string;
    const byToken = { authorization: `Bearer ${apiToken}` };

    const node1 = await srv.waitFor(
      'the local node',
      async () => (await call('GET', '/nodes', undefined, adminAuth)).body.items.find((n) => n.inventoryAt)?.id,
    );
    const t = await call('POST', '/targets', loopbackTarget({ sshd, tgt }), byToken);
    expect(t.status).toBe(201);
    const v = await call('POST', `/targets/${t.body.id}/validate`, { nodeId: node1 }, session);
    expect((await waitEvent(v.body.eventId)).status).toBe('success');
    const fingerprint = (await call('GET', `/targets/${t.body.id}`, undefined, session)).body.pendingHostKeyFingerprint;
    expect((await call('POST', `/targets/${t.body.id}/host-key/confirm`, { fingerprint }, session)).status).toBe(200);
    const job = await call(
      'POST',
      '/jobs',
      { name: 'app', targetId: t.body.id, nodeId: node1, mode: 'dataset', source: `${src.name}/app` },
      session,
    );
    expect(job.status).toBe(201);

    // Backup 1 through the webhook, backup 2 through Run Now, then restore the first in place.
    const hook = await call('POST', `/jobs/${job.body.id}/webhook-token`, undefined, byToken);
    const webhookToken = hook.body.token as string;
    writeFileSync(join(src.mountpoint!, 'app', 'version.txt'), 'one');
    const run1 = await call('POST', `/hooks/jobs/${job.body.id}/run`, undefined, { authorization: `Bearer ${webhookToken}` });
    expect(run1.status).toBe(202);
    const e1 = await waitEvent(run1.body.eventId);
    expect(e1.status, e1.error).toBe('success');
    await new Promise((r) => setTimeout(r, 1100));
    writeFileSync(join(src.mountpoint!, 'app', 'version.txt'), 'two');
    const run2 = await call('POST', `/jobs/${job.body.id}/run`, undefined, session);
    expect((await waitEvent(run2.body.eventId)).status).toBe('success');
    const restore = await call('POST', `/jobs/${job.body.id}/restore`, { generation: 1, snapshot: e1.snapshot }, byToken);
    expect(restore.status).toBe(202);
    const er = await waitEvent(restore.body.eventId);
    expect(er.status, er.error).toBe('success');
    expect(readFileSync(join(src.mountpoint!, 'app', 'version.txt'), 'utf8')).toBe('one');

    // A second node joins with a join token (shown once), is revoked, and its runner is refused and stops.
    second = await startRunner(srv, 'second', [other.name], { LIFEBOAT_RUNNER_INVENTORY_MS: '2000', LIFEBOAT_LOG_LEVEL: 'debug' });
    const joinResp = responses.find((r) => r.path === '/nodes/join-tokens')!;
    const joinToken = JSON.parse(joinResp.text).token as string;
    const node2 = await srv.waitFor(
      'the second node',
      async () => (await call('GET', '/nodes', undefined, adminAuth)).body.items.find((n) => n.name === 'second' && n.inventoryAt)?.id,
    );
    const revoked = await call('POST', `/nodes/${node2}/revoke`, undefined, session);
    expect(revoked.body.revoked).toBe(true);
    await srv.waitFor('the revoked runner to stop', async () => second!.proc.exitCode !== null || second!.proc.signalCode !== null, 30_000);
    expect(second.proc.exitCode).not.toBe(0);
    expect(second.output()).toMatch(/401|revoked/);

    // Read everything an operator or the UI can read.
    const events = (await call('GET', '/events?limit=200', undefined, adminAuth)).body.items;
    for (const e of events) {
      await call('GET', `/events/${e.id}`, undefined, session);
      const log = await call('GET', `/events/${e.id}/log`, undefined, byToken);
      expect(log.status).toBe(200);
    }
    for (const p of [
      '/targets',
      `/targets/${t.body.id}`,
      `/targets/${t.body.id}/datasets`,
      '/jobs',
      `/jobs/${job.body.id}`,
      `/jobs/${job.body.id}/generations`,
      '/nodes',
      `/nodes/${node1}`,
      '/auth/tokens',
      '/auth/session',
      '/metrics',
      '/openapi.json',
    ]) {
      expect((await call('GET', p, undefined, session)).status, p).toBe(200);
    }
    await call('POST', '/auth/logout', undefined, session);

    // The secrets.
    const nodeToken1 = JSON.parse(readFileSync(join(srv.dataDir, 'runner', 'node.json'), 'utf8')).nodeToken as string;
    const nodeToken2 = JSON.parse(readFileSync(join(second.stateDir, 'node.json'), 'utf8')).nodeToken as string;
    const keyLines = sshd.clientKey.split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'));
    expect(keyLines.length).toBeGreaterThan(2);
    const secrets: Record<string, string> = {
      adminToken: srv.admin,
      password: PASSWORD,
      sessionCookie: cookie,
      apiToken,
      webhookToken,
      joinToken,
      nodeToken1,
      nodeToken2,
      ...Object.fromEntries(keyLines.map((l, i) => [`privateKeyLine${i}`, l])),
    };
    for (const [name, value] of Object.entries(secrets)) expect(value.length, name).toBeGreaterThanOrEqual(16);
    // Shown once, on purpose: the answer that created the token.
    const shownOnce: Record<string, string> = {
      apiToken: 'POST /auth/tokens',
      webhookToken: `POST /jobs/${job.body.id}/webhook-token`,
      joinToken: 'POST /nodes/join-tokens',
    };

    const logs = { server: srv.output(), secondRunner: second.output() };
    expect(logs.server).toMatch(/^\S+Z INFO {2}runner /m); // the local runner's output is in there
    expect(logs.server).toContain('admin API token created in');
    expect(responses.length).toBeGreaterThan(40);
    const leaks: string[] = [];
    for (const [name, value] of Object.entries(secrets)) {
      const hits = responses.filter((r) => r.text.includes(value)).map((r) => `${r.method} ${r.path}`);
      const allowed = shownOnce[name];
      if (allowed ? hits.length !== 1 || hits[0] !== allowed : hits.length) leaks.push(`${name} in responses: ${hits.join(', ')}`);
      for (const [logName, text] of Object.entries(logs)) if (text.includes(value)) leaks.push(`${name} in ${logName} log`);
    }
    // At rest: the database (and its WAL) holds only hashes and the sealed key.
    const dbFiles = readdirSync(srv.dataDir).filter((f) => f.startsWith('lifeboat.db'));
    expect(dbFiles).toContain('lifeboat.db');
    for (const f of dbFiles) {
      const bytes = readFileSync(join(srv.dataDir, f)).toString('latin1');
      for (const [name, value] of Object.entries(secrets)) if (bytes.includes(value)) leaks.push(`${name} in ${f}`);
    }
    expect(leaks).toEqual([]);
  }, 420_000);
});
