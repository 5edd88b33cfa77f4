// The same app under workerd (miniflare) with a D1 binding and the same migrations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TEST_KEY } from '../helpers/control.ts';
import { startWorkerd, type TestWorkerd } from '../helpers/workerd.ts';
import type { DurableObjectNamespace } from '../../functions/src/worker-waker.ts';
import type { ApiErrorBody, ApiResponse, ApiTokenCreated, BodyOf } from '../helpers/api.ts';

let w: TestWorkerd;

// The Worker bundle on a local D1 (tests/helpers/workerd.ts), with a first admin password to sign in with.
beforeAll(async () => {
  w = await startWorkerd({ LIFEBOAT_ADMIN_PASSWORD: 'worker admin password' });
}, 120_000);

afterAll(() => w?.stop());

/** An API call through workerd; its body typed by the route, or by `call<T>(...)` (helpers/api.ts). */
async function call<T = never, M extends string = string, P extends string = string>(
  method: M,
  path: P,
  body?: unknown,
  token = w.admin,
): Promise<ApiResponse<BodyOf<T, M, P>>> {
  const res = await w.mf.dispatchFetch(`${w.url}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as BodyOf<T, M, P> };
}

/** A target on D1, its id. */
async function targetNamed(name: string): Promise<number> {
  return (await call('POST', '/targets', { name, sshHost: 'b.example.org', sshPrivateKey: TEST_KEY, backupRoot: 'b/lb' })).body.id;
}

/** A joined node with a dataset `tank/d` and one job of it on `schedule` (UTC). */
async function nodeWithJob(targetId: number, name: string, schedule: string) {
  const jt = await call('POST', '/nodes/join-tokens');
  const n = (await call('POST', '/runner/join', { joinToken: jt.body.token, name }, '')).body;
  await call('POST', '/runner/inventory', { zfsVersion: 'zfs-2.2', datasets: [{ name: 'tank' }, { name: 'tank/d' }] }, n.nodeToken);
  const job = await call('POST', '/jobs', {
    name: `${name}-job`,
    targetId,
    nodeId: n.nodeId,
    mode: 'dataset',
    source: 'tank/d',
    schedule,
    timezone: 'UTC',
  });
  return { nodeId: n.nodeId, nodeToken: n.nodeToken, jobId: job.body.id };
}

describe('workerd + D1', () => {
  it('creates a target and a job, runs it and lists events', async () => {
    const target = await call('POST', '/targets', {
      name: 'offsite',
      sshHost: 'backup.example.org',
      sshPrivateKey: TEST_KEY,
      backupRoot: 'backup/lb',
    });
    expect(target.status).toBe(201);
    expect(JSON.stringify(target.body)).not.toContain('PRIVATE KEY');
    const jt = await call('POST', '/nodes/join-tokens');
    const node = await call('POST', '/runner/join', { joinToken: jt.body.token, name: 'edge-node' }, '');
    expect(node.status).toBe(201);
    expect(
      (
        await call(
          'POST',
          '/runner/inventory',
          { zfsVersion: 'zfs-2.2', datasets: [{ name: 'tank' }, { name: 'tank/data' }] },
          node.body.nodeToken,
        )
      ).status,
    ).toBe(200);
    const bad = await call<ApiErrorBody>('POST', '/jobs', {
      name: 'nightly',
      targetId: target.body.id,
      mode: 'dataset',
      source: 'tank/data',
      schedule: '0 0 31 2 *',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.schedule).toBeTruthy();
    const job = await call('POST', '/jobs', {
      name: 'nightly',
      targetId: target.body.id,
      mode: 'dataset',
      source: 'tank/data',
      schedule: '0 3 * * *',
      timezone: 'Europe/Berlin',
    });
    expect(job.status).toBe(201);
    expect(job.body.nextRunAt).toMatch(/T0[12]:00:00.000Z$/);
    expect(job.body.sendDecrypted).toBe(false); // the column of migration 0002, on D1
    const run = await call('POST', `/jobs/${job.body.id}/run`);
    expect(run.status).toBe(202);
    const busy = await call<ApiErrorBody>('POST', `/jobs/${job.body.id}/run`);
    expect(busy.status).toBe(409);
    expect(busy.body.activeEventId).toBe(run.body.eventId);
    const claim = await call('POST', '/runner/claim', { max: 1, waitMs: 0 }, node.body.nodeToken);
    expect(claim.body.events.map((e) => e.id)).toEqual([run.body.eventId]);
    expect(claim.body.events[0]).toMatchObject({ job: { sendDecrypted: false }, catalogDatasets: [] });
    const list = await call('GET', `/events?jobId=${job.body.id}`);
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({ id: run.body.eventId, kind: 'backup', status: 'running', jobName: 'nightly' }),
    ]);
    // Finish (its bytesTotal is computed in SQL) on D1.
    await call(
      'POST',
      `/runner/events/${run.body.eventId}/progress`,
      { phase: 'transferring', bytesDone: 300, bytesTotal: 200 },
      node.body.nodeToken,
    );
    expect(
      (await call('POST', `/runner/events/${run.body.eventId}/finish`, { status: 'failed', error: 'x' }, node.body.nodeToken)).status,
    ).toBe(200);
    expect((await call('GET', `/events/${run.body.eventId}`)).body).toMatchObject({ status: 'failed', bytesDone: 300, bytesTotal: 300 });
    // the Overview on D1: health counted in SQL, the listed job read by a JSON list of ids, the
    // failure found (twice: whole, then from the ids kept), the change cursor the stream counts
    for (let i = 0; i < 2; i++) {
      const o = (await call('GET', '/overview?jobs=1')).body as BodyOf<never, 'GET', '/overview'>;
      expect(o.jobs.map((j) => [j.name, j.health.state])).toEqual([['nightly', 'failing']]);
      expect([o.jobsTotal, o.health.failing, o.failures24h]).toEqual([1, 1, [{ kind: 'backup', status: 'failed', count: 1 }]]);
      expect(o.changeCursor).toBeGreaterThan(0);
    }
    // a scheduled run that is due is created by the node's claim: the guarded INSERT … SELECT and
    // the nextRunAt advance in one batch, on D1
    await w.sql([`UPDATE jobs SET next_run_at = 1 WHERE id = ${job.body.id}`]);
    const scheduled = await call('POST', '/runner/claim', { max: 1, waitMs: 0 }, node.body.nodeToken);
    expect(scheduled.status, JSON.stringify(scheduled.body)).toBe(200);
    expect(scheduled.body.events).toEqual([expect.objectContaining({ kind: 'backup', trigger: 'catch-up' })]);
    expect(Date.parse((await call('GET', `/jobs/${job.body.id}`)).body.nextRunAt!)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('makes an ed25519 key pair with WebCrypto on workerd (never returned); a confirmation pins the host key on D1', async () => {
    const FP = 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
    const t = await call('POST', '/targets', {
      name: 'keyed',
      sshHost: 'k.example.org',
      generateKeyPair: true,
      backupRoot: 'b/k',
      validate: true,
    });
    expect(t.status, JSON.stringify(t.body)).toBe(201);
    expect(t.body.authorizedKeysLine).toMatch(/^restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\S+ lifeboat-keyed$/);
    expect(JSON.stringify(t.body)).not.toMatch(/PRIVATE KEY/);
    expect(t.body.validationEventIds.length).toBeGreaterThan(0); // one a live node (joined by the tests above)
    const pin = await call<ApiErrorBody>('POST', `/targets/${t.body.id}/host-key/confirm`, { fingerprint: FP });
    expect(pin.status).toBe(409); // nothing seen yet
  });

  it('signs in with the password (scrypt in pure JS on workerd), cookie + CSRF writes, API tokens', async () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      w.mf.dispatchFetch(`${w.url}/api/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const bad = await post('/auth/login', { password: 'nope' }, { 'cf-connecting-ip': '192.0.2.1' });
    expect(bad.status).toBe(401);
    const res = await post('/auth/login', { password: 'worker admin password' }, { 'cf-connecting-ip': '192.0.2.1' });
    expect(res.status).toBe(200);
    const { csrfToken } = (await res.json()) as { csrfToken: string }; // a session's (SessionInfo)
    const cookie = /lifeboat_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')![0];
    const list = await w.mf.dispatchFetch(`${w.url}/api/v1/targets`, { headers: { cookie } });
    expect(list.status).toBe(200);
    // the Node entry's security headers, here too (no UI page: scripts from the server only)
    expect(list.headers.get('content-security-policy')).toMatch(/script-src 'self'; .*frame-ancestors 'none'/);
    expect(list.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await post('/auth/tokens', { name: 'ci' }, { cookie })).status).toBe(403);
    // a form another site posts with the cookie (and even the token): refused by hono/csrf, nothing made
    const cross = await w.mf.dispatchFetch(`${w.url}/api/v1/auth/tokens`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrfToken, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=ci',
    });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as ApiErrorBody).error.fields.Origin).toBeTruthy();
    expect((await call('GET', '/auth/tokens')).body.items).toEqual([]);
    const tok = await post('/auth/tokens', { name: 'ci' }, { cookie, 'x-csrf-token': csrfToken });
    expect(tok.status).toBe(201);
    const { token } = (await tok.json()) as ApiTokenCreated;
    expect((await call('GET', '/jobs', undefined, token)).status).toBe(200);
  }, 60_000);

  it('notifications on D1: the cron evaluates and delivers; the test endpoint sends from workerd', async () => {
    const got: { event: string | undefined; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        got.push({ event: req.headers['x-lifeboat-event'] as string | undefined, body });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const ch = await call<{ id: number }>('POST', '/notifications/channels', { name: 'hook', kind: 'webhook', url, secret: 'k' });
      expect(ch.status).toBe(201);
      const tested = await call<{ status: string }>('POST', `/notifications/channels/${ch.body.id}/test`);
      expect(tested.body.status).toBe('sent');
      const target = await call('POST', '/targets', {
        name: 'notify-t',
        sshHost: 'b.example.org',
        sshPrivateKey: TEST_KEY,
        backupRoot: 'b/lb',
      });
      const jt = await call('POST', '/nodes/join-tokens');
      const node = await call('POST', '/runner/join', { joinToken: jt.body.token, name: 'notify-node' }, '');
      const validate = async (status: 'success' | 'failed') => {
        const v = await call('POST', `/targets/${target.body.id}/validate`, { nodeId: node.body.nodeId });
        await call('POST', '/runner/claim', { max: 1, waitMs: 0 }, node.body.nodeToken);
        const result = { hostKey: '[b.example.org]:22 ssh-ed25519 AAAAC3', fingerprint: 'SHA256:abc' };
        const fin = await call(
          'POST',
          `/runner/events/${v.body.eventId}/finish`,
          status === 'success' ? { status, result } : { status, error: 'host key mismatch' },
          node.body.nodeToken,
        );
        expect(fin.status).toBe(200);
      };
      const cron = () => w.scheduled(); // throws unless the run's outcome is ok
      await validate('success');
      await cron(); // first observation: recorded only
      await validate('failed');
      await cron();
      await cron();
      expect(got.map((g) => g.event)).toEqual(['test', 'target.failed']);
      const hist = await call<{ items: { event: string; status: string; attempts: number }[] }>('GET', '/notifications/deliveries');
      expect(hist.body.items.map((d) => [d.event, d.status, d.attempts])).toEqual([
        ['target.failed', 'sent', 1],
        ['test', 'sent', 1],
      ]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 60_000);

  describe("held claims wait on the node's Durable Object, not on D1 (functions/src/worker-waker.ts)", () => {
    let node: { nodeId: number; nodeToken: string };
    let jobId: number;
    /** This isolate's D1 statements (GET /metrics), less what the scrape itself ran (measured by two scrapes in a row). */
    const statements = async () => {
      const text = await (await w.mf.dispatchFetch(`${w.url}/api/v1/metrics`, { headers: { authorization: `Bearer ${w.admin}` } })).text();
      const n = (kind: string) => Number(new RegExp(`^lifeboat_db_statements_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
      return { read: n('read'), write: n('write') };
    };
    let scrape = { read: 0, write: 0 };
    const claim = (waitMs: number) =>
      call('POST', '/runner/claim', { max: 1, waitMs }, node.nodeToken) as Promise<
        ApiResponse<{ events: { id: number; kind: string; trigger: string }[] }>
      >;
    /** Until the claim is held: it writes the node's last-seen time before its one read and its wait. */
    const held = async () => {
      await w.waitFor('the claim to be held', async () => (await call('GET', `/nodes/${node.nodeId}`)).body.lastSeenAt !== null);
    };

    beforeAll(async () => {
      // yearly: nothing due unless the test says so
      ({ jobId, ...node } = await nodeWithJob(await targetNamed('do-t'), 'do-node', '0 0 1 1 *'));
      // the new job poked the node's object, which keeps a poke nobody heard for the next wait: hear it
      expect((await claim(1000)).body.events).toEqual([]);
      const a = await statements();
      const b = await statements();
      scrape = { read: b.read - a.read, write: b.write - a.write };
    });

    it('an idle held claim reads D1 twice (its token, its node) however long it is held', async () => {
      await w.sql([`UPDATE nodes SET last_seen_at = NULL WHERE id = ${node.nodeId}`]);
      const before = await statements();
      const r = await claim(3000); // polling every 100 ms (LIFEBOAT_CLAIM_RECHECK_MS) would have read ~30 times
      expect(r.body.events).toEqual([]);
      const after = await statements();
      expect({ read: after.read - before.read - scrape.read, write: after.write - before.write - scrape.write }).toEqual({
        read: 2, // the node token, the node's claim state
        write: 1, // its last-seen time (at most every 5 s)
      });
    }, 60_000);

    it('Run Now pokes the held claim: it returns the run (a lost poke would return nothing at its deadline)', async () => {
      await w.sql([`UPDATE nodes SET last_seen_at = NULL WHERE id = ${node.nodeId}`]);
      const pending = claim(30_000);
      await held();
      const run = await call('POST', `/jobs/${jobId}/run`);
      expect(run.status).toBe(202);
      const r = await pending;
      expect(r.body.events.map((e) => [e.id, e.trigger])).toEqual([[run.body.eventId, 'manual']]);
      await call('POST', `/runner/events/${run.body.eventId}/finish`, { status: 'failed', error: 'x' }, node.nodeToken);
    }, 60_000);

    it("a scheduled run coming due wakes the held claim through the object's alarm, without the cron", async () => {
      // due in 5 s: the claim's one read sees it in the future and hands the time to the object (a
      // read after it, on a stalled machine, would have the claim schedule its own run: the counts
      // below would say so)
      await w.sql([
        `UPDATE jobs SET schedule = '* * * * *', next_run_at = ${Date.now() + 5000} WHERE id = ${jobId}`,
        `UPDATE nodes SET last_seen_at = NULL WHERE id = ${node.nodeId}`,
      ]);
      const before = await statements();
      const r = await claim(30_000);
      expect(r.body.events).toEqual([expect.objectContaining({ kind: 'backup', trigger: expect.stringMatching(/^(schedule|catch-up)$/) })]);
      const after = await statements();
      // No polling while it waited (every 100 ms: ~150 reads over the 5 s). The DueScheduler created the
      // run (worker-due.ts, in this isolate: its statements count here), so the woken round only claimed.
      expect({ read: after.read - before.read - scrape.read, write: after.write - before.write - scrape.write }).toEqual({
        // the token, the state; the scheduler's due jobs and their targets; the woken round's state;
        // the job, the target and the catalog; the job's generations and the restores reading them
        // (docs/zfs.md, Old generations). A round scheduling its own run would read 11: the due jobs,
        // their targets, and the queued check after its empty claim.
        read: 10,
        // the last-seen time; the scheduler's run and the job's next time; the claim; the generation offered
        write: 5,
      });
      await call('POST', `/runner/events/${r.body.events[0].id}/finish`, { status: 'failed', error: 'x' }, node.nodeToken);
    }, 60_000);
  });

  describe("due runs are created by the fleet's one DueScheduler, for the nodes whose claims are held (functions/src/worker-due.ts)", () => {
    const nodes: { nodeId: number; nodeToken: string; jobId: number }[] = [];
    /** The Durable Object `name` of namespace `binding`, as the Worker reaches it. */
    const object = async (binding: string, name: string) => {
      const ns = (await w.mf.getDurableObjectNamespace(binding, 'app')) as unknown as DurableObjectNamespace;
      return ns.get(ns.idFromName(name));
    };
    const runsOf = async (jobId: number) =>
      (await call<{ items: { trigger: string; status: string }[] }>('GET', `/events?jobId=${jobId}`)).body.items.map((e) => [
        e.trigger,
        e.status,
      ]);

    beforeAll(async () => {
      const targetId = await targetNamed('due-t');
      for (const name of ['due-a', 'due-b']) nodes.push(await nodeWithJob(targetId, name, '* * * * *'));
      // both due a second ago; no claim of either node is held
      await w.sql(nodes.map((n) => `UPDATE jobs SET next_run_at = ${Date.now() - 1000} WHERE id = ${n.jobId}`));
    });

    it('creates the due runs of the nodes it is asked for, and of no other', async () => {
      const [a, b] = nodes;
      const scheduler = await object('DUE_SCHEDULER', 'due-runs');
      // two requests at once for the same node: both answered, one run
      const answers = await Promise.all(
        [1, 2].map(() => scheduler.fetch(`https://due-scheduler/schedule?node=${a.nodeId}`, { method: 'POST' })),
      );
      expect(await Promise.all(answers.map((r) => r.text()))).toEqual(['ok', 'ok']);
      expect(await runsOf(a.jobId)).toEqual([['schedule', 'queued']]);
      expect(await runsOf(b.jobId)).toEqual([]);
      const bad = await scheduler.fetch('https://due-scheduler/schedule?node=x', { method: 'POST' });
      expect([bad.status, await bad.text()]).toEqual([400, 'node: a positive integer']);
    });

    it("a node's object asks for its due runs only while a claim of the node is held (else its next claim creates them)", async () => {
      const b = nodes[1];
      const waker = await object('CLAIM_WAKER', `node:${b.nodeId}`);
      const claim = (waitMs: number) =>
        call<{ events: { id: number; trigger: string }[] }>('POST', '/runner/claim', { max: 1, waitMs }, b.nodeToken);
      // a claim that has come and gone (so its object knows its node), with the job not yet due
      await w.sql([`UPDATE jobs SET next_run_at = ${Date.now() + 3_600_000} WHERE id = ${b.jobId}`]);
      expect((await claim(200)).body.events).toEqual([]);
      await w.sql([`UPDATE jobs SET next_run_at = ${Date.now() - 1000} WHERE id = ${b.jobId}`]);
      expect(await (await waker.fetch('https://claim-waker/due', { method: 'POST' })).text()).toBe('ok');
      expect(await runsOf(b.jobId)).toEqual([]);
      // the next claim creates and takes it itself
      const r = await claim(1000);
      expect(r.body.events.map((e) => e.trigger)).toEqual(['schedule']);
      await call('POST', `/runner/events/${r.body.events[0].id}/finish`, { status: 'failed', error: 'x' }, b.nodeToken);
    });
  });
});
