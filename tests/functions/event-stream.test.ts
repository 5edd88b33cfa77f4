// GET /events/stream on both entries: the Node server (its in-process hint and the database's change
// cursor) and the Worker under workerd on D1 (the cursor alone). A fake node speaks the runner API,
// so a backup and a restore go through create, claim, progress and finish without ZFS; the stream
// must tell each change, resume after a reconnect with Last-Event-ID, and refuse callers without
// credentials like every API route. Restores are kept apart from a job's last backup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startControl, TEST_KEY } from '../helpers/control.ts';
import { joinFakeNode, runnerCall, startServer, type TestServer } from '../helpers/server.ts';
import { openSse, type SseMessage, type SseStream } from '../helpers/sse.ts';
import { startWorkerd, type TestWorkerd } from '../helpers/workerd.ts';
import { Teardown } from '../helpers/world.ts';
import { PROXY_HOST, startProxy } from '../helpers/nginx.ts';
import type { ApiCall } from '../helpers/api.ts';

interface Change {
  seq: number;
  id: number;
  kind: string;
  status: string;
  jobId: number | null;
  nodeId: number;
  phase: string | null;
  bytesDone: number;
  bytesTotal: number | null;
  rateBps: number | null;
  etaSeconds: number | null;
}
const changes = (m: SseMessage) => (m.event === 'change' ? (JSON.parse(m.data) as Change[]) : []);
const about = (id: number, f: (c: Change) => boolean) => (m: SseMessage) => changes(m).some((c) => c.id === id && f(c));

const teardown = new Teardown();
afterAll(() => teardown.run(), 60_000);

