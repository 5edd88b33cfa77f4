// Notifications on real parts: a real HTTP receiver on 127.0.0.1 that checks each request's HMAC,
// state changes driven through the API (runner finishes, validations, claims) with the test clock,
// retries with their back-off, and two database connections evaluating and delivering at once.
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from '@hono/zod-openapi';
import * as contract from '../../functions/src/contract/api.ts';
import { openDatabase } from '../../functions/src/db/libsql.ts';
import { nodes, notificationState } from '../../functions/src/db/schema.ts';
import { createSecretBox, type SecretBox } from '../../functions/src/lib/secrets.ts';
import {
  deliverNotifications,
  evaluateNotifications,
  pruneDeliveries,
  type NotificationPayload,
  RETRY_BACKOFF_MS,
} from '../../functions/src/services/notifications.ts';
import { eq } from 'drizzle-orm';
import { joinNode, makeJob, makeTarget, startControl, type TestControl } from '../helpers/control.ts';
import type { ApiErrorBody } from '../helpers/api.ts';

type Channel = z.infer<typeof contract.NotificationChannel>;
type Delivery = z.infer<typeof contract.NotificationDelivery>;

const HMAC_KEY = 'hmac-key-never-shown-7f3a';
const NTFY_TOKEN = 'tk_never_shown_91bc';
const T0 = Date.parse('2026-11-25T10:30:00Z');
const H = 3600_000;
const QUIET = { nodeSilentMs: 1000 * H }; // job and target tests: nodes never count as silent

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  sigOk: boolean | null;
}

