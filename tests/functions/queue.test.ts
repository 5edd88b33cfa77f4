// Run Now, webhooks, scheduling, claims, leases, cancel and node isolation.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startControl, joinNode, makeJob, makeTarget, type TestControl } from '../helpers/control.ts';
import { applyEventRetention } from '../../functions/src/services/event-retention.ts';
import { RECHECK_PER_HELD_MS, recheckMs } from '../../functions/src/services/claims.ts';
import { scheduleDueForHeld } from '../../functions/src/services/queue.ts';
import { createWaker } from '../../functions/src/waker.ts';
import { claimedJob, errorBody, type ApiErrorBody } from '../helpers/api.ts';

let ctl: TestControl;
let n1: { id: number; token: string };
let targetId: number;
beforeEach(async () => {
  ctl = await startControl({ leaseMs: 10_000 });
  n1 = await joinNode(ctl, 'n1');
  targetId = (await makeTarget(ctl)).id;
});
afterEach(() => ctl.close());

/** The event rows as stored (the columns these tests read). */
const events = async () =>
  ctl.db.all<{ id: number; job_id: number | null; trigger: string } & Record<string, unknown>>(sql`SELECT * FROM events ORDER BY id`);

describe('Run Now', () => {
  it('50 concurrent Run Now requests create exactly one event; the others get 409 with its id', async () => {
    const job = await makeJob(ctl, targetId);
    const answers = await Promise.all(Array.from({ length: 50 }, () => ctl.api('POST', `/jobs/${job.id}/run`)));
    const accepted = answers.filter((a) => a.status === 202);
    expect(accepted).toHaveLength(1);
    const busy = answers.filter((a) => a.status === 409);
    expect(busy).toHaveLength(49);
    for (const b of busy) expect(errorBody(b).activeEventId).toBe(accepted[0].body.eventId);
    expect(await events()).toHaveLength(1);
  });

  it('webhook tokens are shown once, stored hashed, run one job only and rotate', async () => {
    const a = await makeJob(ctl, targetId, { name: 'a' });
    const b = await makeJob(ctl, targetId, { name: 'b', source: 'tank' });
    const t1 = await ctl.api('POST', `/jobs/${a.id}/webhook-token`);
    expect(t1.status).toBe(201);
    expect(t1.body.url).toMatch(new RegExp(`/api/v1/hooks/jobs/${a.id}/run$`));
    const [row] = await ctl.db.all<{ h: string | null }>(sql`SELECT webhook_token_hash AS h FROM jobs WHERE id = ${a.id}`);
    expect(row.h).not.toContain(t1.body.token);
    expect((await ctl.api('GET', `/jobs/${a.id}`)).body).toMatchObject({ hasWebhookToken: true });
    expect(JSON.stringify((await ctl.api('GET', `/jobs/${a.id}`)).body)).not.toContain(t1.body.token);
    const hook = (id: number, token: string) =>
      ctl.app.request(`/api/v1/hooks/jobs/${id}/run`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect((await hook(b.id, t1.body.token)).status).toBe(401); // another job
    const ok = await hook(a.id, t1.body.token);
    expect(ok.status).toBe(202);
    expect((await ok.json()).eventId).toBeGreaterThan(0);
    const again = await hook(a.id, t1.body.token);
    expect(again.status).toBe(409);
    expect((await events())[0]).toMatchObject({ trigger: 'webhook', job_id: a.id });
    const t2 = await ctl.api('POST', `/jobs/${a.id}/webhook-token`);
    expect(t2.body.token).not.toBe(t1.body.token);
    expect((await hook(a.id, t1.body.token)).status).toBe(401);
    expect((await ctl.app.request(`/api/v1/hooks/jobs/${a.id}/run`, { method: 'POST' })).status).toBe(401);
  });
});

describe('claims', () => {
  it('a held claim receives a Run Now made while it waits', async () => {
    const job = await makeJob(ctl, targetId);
    const claim = ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 5000 });
    await new Promise((r) => setTimeout(r, 50));
    const run = await ctl.api('POST', `/jobs/${job.id}/run`);
    const got = await claim;
    expect(got.status).toBe(200);
    expect(got.body.events.map((e) => e.id)).toEqual([run.body.eventId]);
    expect(got.body.events[0]).toMatchObject({
      kind: 'backup',
      generation: 1,
      nextGeneration: 2,
      forkFrom: null,
      job: { id: job.id, source: 'tank/data' },
    });
    expect((await ctl.api('GET', `/events/${run.body.eventId}`)).body.status).toBe('running');
  });

  it('a job falling due while a claim is held is handed out when the due poke comes, not at the next re-check', async () => {
    const waker = createWaker();
    const slow = await startControl({ claimWaitMs: 25_000, claimRecheckMs: 25_000 }, { waker });
    try {
      slow.clock.now = Date.parse('2026-03-01T10:30:00Z');
      const node = await joinNode(slow, 'n1');
      const job = await makeJob(slow, (await makeTarget(slow)).id, { schedule: '0 * * * *' });
      let settled = false;
      const claim = slow.node(node.token, '/runner/claim', { max: 1, waitMs: 25_000 }).finally(() => (settled = true));
      while (waker.waiting() === 0 && !settled) await new Promise((r) => setTimeout(r, 10)); // the claim is held now
      expect(settled).toBe(false);
      expect(waker.held()).toEqual([node.id]);
      // nothing due: nothing created, nothing poked, the claim keeps waiting
      expect(await scheduleDueForHeld(slow.db, waker, waker.held(), slow.clock.now)).toEqual([]);
      expect(waker.waiting()).toBe(1);
      slow.clock.now = Date.parse('2026-03-01T11:00:01Z');
      expect(await scheduleDueForHeld(slow.db, waker, waker.held(), slow.clock.now)).toEqual([node.id]);
      const got = await claim; // without the poke it would come back empty after 25 s
      expect(got.body.events).toMatchObject([{ trigger: 'schedule', job: { id: job.id } }]);
      // created once: the claim's own round found it queued, and the timer again finds nothing due
      expect(await scheduleDueForHeld(slow.db, waker, waker.held(), slow.clock.now)).toEqual([]);
      const runs = await slow.db.all<{ n: number }>(sql`SELECT count(*) AS n FROM events WHERE kind = 'backup'`);
      expect(runs[0].n).toBe(1);
    } finally {
      slow.close();
    }
  });

  it('the due-job timer creates the due runs of every node with a held claim in one batch; a node without one is left to its next claim', async () => {
    const waker = createWaker();
    const slow = await startControl({ claimWaitMs: 25_000, claimRecheckMs: 25_000 }, { waker });
    try {
      slow.clock.now = Date.parse('2026-03-01T10:30:00Z');
      const targetId = (await makeTarget(slow)).id;
      const held = [await joinNode(slow, 'a'), await joinNode(slow, 'b')];
      const away = await joinNode(slow, 'away');
      const jobOf = new Map<number, number>();
      for (const n of [...held, away])
        jobOf.set(n.id, (await makeJob(slow, targetId, { name: `j${n.id}`, nodeId: n.id, schedule: '0 * * * *' })).id);
      const claims = held.map((n) => slow.node(n.token, '/runner/claim', { max: 1, waitMs: 25_000 }));
      while (waker.waiting() < 2) await new Promise((r) => setTimeout(r, 10));
      slow.clock.now = Date.parse('2026-03-01T11:00:01Z');
      expect((await scheduleDueForHeld(slow.db, waker, waker.held(), slow.clock.now)).sort()).toEqual(held.map((n) => n.id).sort());
      const got = await Promise.all(claims);
      for (const [i, n] of held.entries())
        expect(got[i].body.events).toMatchObject([{ trigger: 'schedule', job: { id: jobOf.get(n.id) } }]);
      // the node that holds no claim: nothing created for it, its job still due for its next claim
      const rows = await slow.db.all<{ node_id: number }>(sql`SELECT node_id FROM events WHERE kind = 'backup' ORDER BY node_id`);
      expect(rows.map((r) => r.node_id)).toEqual(held.map((n) => n.id).sort());
      const next = await slow.node(away.token, '/runner/claim', { max: 1, waitMs: 0 });
      expect(next.body.events).toMatchObject([{ trigger: 'schedule', job: { id: jobOf.get(away.id) } }]);
    } finally {
      slow.close();
    }
  });

  it('revoking a node ends its held claim (the clock stands still: only the poke can end it)', async () => {
    const waker = createWaker();
    const slow = await startControl({ claimWaitMs: 25_000, claimRecheckMs: 25_000 }, { waker });
    try {
      slow.clock.now = Date.parse('2026-03-01T10:30:00Z');
      const node = await joinNode(slow, 'n1');
      let settled = false;
      const claim = slow.node(node.token, '/runner/claim', { max: 1, waitMs: 25_000 }).finally(() => (settled = true));
      while (waker.waiting() === 0 && !settled) await new Promise((r) => setTimeout(r, 10));
      expect((await slow.api('POST', `/nodes/${node.id}/revoke`)).status).toBe(200);
      expect((await claim).body).toMatchObject({ events: [] });
      expect((await slow.node(node.token, '/runner/claim', { max: 1, waitMs: 0 })).status).toBe(401);
    } finally {
      slow.close();
    }
  });

  it.each([
    // configured, held, has a waker → ms
    [100, 0, true, 100],
    [100, 1, true, 100],
    [100, 10, true, 1000],
    [100, 1000, true, 100_000],
    [100, 1000, false, 100], // no waker (Workers): nothing would poke it, so it keeps polling
  ])('a held claim re-checks every max(%d ms, held × 100 ms) with a waker: %d held, waker %s → %d ms', (configured, held, hasWaker, ms) => {
    expect(RECHECK_PER_HELD_MS).toBe(100);
    expect(recheckMs(configured, held, hasWaker)).toBe(ms);
  });

  it('each kind carries its own parameters; work whose target was deleted meanwhile is failed by the server, not handed out', async () => {
    const job = await makeJob(ctl, targetId);
    const run = await ctl.api('POST', `/jobs/${job.id}/run`);
    const other = (await makeTarget(ctl, { name: 'other' })).id;
    const browse = await ctl.api('POST', `/targets/${other}/refresh`, { nodeId: n1.id });
    expect(browse.status).toBe(202);
    expect((await ctl.api('PATCH', `/targets/${other}`, { enabled: false })).status).toBe(200);
    expect((await ctl.api('DELETE', `/targets/${other}`)).status).toBe(200);
    const got = await ctl.node(n1.token, '/runner/claim', { max: 4, waitMs: 0 });
    expect(got.status).toBe(200);
    expect(got.body.events).toHaveLength(1);
    const [backup] = got.body.events;
    expect(backup).toMatchObject({ id: run.body.eventId, kind: 'backup', target: { id: targetId }, catalogDatasets: [] });
    expect(backup).not.toHaveProperty('params');
    const gone = (await ctl.api('GET', `/events/${browse.body.eventId}`)).body;
    expect(gone).toMatchObject({ status: 'failed', errorClass: 'internal', error: `target ${other} no longer exists` });
  });

  it('creates due scheduled events once and advances nextRunAt; missed runs are coalesced with a note', async () => {
    ctl.clock.now = Date.parse('2026-03-01T10:30:00Z');
    const job = await makeJob(ctl, targetId, { schedule: '0 * * * *' });
    expect(job.nextRunAt).toBe('2026-03-01T11:00:00.000Z');
    ctl.clock.now = Date.parse('2026-03-01T11:00:01Z');
    const [c1, c2] = await Promise.all([
      ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 }),
      ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 }),
    ]);
    const got = [...c1.body.events, ...c2.body.events];
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ trigger: 'schedule', note: null });
    // scheduled and manual runs are built alike: the destination is the job's root on the target
    const sched = (await ctl.api('GET', `/events/${got[0].id}`)).body;
    expect(sched).toMatchObject({ source: 'tank/data', destination: `backup/lifeboat/j${job.id}` });
    expect((await ctl.api('GET', `/jobs/${job.id}`)).body.nextRunAt).toBe('2026-03-01T12:00:00.000Z');
    await ctl.node(n1.token, `/runner/events/${got[0].id}/finish`, {
      status: 'success',
      result: { generation: 1, snapshot: 'lb_j1_x', bytesSent: 10 },
    });
    // The node is away for 5 hours: one catch-up run, noting 5 occurrences.
    ctl.clock.now = Date.parse('2026-03-01T16:20:00Z');
    const c3 = await ctl.node(n1.token, '/runner/claim', { max: 4, waitMs: 0 });
    expect(c3.body.events).toHaveLength(1);
    expect(c3.body.events[0].trigger).toBe('catch-up');
    expect(c3.body.events[0].note).toMatch(/coalesced 5 occurrences/);
    expect((await ctl.api('GET', `/jobs/${job.id}`)).body.nextRunAt).toBe('2026-03-01T17:00:00.000Z');
    const ev = (await ctl.api('GET', `/events/${c3.body.events[0].id}`)).body;
    expect(ev.note).toMatch(/4 missed/);
    expect(await events()).toHaveLength(2);
  });

  it('a cancel that arrives after the data landed: the event ends success and its note says so; a cancel in time ends cancelled', async () => {
    const job = await makeJob(ctl, targetId);
    const run = await ctl.api('POST', `/jobs/${job.id}/run`);
    await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect((await ctl.api('POST', `/events/${run.body.eventId}/cancel`)).status).toBe(200);
    await ctl.node(n1.token, `/runner/events/${run.body.eventId}/finish`, {
      status: 'success',
      result: { generation: 1, snapshot: 'lb_j1_x', bytesSent: 10 },
    });
    const late = (await ctl.api('GET', `/events/${run.body.eventId}`)).body;
    expect(late).toMatchObject({ status: 'success', cancelRequested: true });
    expect(late.note).toBe('cancel arrived after the data was safely on the target: the backup completed');
    const run2 = await ctl.api('POST', `/jobs/${job.id}/run`);
    await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
    await ctl.api('POST', `/events/${run2.body.eventId}/cancel`);
    await ctl.node(n1.token, `/runner/events/${run2.body.eventId}/finish`, {
      status: 'cancelled',
      error: 'cancelled by request',
      errorClass: 'cancelled',
    });
    expect((await ctl.api('GET', `/events/${run2.body.eventId}`)).body).toMatchObject({ status: 'cancelled', note: null });
  });

  it('does not schedule disabled jobs, nor a job whose backup is still running (it catches up later)', async () => {
    ctl.clock.now = Date.parse('2026-03-01T10:30:00Z');
    const off = await makeJob(ctl, targetId, { name: 'off', schedule: '0 * * * *', enabled: false });
    const on = await makeJob(ctl, targetId, { name: 'on', source: 'tank', schedule: '0 * * * *' });
    ctl.clock.now = Date.parse('2026-03-01T11:00:00Z');
    const c1 = await ctl.node(n1.token, '/runner/claim', { max: 5, waitMs: 0 });
    expect(c1.body.events.map((e) => claimedJob(e).id)).toEqual([on.id]);
    ctl.clock.now = Date.parse('2026-03-01T12:00:30Z');
    await ctl.node(n1.token, `/runner/events/${c1.body.events[0].id}/progress`, { phase: 'transferring', bytesDone: 5 });
    const c2 = await ctl.node(n1.token, '/runner/claim', { max: 5, waitMs: 0 });
    expect(c2.body.events).toHaveLength(0);
    await ctl.node(n1.token, `/runner/events/${c1.body.events[0].id}/finish`, {
      status: 'failed',
      error: 'zfs: out of space',
      errorClass: 'zfs',
    });
    expect((await ctl.api('GET', `/jobs/${on.id}`)).body.lastStatus).toBe('failed');
    const c3 = await ctl.node(n1.token, '/runner/claim', { max: 5, waitMs: 0 });
    expect(c3.body.events).toHaveLength(1);
    expect((await events()).filter((e) => e.job_id === off.id)).toHaveLength(0);
  });

  it('expired leases turn events interrupted; progress extends the lease and relays cancel', async () => {
    const job = await makeJob(ctl, targetId);
    ctl.clock.now = Date.parse('2026-03-01T10:00:00Z');
    const run = await ctl.api('POST', `/jobs/${job.id}/run`);
    await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
    ctl.clock.now += 9_000;
    const p = await ctl.node(n1.token, `/runner/events/${run.body.eventId}/progress`, {
      phase: 'transferring',
      bytesDone: 100,
      bytesTotal: 1000,
      rateBps: 50,
      etaSeconds: 18,
      log: [{ message: 'sending tank/data' }],
    });
    expect(p.body.cancelRequested).toBe(false);
    ctl.clock.now += 9_000; // still inside the extended lease
    expect((await ctl.api('GET', `/events/${run.body.eventId}`)).body).toMatchObject({
      status: 'running',
      bytesDone: 100,
      bytesTotal: 1000,
      phase: 'transferring',
    });
    expect((await ctl.api('POST', `/events/${run.body.eventId}/cancel`)).body.cancelRequested).toBe(true);
    expect((await ctl.node(n1.token, `/runner/events/${run.body.eventId}/progress`, {})).body.cancelRequested).toBe(true);
    ctl.clock.now += 11_000;
    const ev = (await ctl.api('GET', `/events/${run.body.eventId}`)).body;
    expect(ev.status).toBe('interrupted');
    expect(ev.error).toMatch(/runner lost/);
    expect((await ctl.api('GET', `/jobs/${job.id}`)).body.lastStatus).toBe('interrupted');
    const late = await ctl.node(n1.token, `/runner/events/${run.body.eventId}/finish`, { status: 'success' });
    expect(late.status).toBe(409);
    // the log ends with why it ended, as the event's error says
    expect((await ctl.api('GET', `/events/${run.body.eventId}/log`)).body.items.map((l) => [l.level, l.message])).toEqual([
      ['info', 'sending tank/data'],
      ['warn', 'interrupted: runner lost: no progress report before the lease expired'],
    ]);
    // The job is free again.
    expect((await ctl.api('POST', `/jobs/${job.id}/run`)).status).toBe(202);
  });

  it("a node can never claim, read or update another node's events", async () => {
    const n2 = await joinNode(ctl, 'n2');
    const job = await makeJob(ctl, targetId, { nodeId: n1.id });
    const run = await ctl.api('POST', `/jobs/${job.id}/run`);
    expect((await ctl.node(n2.token, '/runner/claim', { max: 5, waitMs: 0 })).body.events).toHaveLength(0);
    expect((await ctl.node(n2.token, `/runner/events/${run.body.eventId}/progress`, { bytesDone: 1 })).status).toBe(404);
    await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect((await ctl.node(n2.token, `/runner/events/${run.body.eventId}/progress`, { bytesDone: 1 })).status).toBe(404);
    expect((await ctl.node(n2.token, `/runner/events/${run.body.eventId}/finish`, { status: 'failed', error: 'x' })).status).toBe(404);
    expect((await ctl.node(n2.token, '/runner/catalog', { eventId: run.body.eventId, datasets: [] })).status).toBe(403);
    expect((await ctl.api('GET', `/events/${run.body.eventId}`)).body).toMatchObject({ status: 'running', bytesDone: 0 });
    // Node tokens are not admin tokens and vice versa.
    expect((await ctl.api('GET', '/jobs', undefined, { authorization: `Bearer ${n1.token}` })).status).toBe(401);
    expect((await ctl.node('lba_test_admin_token', '/runner/claim', { max: 1 })).status).toBe(401);
  });

  it("a finished event's bytesTotal is the real count, or at least what was done", async () => {
    const names = ['ok', 'failed-over', 'failed-none', 'failed-null', 'failed-counted', 'cancelled-idle'];
    const jobs = [];
    for (const [i, name] of names.entries()) jobs.push(await makeJob(ctl, targetId, { name, source: i % 2 ? 'tank' : 'tank/data' }));
    const ids: number[] = [];
    for (const j of jobs) ids.push((await ctl.api('POST', `/jobs/${j.id}/run`)).body.eventId);
    expect((await ctl.node(n1.token, '/runner/claim', { max: 10, waitMs: 0 })).body.events).toHaveLength(names.length);
    const [ok, over, none, nul, counted, idle] = ids;
    const progress = (id: number, p: Record<string, unknown>) =>
      ctl.node(n1.token, `/runner/events/${id}/progress`, { phase: 'transferring', ...p });
    const finish = (id: number, b: Record<string, unknown>) => ctl.node(n1.token, `/runner/events/${id}/finish`, b);
    const shown = async (id: number) => {
      const e = (await ctl.api('GET', `/events/${id}`)).body;
      return [e.status, e.bytesDone, e.bytesTotal];
    };

    // Success: the estimate (larger than what was sent) is replaced by the count.
    await progress(ok, { bytesDone: 400, bytesTotal: 10_000 });
    await progress(ok, { bytesDone: 8_000, bytesTotal: 10_000 });
    expect(await shown(ok)).toEqual(['running', 8_000, 10_000]);
    expect((await finish(ok, { status: 'success', result: { generation: 1, snapshot: 'lb_j1_x', bytesSent: 8_192 } })).status).toBe(200);
    expect(await shown(ok)).toEqual(['success', 8_192, 8_192]);
    // Failed after sending more than the estimate: the total is what was done.
    await progress(over, { bytesDone: 700, bytesTotal: 500 });
    await finish(over, { status: 'failed', error: 'ssh: connection reset' });
    expect(await shown(over)).toEqual(['failed', 700, 700]);
    // Failed before any byte moved: the estimate stays as it was.
    await progress(none, { phase: 'preparing', bytesTotal: 3_000 });
    await finish(none, { status: 'failed', error: 'zfs: dataset is busy' });
    expect(await shown(none)).toEqual(['failed', 0, 3_000]);
    // Bytes reported without an estimate: never null once bytes moved.
    await progress(nul, { bytesDone: 42 });
    await finish(nul, { status: 'interrupted', error: 'runner stopped' });
    expect(await shown(nul)).toEqual(['interrupted', 42, 42]);
    // A failure that still reports a count (e.g. the guest did not start again): at least that count.
    await progress(counted, { bytesDone: 100, bytesTotal: 1_000 });
    await finish(counted, {
      status: 'failed',
      error: 'guest did not start',
      result: { generation: 1, snapshot: 'lb_j5_x', bytesSent: 1_200 },
    });
    expect(await shown(counted)).toEqual(['failed', 1_200, 1_200]);
    // Nothing reported at all: stays null.
    await finish(idle, { status: 'cancelled', error: 'cancelled' });
    expect(await shown(idle)).toEqual(['cancelled', 0, null]);
  });

  it('cancels queued work at once; a cancel after the end says it came too late, and changes nothing', async () => {
    const job = await makeJob(ctl, targetId);
    const run = await ctl.api('POST', `/jobs/${job.id}/run`);
    expect((await ctl.api('POST', `/events/${run.body.eventId}/cancel`)).body.status).toBe('cancelled');
    expect((await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 })).body.events).toHaveLength(0);
    const late = await ctl.api<ApiErrorBody & { eventStatus?: string }>('POST', `/events/${run.body.eventId}/cancel`);
    expect(late.status).toBe(409);
    expect(late.body.error.message).toBe('too late to stop: the event already ended (cancelled)');
    expect(late.body.eventStatus).toBe('cancelled');
    expect((await ctl.api('GET', `/events/${run.body.eventId}/log`)).body.items.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'cancelled: cancelled before it started'],
    ]);
  });

  it("the log of every event that did not succeed ends with its final error, once: the runner's, a server's failure, a revoked node's", async () => {
    const job = await makeJob(ctl, targetId);
    const run = await ctl.api('POST', `/jobs/${job.id}/run`);
    await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
    await ctl.node(n1.token, `/runner/events/${run.body.eventId}/finish`, {
      status: 'failed',
      error: 'cannot receive: pool is full',
      errorClass: 'zfs',
      log: [{ level: 'info', message: 'sending tank/data' }],
    });
    const log = async (id: number) => (await ctl.api('GET', `/events/${id}/log`)).body.items.map((l) => [l.level, l.message]);
    expect(await log(run.body.eventId)).toEqual([
      ['info', 'sending tank/data'],
      ['error', 'failed: cannot receive: pool is full'],
    ]);
    // a success adds nothing
    const ok = await ctl.api('POST', `/jobs/${job.id}/run`);
    await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
    await ctl.node(n1.token, `/runner/events/${ok.body.eventId}/finish`, { status: 'success', log: [{ message: 'done' }] });
    expect(await log(ok.body.eventId)).toEqual([['info', 'done']]);
    // queued work of a revoked node
    const queued = await ctl.api('POST', `/jobs/${job.id}/run`);
    expect((await ctl.api('POST', `/nodes/${n1.id}/revoke`)).status).toBe(200);
    expect((await ctl.api('GET', `/events/${queued.body.eventId}`)).body.status).toBe('cancelled');
    expect(await log(queued.body.eventId)).toEqual([['warn', 'cancelled: the node was revoked before this started']]);
  });
});