/** The same story against either entry. */
function story(name: string, start: () => Promise<{ url: string; admin: string; api: ApiCall }>) {
  describe(name, () => {
    let b: { url: string; admin: string; api: ApiCall };
    let node: { nodeId: number; nodeToken: string };
    let jobId: number;
    let backupId: number;
    let firstHello: SseMessage;
    const streamUrl = () => `${b.url}/api/v1/events/stream`;
    const open = (headers: Record<string, string> = {}) =>
      openSse(streamUrl(), { authorization: `Bearer ${b.admin}`, ...headers }).then((s) => (teardown.defer(() => s.close()), s));
    const runner = (path: string, body: unknown) => runnerCall(b, node.nodeToken, path, body);

    beforeAll(async () => {
      b = await start();
      node = await joinFakeNode(b, 'edge', {
        zfsVersion: 'zfs-2.2.4',
        pools: ['tank'],
        datasets: [{ name: 'tank' }, { name: 'tank/data' }],
        guests: [],
      });
      const target = await b.api('POST', '/targets', {
        name: 'offsite',
        sshHost: '192.0.2.10',
        sshPrivateKey: TEST_KEY,
        backupRoot: 'tank/backups',
      });
      const job = await b.api('POST', '/jobs', {
        name: 'data',
        targetId: target.body.id,
        nodeId: node.nodeId,
        mode: 'dataset',
        source: 'tank/data',
        schedule: '0 3 * * *',
        timezone: 'UTC',
      });
      expect(job.status, JSON.stringify(job.body)).toBe(201);
      jobId = job.body.id;
    }, 180_000);

    it('refuses a caller without credentials, and a bad Last-Event-ID by name', async () => {
      const none = await openSse(streamUrl(), {});
      expect(none.status).toBe(401);
      expect(JSON.parse(await none.text()).error.code).toBeTruthy();
      const bad = await openSse(streamUrl(), { authorization: 'Bearer lba_not_a_token' });
      expect(bad.status).toBe(401);
      await bad.text();
      const id = await open({ 'last-event-id': 'abc' });
      expect(id.status).toBe(400);
      expect(JSON.parse(await id.text()).error.fields).toEqual({ 'Last-Event-ID': 'must be a whole number' });
    });

    it('is an uncached event stream with the security headers', async () => {
      const s = await open();
      expect(s.status).toBe(200);
      expect(s.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(s.headers.get('cache-control')).toBe('no-store');
      expect(s.headers.get('x-content-type-options')).toBe('nosniff');
      expect(s.headers.get('content-security-policy')).toContain("default-src 'self'");
      const hello = await s.next((m) => m.event === 'hello', 'hello');
      expect(JSON.parse(hello.data)).toEqual({ cursor: Number(hello.id), reset: false });
      expect(hello.retry).toBeGreaterThan(0);
      s.close();
    });

    let s: SseStream;
    it('tells a backup’s creation, claim, progress and end', async () => {
      s = await open();
      firstHello = await s.next((m) => m.event === 'hello', 'hello');
      backupId = (await b.api('POST', `/jobs/${jobId}/run`)).body.eventId;
      const created = changes(
        await s.next(
          about(backupId, (c) => c.status === 'queued'),
          'the queued backup',
        ),
      ).find((c) => c.id === backupId)!;
      expect(created).toMatchObject({ kind: 'backup', jobId, nodeId: node.nodeId });
      await runner('/claim', { max: 1, waitMs: 0 });
      await s.next(
        about(backupId, (c) => c.status === 'running'),
        'the claimed backup',
      );
      await runner(`/events/${backupId}/progress`, {
        phase: 'transferring',
        bytesDone: 1_000_000,
        bytesTotal: 4_000_000,
        rateBps: 250_000,
        etaSeconds: 12,
      });
      const p = changes(
        await s.next(
          about(backupId, (c) => c.bytesDone === 1_000_000),
          'the progress',
        ),
      ).find((c) => c.id === backupId)!;
      expect(p).toMatchObject({ status: 'running', phase: 'transferring', bytesTotal: 4_000_000, rateBps: 250_000, etaSeconds: 12 });
      // the catalog a backup reads back: the restore below picks its snapshot from it
      await runner('/catalog', {
        eventId: backupId,
        datasets: [
          {
            dataset: `tank/backups/j${jobId}/g1/tank/data`,
            jobId,
            generation: 1,
            source: 'tank/data',
            guest: null,
            snapshots: [
              {
                name: 'lb_j1_20261201T000000Z',
                guid: '123456789',
                createtxg: '10',
                createdAt: new Date().toISOString(),
                usedBytes: 0,
                referencedBytes: 4_000_000,
                jobId,
                generation: 1,
              },
            ],
          },
        ],
      });
      await runner(`/events/${backupId}/finish`, { status: 'success', result: { generation: 1, snapshot: 'lb_j1_20261201T000000Z' } });
      const message = await s.next(
        about(backupId, (c) => c.status === 'success'),
        'the finished backup',
      );
      expect(Number(message.id)).toBeGreaterThan(Number(firstHello.id));
      const job = await b.api('GET', `/jobs/${jobId}`);
      expect(job.body.lastBackup).toMatchObject({ status: 'success', eventId: backupId });
      expect(job.body.lastBackup?.finishedAt).toBeTruthy();
      expect(job.body.lastRestore).toBeNull();
    });

    it('resumes from Last-Event-ID with each changed event once, in its latest state', async () => {
      const r = await open({ 'last-event-id': firstHello.id! });
      const hello = await r.next((m) => m.event === 'hello', 'hello');
      expect(JSON.parse(hello.data)).toEqual({ cursor: Number(firstHello.id), reset: false });
      const m = await r.next(
        about(backupId, () => true),
        'the missed changes',
      );
      const mine = changes(m).filter((c) => c.id === backupId);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ status: 'success', bytesDone: 1_000_000 });
      // an id from the future (a replaced database): the client is told to reload
      const future = await open({ 'last-event-id': String(Number(m.id) + 1000) });
      expect(JSON.parse((await future.next((x) => x.event === 'hello', 'hello')).data)).toMatchObject({ reset: true });
    });

    it('keeps a restore apart from the job’s last backup', async () => {
      const restore = await b.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot: 'lb_j1_20261201T000000Z' });
      expect(restore.status, JSON.stringify(restore.body)).toBe(202);
      const restoreId = restore.body.eventId;
      await s.next(
        about(restoreId, (c) => c.kind === 'restore' && c.status === 'queued'),
        'the queued restore',
      );
      await runner('/claim', { max: 1, waitMs: 0 });
      await runner(`/events/${restoreId}/finish`, { status: 'failed', error: 'the destination is busy', errorClass: 'busy' });
      await s.next(
        about(restoreId, (c) => c.status === 'failed'),
        'the failed restore',
      );
      const job = await b.api('GET', `/jobs/${jobId}`);
      expect(job.body.lastBackup).toMatchObject({ status: 'success', eventId: backupId });
      expect(job.body.lastRestore).toMatchObject({ status: 'failed', eventId: restoreId });
      expect(job.body.lastRestore?.finishedAt).toBeTruthy();
      const overview = await b.api('GET', '/overview');
      expect(overview.body.jobs.find((j) => j.id === jobId)?.lastBackup).toMatchObject({ status: 'success', eventId: backupId });
      s.close();
    });
  });
}