/** A real webhook receiver; answers with `statuses` in turn (then 200). */
async function receiver() {
  const got: Received[] = [];
  const statuses: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const sig = req.headers['x-lifeboat-signature'];
      const want = `sha256=${createHmac('sha256', HMAC_KEY).update(body).digest('hex')}`;
      got.push({ path: req.url ?? '', headers: req.headers, body, sigOk: typeof sig === 'string' ? sig === want : null });
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { got, statuses, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let ctl: TestControl;
let node: { id: number; token: string };
let targetId: number;
let rx: Awaited<ReturnType<typeof receiver>>;
let secrets: SecretBox;

beforeEach(async () => {
  ctl = await startControl();
  ctl.clock.now = T0;
  node = await joinNode(ctl, 'n1', ['tank', 'tank/data']);
  targetId = (await makeTarget(ctl)).id;
  rx = await receiver();
  secrets = await createSecretBox('test-secret');
});
afterEach(async () => {
  ctl.close();
  await rx.close();
});

const evaluate = (opts = QUIET) => evaluateNotifications(ctl.db, ctl.clock.now!, opts);
const deliver = () => deliverNotifications(ctl.db, secrets, ctl.clock.now!);
const tick = async (opts = QUIET) => {
  await evaluate(opts);
  await deliver();
};

async function webhook(over: Record<string, unknown> = {}): Promise<Channel> {
  const r = await ctl.api<Channel, 'POST', string>('POST', '/notifications/channels', {
    name: 'hook',
    kind: 'webhook',
    url: `${rx.url}/hook`,
    secret: HMAC_KEY,
    ...over,
  });
  expect(r.status).toBe(201);
  return r.body;
}
const deliveries = async (q = '') =>
  (await ctl.api<{ items: Delivery[] }, 'GET', string>('GET', `/notifications/deliveries${q}`)).body.items;
const payloads = () => rx.got.map((g) => JSON.parse(g.body) as NotificationPayload);

/** Run Now, claim, let `ms` pass, then finish as a runner would (monitoring.test.ts). */
async function backup(jobId: number, status: 'success' | 'failed', ms = 90_000) {
  const run = await ctl.api('POST', `/jobs/${jobId}/run`);
  await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  ctl.clock.now! += ms;
  const fin = await ctl.node(node.token, `/runner/events/${run.body.eventId}/finish`, {
    status,
    result: status === 'success' ? { snapshot: `lb_j${jobId}_x`, generation: 1, bytesSent: 4096 } : null,
    error: status === 'failed' ? 'boom' : null,
  });
  expect(fin.status).toBe(200);
}

async function validate(status: 'success' | 'failed') {
  const v = await ctl.api('POST', `/targets/${targetId}/validate`, { nodeId: node.id });
  expect(v.status).toBe(202);
  await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  const fin = await ctl.node(
    node.token,
    `/runner/events/${v.body.eventId}/finish`,
    status === 'success'
      ? { status, result: { hostKey: '[backup.example.org]:22 ssh-ed25519 AAAAC3', fingerprint: 'SHA256:abc' } }
      : { status, error: 'host key mismatch', errorClass: 'host-key' },
  );
  expect(fin.status).toBe(200);
}

describe('rules', () => {
  it('a failing job notifies once when it starts failing and once when it recovers, signed, with the documented payload', async () => {
    await webhook();
    const job = await makeJob(ctl, targetId); // no schedule: no RPO, never overdue
    await tick(); // first observation: recorded, not notified
    expect(rx.got).toHaveLength(0);

    await backup(job.id, 'failed');
    const failedAt = ctl.clock.now!;
    await tick();
    ctl.clock.now! += 60_000;
    await backup(job.id, 'failed');
    await tick();
    expect(rx.got).toHaveLength(1);
    await backup(job.id, 'success');
    const okAt = ctl.clock.now!;
    await tick();
    await tick();

    expect(rx.got).toHaveLength(2);
    expect(rx.got.every((g) => g.sigOk === true && g.path === '/hook')).toBe(true);
    expect(rx.got.map((g) => g.headers['x-lifeboat-event'])).toEqual(['job.failing', 'job.recovered']);
    expect(rx.got[0].headers['content-type']).toBe('application/json');
    expect(payloads()).toEqual([
      {
        event: 'job.failing',
        subject: { kind: 'job', key: `job:${job.id}`, name: 'j1' },
        state: 'failing',
        previousState: 'ok',
        reason: 'the last backup failed',
        since: new Date(failedAt).toISOString(),
        at: new Date(failedAt).toISOString(),
      },
      {
        event: 'job.recovered',
        subject: { kind: 'job', key: `job:${job.id}`, name: 'j1' },
        state: 'ok',
        previousState: 'failing',
        reason: 'the last backup succeeded',
        since: new Date(okAt).toISOString(),
        at: new Date(okAt).toISOString(),
      },
    ]);
    const hist = await deliveries();
    expect(hist.map((d) => [d.event, d.status, d.attempts])).toEqual([
      ['job.recovered', 'sent', 1],
      ['job.failing', 'sent', 1],
    ]);
  });

  it('a job past its RPO is notified overdue, and ok again after a backup', async () => {
    await webhook();
    const job = await makeJob(ctl, targetId, { schedule: '0 * * * *' }); // RPO 2 h
    await tick();
    ctl.clock.now = T0 + 2 * H - 1;
    await tick();
    expect(rx.got).toHaveLength(0);
    ctl.clock.now = T0 + 2 * H + 1;
    await tick();
    await tick();
    expect(payloads().map((p) => [p.event, p.since])).toEqual([['job.overdue', new Date(T0 + 2 * H).toISOString()]]);
    await backup(job.id, 'success');
    await tick();
    expect(payloads().map((p) => [p.event, p.previousState])).toEqual([
      ['job.overdue', 'ok'],
      ['job.recovered', 'overdue'],
    ]);
  });

  it('a node silent longer than the setting, and back', async () => {
    await webhook();
    const opts = { nodeSilentMs: 10 * 60_000 };
    await tick(opts);
    ctl.clock.now = T0 + 10 * 60_000;
    await tick(opts);
    expect(rx.got).toHaveLength(0);
    ctl.clock.now = T0 + 10 * 60_000 + 1;
    await tick(opts);
    expect(payloads()).toEqual([
      expect.objectContaining({ event: 'node.silent', subject: { kind: 'node', key: `node:${node.id}`, name: 'n1' }, state: 'silent' }),
    ]);
    await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    await tick(opts);
    expect(payloads().map((p) => p.event)).toEqual(['node.silent', 'node.recovered']);
  });

  it('a target failing validation on a node, and ready again', async () => {
    await webhook();
    await validate('success');
    await tick();
    await validate('failed');
    await tick();
    await validate('success');
    await tick();
    expect(payloads().map((p) => [p.event, p.subject.key, p.reason])).toEqual([
      ['target.failed', `target:${targetId}:node:${node.id}`, 'validation failed: host key mismatch'],
      ['target.recovered', `target:${targetId}:node:${node.id}`, 'validation succeeded'],
    ]);
  });

  it('a disabled channel gets nothing; a first observation notifies nothing', async () => {
    const ch = await webhook();
    await ctl.api('PATCH', `/notifications/channels/${ch.id}`, { enabled: false });
    const job = await makeJob(ctl, targetId);
    await backup(job.id, 'failed'); // failing before the first evaluation: recorded, not notified
    await tick();
    await validate('failed');
    await tick();
    expect(rx.got).toHaveLength(0);
    expect(await deliveries()).toEqual([]);
  });
});

describe('delivery', () => {
  it('retries with back-off: 500, 500, then 200 is three attempts and one sent delivery', async () => {
    await webhook();
    const job = await makeJob(ctl, targetId);
    await tick();
    rx.statuses.push(500, 500);
    await backup(job.id, 'failed');
    const t1 = ctl.clock.now!;
    await tick();
    let [d] = await deliveries();
    expect(d).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'HTTP 500',
      nextAttemptAt: new Date(t1 + RETRY_BACKOFF_MS[0]).toISOString(),
    });
    ctl.clock.now = t1 + RETRY_BACKOFF_MS[0] - 1;
    expect(await deliver()).toBe(0);
    ctl.clock.now = t1 + RETRY_BACKOFF_MS[0];
    expect(await deliver()).toBe(1);
    const t2 = ctl.clock.now;
    [d] = await deliveries();
    expect(d).toMatchObject({ status: 'pending', attempts: 2, nextAttemptAt: new Date(t2 + RETRY_BACKOFF_MS[1]).toISOString() });
    ctl.clock.now = t2 + RETRY_BACKOFF_MS[1];
    expect(await deliver()).toBe(1);
    expect(await deliver()).toBe(0);
    [d] = await deliveries();
    expect(d).toMatchObject({ status: 'sent', attempts: 3, lastError: null, nextAttemptAt: null });
    expect(d.attemptLog).toEqual([
      { at: new Date(t1).toISOString(), ok: false, httpStatus: 500, error: 'HTTP 500' },
      { at: new Date(t2).toISOString(), ok: false, httpStatus: 500, error: 'HTTP 500' },
      { at: new Date(t2 + RETRY_BACKOFF_MS[1]).toISOString(), ok: true, httpStatus: 200, error: null },
    ]);
    expect(rx.got).toHaveLength(3);
    expect(new Set(rx.got.map((g) => g.body)).size).toBe(1); // the same payload each time
  });

  it('gives up after five attempts (1 min, 5 min, 30 min, 2 h apart); redirects are not followed', async () => {
    await webhook();
    const job = await makeJob(ctl, targetId);
    await tick();
    rx.statuses.push(500, 500, 500, 500, 302);
    await backup(job.id, 'failed');
    const t1 = ctl.clock.now!;
    await tick();
    let at = t1;
    for (const wait of RETRY_BACKOFF_MS) {
      at += wait;
      ctl.clock.now = at;
      expect(await deliver()).toBe(1);
    }
    ctl.clock.now = at + 10 * H;
    expect(await deliver()).toBe(0);
    const [d] = await deliveries();
    expect(d).toMatchObject({ status: 'failed', attempts: 5, lastError: 'a redirect (not followed)', nextAttemptAt: null });
    expect(d.attemptLog.map((a) => a.at)).toEqual([0, 1, 6, 36, 156].map((m) => new Date(t1 + m * 60_000).toISOString()));
    expect(rx.got).toHaveLength(5);
  });

  it('POST …/test sends now and answers with the result; a dead endpoint is a failed attempt', async () => {
    const ch = await webhook();
    const r = await ctl.api<Delivery, 'POST', string>('POST', `/notifications/channels/${ch.id}/test`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ event: 'test', status: 'sent', attempts: 1, attemptLog: [{ ok: true, httpStatus: 200 }] });
    expect(rx.got).toHaveLength(1);
    expect(rx.got[0].sigOk).toBe(true);

    const dead = await receiver();
    await dead.close();
    const ch2 = await webhook({ name: 'dead', url: dead.url, secret: undefined });
    const r2 = await ctl.api<Delivery, 'POST', string>('POST', `/notifications/channels/${ch2.id}/test`);
    expect(r2.body).toMatchObject({ status: 'failed', attempts: 1, attemptLog: [{ ok: false, httpStatus: null }] });
    expect(r2.body.lastError).toMatch(/^request failed/);
    expect((await ctl.api('POST', '/notifications/channels/999/test')).status).toBe(404);
  });

  it('ntfy: the message in the body, title and priority headers, the token as a bearer', async () => {
    const ch = await webhook({ name: 'phone', kind: 'ntfy', url: `${rx.url}/lifeboat-alerts`, secret: NTFY_TOKEN });
    const job = await makeJob(ctl, targetId);
    await tick();
    await backup(job.id, 'failed');
    await tick();
    expect(rx.got).toHaveLength(1);
    const g = rx.got[0];
    expect(g.path).toBe('/lifeboat-alerts');
    expect(g.headers).toMatchObject({
      title: 'Lifeboat: j1 is failing',
      priority: 'high',
      tags: 'warning',
      authorization: `Bearer ${NTFY_TOKEN}`,
    });
    expect(g.headers['x-lifeboat-signature']).toBeUndefined();
    expect(g.body).toMatch(/^the last backup failed \(since /);
    expect((await ctl.api<Delivery, 'POST', string>('POST', `/notifications/channels/${ch.id}/test`)).body.status).toBe('sent');
  });
});

