// Event retention per job (README, Events; services/event-retention.ts) on a real libSQL file DB:
// runs driven through the API as a runner would, the retention pass with the test clock, and the
// query plans of the events list and of retention itself over a long synthetic history.
import { createClient, type Client } from '@libsql/client';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventLogs, events } from '../../functions/src/db/schema.ts';
import { applyEventRetention, type EventRetention } from '../../functions/src/services/event-retention.ts';
import { eventsPageQuery } from '../../functions/src/services/events.ts';
import { joinNode, makeJob, makeTarget, startControl, type TestControl } from '../helpers/control.ts';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const DAY = 86_400_000;
const POLICY: EventRetention = { perJob: 3, failedDays: 30, maxAgeDays: 90, maxRows: 0 };

let ctl: TestControl;
let node: { id: number; token: string };
let targetId: number;
beforeEach(async () => {
  ctl = await startControl();
  ctl.clock.now = T0;
  node = await joinNode(ctl, 'n1', ['tank', 'tank/data', 'tank/other']);
  targetId = (await makeTarget(ctl)).id;
});
afterEach(() => ctl.close());

/** Run Now, claim, finish as the runner would, with a log line; the event id. */
async function backup(jobId: number, status: 'success' | 'failed') {
  const run = await ctl.api('POST', `/jobs/${jobId}/run`);
  expect(run.status).toBe(202);
  await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  ctl.clock.now! += 60_000;
  const fin = await ctl.node(node.token, `/runner/events/${run.body.eventId}/finish`, {
    status,
    result: status === 'success' ? { snapshot: `lb_j${jobId}_x`, generation: 1, bytesSent: 4096 } : null,
    error: status === 'failed' ? 'boom' : null,
    log: [{ level: 'info', message: `run of job ${jobId}` }],
  });
  expect(fin.status, JSON.stringify(fin.body)).toBe(200);
  ctl.clock.now! += 60_000;
  return run.body.eventId as number;
}
async function validate() {
  const v = await ctl.api('POST', `/targets/${targetId}/validate`, { nodeId: node.id });
  await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  await ctl.node(node.token, `/runner/events/${v.body.eventId}/finish`, { status: 'failed', error: 'no route', errorClass: 'network' });
  ctl.clock.now! += 60_000;
  return v.body.eventId as number;
}
const ids = async () => (await ctl.db.select({ id: events.id }).from(events)).map((r) => r.id).sort((a, b) => a - b);
const pass = (policy = POLICY) => applyEventRetention(ctl.db, ctl.clock.now!, policy);

describe('per job', () => {
  it('keeps the newest N of each job and failures for D days; the job counts what went; logs go with their events', async () => {
    const a = await makeJob(ctl, targetId, { name: 'a' });
    const b = await makeJob(ctl, targetId, { name: 'b', source: 'tank/other' });
    const aOldFail = await backup(a.id, 'failed');
    ctl.clock.now! += 31 * DAY; // older than the failure window by the end
    const aFail = await backup(a.id, 'failed');
    const aOk: number[] = [];
    for (let i = 0; i < 5; i++) aOk.push(await backup(a.id, 'success'));
    const bOk = [await backup(b.id, 'success'), await backup(b.id, 'success')];
    const queued = (await ctl.api('POST', `/jobs/${a.id}/run`)).body.eventId as number; // active: never touched

    const r = await pass();
    expect(r.groups).toBe(2);
    // a: the newest 3 (the queued one and two successes), plus the failure inside 30 days; b: both
    expect(await ids()).toEqual([aFail, ...aOk.slice(3), ...bOk, queued].sort((x, y) => x - y));
    expect(r.deleted.perJob).toBe(4); // the old failure and three successes
    expect(aOldFail).toBeLessThan(aFail);
    const logs = await ctl.db.select({ eventId: eventLogs.eventId }).from(eventLogs);
    expect(new Set(logs.map((l) => l.eventId))).toEqual(new Set([aFail, ...aOk.slice(3), ...bOk]));
    // what went is still counted on the job
    expect((await ctl.api('GET', `/jobs/${a.id}`)).body.backups).toEqual({ succeeded: 5, failed: 2 });
    expect((await ctl.api('GET', `/jobs/${b.id}`)).body.backups).toEqual({ succeeded: 2, failed: 0 });
  });

  it('events without a job are kept per node and kind', async () => {
    const v: number[] = [];
    for (let i = 0; i < 5; i++) v.push(await validate());
    const job = await makeJob(ctl, targetId);
    const keep = await backup(job.id, 'success');
    await pass({ ...POLICY, failedDays: 0 });
    expect(await ids()).toEqual([...v.slice(2), keep]);
  });

  it('an idle pass looks at no group; a new event makes its job the only one looked at', async () => {
    const a = await makeJob(ctl, targetId, { name: 'a' });
    const b = await makeJob(ctl, targetId, { name: 'b', source: 'tank/other' });
    for (let i = 0; i < 4; i++) await backup(a.id, 'success');
    await backup(b.id, 'success');
    expect((await pass()).groups).toBe(2);
    expect(await pass()).toEqual({ groups: 0, deleted: { perJob: 0, age: 0, rows: 0 } });
    await backup(b.id, 'success');
    expect((await pass()).groups).toBe(1);
  });

  it('the age rule and the row cap still bound everything; perJob 0 turns the per-job rule off', async () => {
    const a = await makeJob(ctl, targetId);
    const first = await backup(a.id, 'failed');
    ctl.clock.now! += 91 * DAY;
    const rest = [await backup(a.id, 'success'), await backup(a.id, 'success'), await backup(a.id, 'success')];
    const r = await pass({ perJob: 0, failedDays: 365, maxAgeDays: 90, maxRows: 2 });
    expect(r.deleted).toEqual({ perJob: 0, age: 1, rows: 1 });
    expect(await ids()).toEqual(rest.slice(1));
    expect(first).toBeLessThan(rest[0]);
  });
});