// In process with a short clock (functions/src/lib/http.ts EventStreamTimes): what a stream does over its life.
describe('a stream’s life', () => {
  const times = { checkMs: 50, heartbeatMs: 200, lifetimeMs: 1_500 };

  it('sends heartbeats and ends after its lifetime, for the browser to reconnect', async () => {
    const ctl = await startControl({}, { eventStream: times });
    teardown.defer(() => ctl.close());
    const s = await openSse('http://localhost/api/v1/events/stream', { authorization: `Bearer ${ADMIN}` }, (u, i) => ctl.app.request(u, i));
    teardown.defer(() => s.close());
    await s.next((m) => m.event === 'comment', 'a heartbeat');
    await expect(s.next(() => false, 'the end')).rejects.toThrow(/the stream ended/);
  });

  it('ends when its session is signed out', async () => {
    // a lifetime longer than the test: only the credentials' check can end it
    const ctl = await startControl({}, { eventStream: { ...times, lifetimeMs: 3_600_000 } });
    teardown.defer(() => ctl.close());
    expect((await ctl.api('POST', '/auth/password', { password: 'a long enough password' })).status).toBe(200);
    const login = await ctl.app.request('http://localhost/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
      body: JSON.stringify({ password: 'a long enough password' }),
    });
    expect(login.status).toBe(200);
    const cookie = /lifeboat_session=[^;]*/.exec(login.headers.get('set-cookie') ?? '')![0];
    const s = await openSse('http://localhost/api/v1/events/stream', { cookie }, (u, i) => ctl.app.request(u, i));
    teardown.defer(() => s.close());
    expect(s.status).toBe(200);
    await s.next((m) => m.event === 'hello', 'hello');
    const out = await ctl.app.request('http://localhost/api/v1/auth/logout', {
      method: 'POST',
      headers: { cookie, 'sec-fetch-site': 'same-origin', 'x-csrf-token': (await login.json()).csrfToken },
    });
    expect(out.status).toBeLessThan(300);
    await expect(s.next(() => false, 'the end')).rejects.toThrow(/the stream ended/);
    // and the browser's reconnect is refused: the page falls back to polling, which signs it out
    expect((await openSse('http://localhost/api/v1/events/stream', { cookie }, (u, i) => ctl.app.request(u, i))).status).toBe(401);
  });
});

describe('when the Node entry stops', () => {
  it('ends its open streams cleanly instead of being held by them', async () => {
    const srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0' }));
    const s = await openSse(`${srv.url}/api/v1/events/stream`, { authorization: `Bearer ${srv.admin}` });
    teardown.defer(() => s.close());
    await s.next((m) => m.event === 'hello', 'hello');
    srv.proc.kill('SIGTERM');
    // a clean end of the body (the browser reconnects), not a connection cut when the process exits
    await expect(s.next(() => false, 'the end')).rejects.toThrow(/the stream ended/);
    if (srv.proc.exitCode === null) await new Promise((r) => srv.proc.once('exit', r));
    expect(srv.proc.exitCode).toBe(0);
  });
});

// packaging/nginx/lifeboat.conf in front (tests/helpers/nginx.ts): the stream's first message comes
// through while the stream is still open (not held in nginx's buffers until it ends).
describe('behind the nginx example', () => {
  it('passes the stream through as it comes', async () => {
    const srv = teardown.own(
      await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_TRUST_PROXY: '1', LIFEBOAT_PUBLIC_URL: `https://${PROXY_HOST}` }),
    );
    const proxy = teardown.own(await startProxy(Number(new URL(srv.url).port)));
    const r = await proxy.readUntil('/events/stream', /event: hello\n/, { authorization: `Bearer ${srv.admin}` });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(r.text).toMatch(/^event: hello\ndata: \{"cursor":\d+,"reset":false\}\nid: \d+\nretry: 1000\n/);
  });
});

story('on the Node entry', async () => {
  const srv: TestServer = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0' }));
  return srv;
});

story('on the Worker (workerd + D1)', async () => {
  const w: TestWorkerd = teardown.own(await startWorkerd());
  return w;
});