describe('housekeeping', () => {
  it('finished deliveries older than the events retention are deleted; the state of a deleted job is forgotten', async () => {
    await webhook();
    const job = await makeJob(ctl, targetId);
    await tick();
    await backup(job.id, 'failed');
    await tick();
    expect(await deliveries()).toHaveLength(1);
    expect(await pruneDeliveries(ctl.db, ctl.clock.now! + 90 * 86_400_000, 90)).toBe(0);
    expect(await pruneDeliveries(ctl.db, ctl.clock.now! + 90 * 86_400_000 + 1, 90)).toBe(1);
    expect(await deliveries()).toEqual([]);

    const subjects = async () => (await ctl.db.select().from(notificationState)).map((r) => r.subject);
    expect(await subjects()).toContain(`job:${job.id}`);
    expect((await ctl.api('DELETE', `/jobs/${job.id}`)).status).toBe(200);
    await tick();
    expect(await subjects()).not.toContain(`job:${job.id}`);
    const again = await makeJob(ctl, targetId, { name: 'j2' });
    await backup(again.id, 'failed'); // a new subject is first seen failing: recorded, not notified
    await tick();
    expect(rx.got.map((g) => g.headers['x-lifeboat-event'])).toEqual(['job.failing']);
  });
});

describe('channels API', () => {
  it('secrets are write-only: no response carries them', async () => {
    const a = await webhook();
    const b = await webhook({ name: 'phone', kind: 'ntfy', secret: NTFY_TOKEN });
    expect(a).toMatchObject({ kind: 'webhook', hasSecret: true, enabled: true, url: `${rx.url}/hook` });
    const seen: unknown[] = [a, b];
    seen.push((await ctl.api('GET', '/notifications/channels')).body);
    seen.push((await ctl.api('PATCH', `/notifications/channels/${a.id}`, { name: 'renamed' })).body);
    seen.push((await ctl.api('POST', `/notifications/channels/${a.id}/test`)).body);
    seen.push((await ctl.api('POST', `/notifications/channels/${b.id}/test`)).body);
    seen.push(await deliveries());
    seen.push((await ctl.api('GET', '/openapi.json')).body);
    const text = JSON.stringify(seen);
    expect(text).not.toContain(HMAC_KEY);
    expect(text).not.toContain(NTFY_TOKEN);
    const cleared = await ctl.api<Channel, 'PATCH', string>('PATCH', `/notifications/channels/${a.id}`, { secret: null });
    expect(cleared.body).toMatchObject({ name: 'renamed', hasSecret: false });
    expect((await ctl.api('DELETE', `/notifications/channels/${a.id}`)).status).toBe(200);
    expect((await ctl.api('DELETE', `/notifications/channels/${a.id}`)).status).toBe(404);
    expect(await deliveries(`?channelId=${a.id}`)).toEqual([]);
    expect((await deliveries(`?channelId=${b.id}&limit=1`)).length).toBe(1);
  });

  it.each([
    [{ name: '' }, 'name'],
    [{ name: 'x'.repeat(101) }, 'name'],
    [{ kind: 'sms' }, 'kind'],
    [{ kind: 'email' }, 'email'],
    [{ url: 'ftp://example.org/x' }, 'url'],
    [{ url: 'not a url' }, 'url'],
    [{ url: 'https://user:pw@example.org/hook' }, 'url'],
    [{ enabled: 'yes' }, 'enabled'],
    [{ extra: 1 }, 'extra'],
  ])('400 names the field: %j', async (over, field) => {
    const r = await ctl.api<ApiErrorBody, 'POST', string>('POST', '/notifications/channels', {
      name: 'hook',
      kind: 'webhook',
      url: 'https://example.org/hook',
      ...over,
    });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body.error.fields)).toContain(field);
  });

  it('PATCH checks the URL too, and a missing channel is a 404', async () => {
    const ch = await webhook();
    const r = await ctl.api<ApiErrorBody, 'PATCH', string>('PATCH', `/notifications/channels/${ch.id}`, { url: 'file:///etc/passwd' });
    expect(r.status).toBe(400);
    expect(r.body.error.fields).toHaveProperty('url');
    expect((await ctl.api('PATCH', '/notifications/channels/999', { name: 'x' })).status).toBe(404);
  });
});