describe('events list and retention', () => {
  it('filters, searches and pages newest first', async () => {
    const a = await makeJob(ctl, targetId, { name: 'alpha' });
    const b = await makeJob(ctl, targetId, { name: 'beta', source: 'tank' });
    for (let i = 0; i < 7; i++) {
      for (const j of [a, b]) {
        const r = await ctl.api('POST', `/jobs/${j.id}/run`);
        await ctl.api('POST', `/events/${r.body.eventId}/cancel`);
      }
    }
    const p1 = await ctl.api('GET', `/events?jobId=${a.id}&limit=3`);
    expect(p1.body.items).toHaveLength(3);
    expect(p1.body.items.every((e) => e.jobId === a.id)).toBe(true);
    const ids = p1.body.items.map((e) => e.id);
    expect([...ids].sort((x, y) => y - x)).toEqual(ids);
    const all: number[] = [...ids];
    let cursor = p1.body.nextCursor;
    while (cursor) {
      const p = await ctl.api('GET', `/events?jobId=${a.id}&limit=3&cursor=${cursor}`);
      all.push(...p.body.items.map((e) => e.id));
      cursor = p.body.nextCursor;
    }
    expect(all).toHaveLength(7);
    expect(new Set(all).size).toBe(7);
    expect((await ctl.api('GET', '/events?q=beta&limit=100')).body.items).toHaveLength(7);
    expect((await ctl.api('GET', `/events?status=cancelled&kind=backup&nodeId=${n1.id}&limit=100`)).body.items).toHaveLength(14);
    expect((await ctl.api('GET', '/events?status=running')).body.items).toHaveLength(0);
    const bad = await ctl.api<ApiErrorBody>('GET', '/events?status=weird&limit=0');
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields)).toEqual(expect.arrayContaining(['status', 'limit']));
  });

  it('retention (the age rule and the row cap) removes old and surplus completed events, never queued or running ones', async () => {
    const jobs = [];
    for (let i = 0; i < 4; i++) jobs.push(await makeJob(ctl, targetId, { name: `j${i}`, source: i % 2 ? 'tank' : 'tank/data' }));
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    ctl.clock.now = t0;
    const old = await ctl.api('POST', `/jobs/${jobs[0].id}/run`); // stays queued for 100 days
    const oldDone = await ctl.api('POST', `/jobs/${jobs[1].id}/run`);
    await ctl.api('POST', `/events/${oldDone.body.eventId}/cancel`);
    ctl.clock.now = t0 + 100 * 86_400_000;
    const recent = [];
    for (let i = 0; i < 5; i++) {
      const r = await ctl.api('POST', `/jobs/${jobs[2].id}/run`);
      await ctl.api('POST', `/events/${r.body.eventId}/cancel`);
      recent.push(r.body.eventId);
    }
    const running = await ctl.api('POST', `/jobs/${jobs[3].id}/run`);
    await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
    await applyEventRetention(ctl.db, ctl.clock.now, { perJob: 0, failedDays: 0, maxAgeDays: 90, maxRows: 3 });
    const left = (await events()).map((e) => e.id).sort((x, y) => x - y);
    expect(left).toEqual([old.body.eventId, ...recent.slice(2), running.body.eventId].sort((x, y) => x - y));
  });
});