describe('query plans over a long history', () => {
  // its own database, filled once: the plans are read-only, the retention pass runs last
  let big: TestControl;
  let client: Client;
  beforeAll(async () => {
    big = await startControl();
    client = createClient({ url: `file:${join(big.dir, 'test.db')}` });
    // 100,000 finished events over 40 nodes × 400 job ids and some validations, then SQLite's statistics
    await client.execute(`
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
      INSERT INTO events (kind, job_id, job_name, node_id, target_id, trigger, status, created_at, started_at, finished_at)
      SELECT CASE WHEN i % 50 = 0 THEN 'validate' ELSE 'backup' END,
             CASE WHEN i % 50 = 0 THEN NULL ELSE 1000 + i % 400 END, 'j', 1 + i % 40, 1, 'schedule',
             CASE WHEN i % 17 = 0 THEN 'failed' ELSE 'success' END, ${T0} + i, ${T0} + i, ${T0} + i + 1
      FROM n`);
    await client.execute('ANALYZE');
  }, 120_000);
  afterAll(() => {
    client.close();
    big.close();
  });

  const plan = async (q: { toSQL(): { sql: string; params: unknown[] } }) => {
    const { sql, params } = q.toSQL();
    const rows = await client.execute({ sql: `EXPLAIN QUERY PLAN ${sql}`, args: params as never[] });
    return rows.rows.map((r) => String(r.detail)).join('\n');
  };

  it.each([
    [{}],
    [{ jobId: 1005 }],
    [{ nodeId: 7 }],
    [{ status: 'failed' }],
    [{ kind: 'validate' }],
    [{ jobId: 1005, status: 'failed' }],
    [{ nodeId: 7, status: 'failed' }],
    [{ nodeId: 7, kind: 'validate' }],
    [{ status: 'failed', cursor: 75000 }],
    [{ after: 75000 }],
    [{ jobId: 1005, after: 75000 }],
    [{ hideKinds: ['validate', 'browse'], cursor: 75000 }],
    [{ jobId: 1005, hideKinds: ['validate', 'browse'] }],
  ] as const)('the events list %j pages in id order through an index (no sort, no full scan)', async (filter) => {
    const p = await plan(eventsPageQuery(big.db, { limit: 50, ...filter }));
    expect(p).not.toMatch(/TEMP B-TREE/);
    if (Object.keys(filter).length > 0) expect(p).toMatch(/USING (INDEX|INTEGER PRIMARY KEY|COVERING INDEX)/);
  });

  it('a retention pass reads what changed: an idle pass after the first touches no group', async () => {
    const first = await applyEventRetention(big.db, T0 + 300_000, { perJob: 100, failedDays: 30, maxAgeDays: 90, maxRows: 1_000_000 });
    // the first pass after an upgrade drains a window of ids at a time
    expect(first.groups).toBeGreaterThan(0);
    let r = first;
    for (let i = 0; i < 20 && r.groups > 0; i++)
      r = await applyEventRetention(big.db, T0 + 300_000, { perJob: 100, failedDays: 0, maxAgeDays: 90, maxRows: 1_000_000 });
    expect(r.groups).toBe(0);
    // each job keeps its newest 100, each node its newest 100 validations
    const [{ n }] = (await client.execute('SELECT count(*) AS n FROM events')).rows as unknown as { n: number }[];
    expect(Number(n)).toBe(392 * 100 + 4 * 100); // 392 job ids got events (1000 + k, k % 50 ≠ 0), 4 nodes got validations
    const [{ rows }] = (await client.execute('SELECT rows FROM event_totals')).rows as unknown as { rows: number }[];
    expect(Number(rows)).toBe(Number(n));
  }, 600_000); // a hang guard: a first pass over the long history took over 60 s on the loaded CI box (it asserts rows, not time)
});