describe('two server processes on one database', () => {
  it('evaluating and delivering concurrently: exactly one delivery per change, each sent once', async () => {
    await webhook();
    const other = await openDatabase(`file:${join(ctl.dir, 'test.db')}`);
    try {
      const opts = { nodeSilentMs: 10 * 60_000 };
      await evaluateNotifications(ctl.db, T0, opts);
      const ROUNDS = 50;
      let at = T0;
      for (let i = 0; i < ROUNDS; i++) {
        // flip the node: silent (not seen for 11 min) or back (seen now)
        at += 11 * 60_000;
        if (i % 2 === 1) await ctl.db.update(nodes).set({ lastSeenAt: at }).where(eq(nodes.id, node.id));
        const counts = await Promise.all([evaluateNotifications(ctl.db, at, opts), evaluateNotifications(other.db, at, opts)]);
        expect(counts[0] + counts[1]).toBeLessThanOrEqual(1);
        const sent = await Promise.all([deliverNotifications(ctl.db, secrets, at), deliverNotifications(other.db, secrets, at)]);
        expect(sent[0] + sent[1]).toBe(1);
      }
      const hist = await deliveries('?limit=200');
      expect(hist).toHaveLength(ROUNDS);
      expect(hist.every((d) => d.status === 'sent' && d.attempts === 1)).toBe(true);
      expect(new Set(hist.map((d) => `${d.subject}:${(d.payload as { since: string }).since}`)).size).toBe(ROUNDS);
      expect(rx.got).toHaveLength(ROUNDS);
      expect(new Set(rx.got.map((g) => g.headers['x-lifeboat-delivery'])).size).toBe(ROUNDS);
      expect(payloads().map((p) => p.event)).toEqual(Array.from({ length: ROUNDS }, (_, i) => (i % 2 ? 'node.recovered' : 'node.silent')));
    } finally {
      other.close();
    }
  });
});
