// Job health against its RPO, and the Prometheus metrics, driven through the API with a test clock
// (the summary of each job's last backup is kept by database triggers: every finishing path counts).
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startControl, joinNode, makeTarget, type TestControl } from '../helpers/control.ts';
import type { ApiErrorBody, Job } from '../helpers/api.ts';
import { sweepExpiredLeases } from '../../functions/src/services/queue.ts';
import { applyEventRetention } from '../../functions/src/services/event-retention.ts';
import { LIFEBOAT_VERSION } from '../../protocol/src/version.ts';

let ctl: TestControl;
let node: { id: number; token: string };
let targetId: number;
const H = 3600_000;
const T0 = Date.parse('2026-11-25T10:30:00Z');

beforeEach(async () => {
  ctl = await startControl();
  ctl.clock.now = T0;
  node = await joinNode(ctl, 'n1', ['tank', 'tank/data']);
  targetId = (await makeTarget(ctl)).id;
});
afterEach(() => ctl.close());

const job = (over: Record<string, unknown> = {}) => ({ name: 'hourly', targetId, mode: 'dataset', source: 'tank/data', ...over });
const getJob = async (id: number) => (await ctl.api<Job, 'GET', string>('GET', `/jobs/${id}`)).body;

/** Run Now, claim, let `ms` pass, then finish as a runner would. */
async function backup(jobId: number, status: 'success' | 'failed', ms = 90_000, bytes = 4096) {
  const run = await ctl.api('POST', `/jobs/${jobId}/run`);
  await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  ctl.clock.now! += ms;
  const result = status === 'success' ? { snapshot: `lb_j${jobId}_x`, generation: 1, bytesSent: bytes } : null;
  const fin = await ctl.node(node.token, `/runner/events/${run.body.eventId}/finish`, {
    status,
    result,
    error: status === 'failed' ? 'boom' : null,
  });
  expect(fin.status).toBe(200);
}

async function metrics(): Promise<string> {
  const r = await ctl.app.request('/api/v1/metrics', { headers: { authorization: 'Bearer lba_test_admin_token' } });
  expect(r.status).toBe(200);
  return r.text();
}
const sample = (text: string, name: string, labels: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('job health', () => {
  it('ok, overdue past the RPO, failing from the first failure, ok again on success, disabled', async () => {
    const j = (await ctl.api('POST', '/jobs', job({ schedule: '0 * * * *' }))).body;
    expect(j).toMatchObject({ rpoSeconds: null, rpoEffectiveSeconds: 2 * 3600, lastSuccessAt: null, lastBackup: null });
    expect(j.health).toEqual({ state: 'ok', reason: 'no backup yet', since: null });

    ctl.clock.now = T0 + 2 * H + 1;
    expect((await getJob(j.id)).health).toMatchObject({ state: 'overdue', since: new Date(T0 + 2 * H).toISOString() });

    await backup(j.id, 'success', 90_000, 12345);
    const done = ctl.clock.now!;
    const ok = await getJob(j.id);
    expect(ok).toMatchObject({
      lastSuccessAt: new Date(done).toISOString(),
      lastBackup: { status: 'success', durationSeconds: 90, bytes: 12345 },
      health: { state: 'ok', since: new Date(done).toISOString() },
    });

    await backup(j.id, 'failed');
    const failedAt = ctl.clock.now!;
    await backup(j.id, 'failed');
    expect((await getJob(j.id)).health).toEqual({
      state: 'failing',
      reason: 'the last backup failed',
      since: new Date(failedAt).toISOString(),
    });

    // a run whose runner went silent is interrupted by the lease sweep: still failing, same since
    const run = await ctl.api('POST', `/jobs/${j.id}/run`);
    await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    await sweepExpiredLeases(ctl.db, ctl.clock.now! + 10 * 60_000);
    expect((await ctl.api('GET', `/events/${run.body.eventId}`)).body.status).toBe('interrupted');
    const g = await getJob(j.id);
    expect(g.lastBackup?.status).toBe('interrupted');
    expect(g.health).toMatchObject({
      state: 'failing',
      reason: 'the last backup was interrupted',
      since: new Date(failedAt).toISOString(),
    });

    await backup(j.id, 'success');
    expect((await getJob(j.id)).health.state).toBe('ok');
    await ctl.api('PATCH', `/jobs/${j.id}`, { enabled: false });
    expect((await getJob(j.id)).health.state).toBe('disabled');
  });

  it('an explicit RPO replaces the default; a manual job has none; bad values are a 400 naming rpoSeconds', async () => {
    const j = (await ctl.api('POST', '/jobs', job({ schedule: '0 3 * * *', rpoSeconds: 6 * 3600 }))).body;
    expect(j).toMatchObject({ rpoSeconds: 21600, rpoEffectiveSeconds: 21600 });
    const p = (await ctl.api('PATCH', `/jobs/${j.id}`, { rpoSeconds: null })).body;
    expect(p).toMatchObject({ rpoSeconds: null, rpoEffectiveSeconds: 2 * 86_400 });
    const manual = (await ctl.api('POST', '/jobs', job({ name: 'manual' }))).body;
    expect(manual.rpoEffectiveSeconds).toBeNull();
    ctl.clock.now = T0 + 9999 * H;
    expect((await getJob(manual.id)).health.state).toBe('ok');
    for (const bad of [30, 1.5, '3600', 400 * 86_400]) {
      const r = await ctl.api<ApiErrorBody>('POST', '/jobs', job({ name: 'bad', rpoSeconds: bad }));
      expect(r.status).toBe(400);
      expect(Object.keys(r.body.error.fields)).toEqual(['rpoSeconds']);
    }
  });
});

describe('metrics', () => {
  it('per-job gauges with escaped labels, counters that survive event retention, runners and the build', async () => {
    const name = 'we"ird\\name';
    const j = (await ctl.api('POST', '/jobs', job({ name, schedule: '0 * * * *' }))).body;
    await backup(j.id, 'success', 120_000, 777);
    const okAt = ctl.clock.now!;
    await backup(j.id, 'failed', 30_000);
    ctl.clock.now! += 60_000;
    const text = await metrics();
    const l = `job="we\\"ird\\\\name",node="n1",target="t1"`;
    expect(text).toContain('# TYPE lifeboat_events_finished_total counter');
    expect(sample(text, 'lifeboat_job_last_success_timestamp_seconds', l)).toBe(okAt / 1000);
    expect(sample(text, 'lifeboat_job_rpo_seconds', l)).toBe((ctl.clock.now! - okAt) / 1000);
    expect(sample(text, 'lifeboat_job_rpo_limit_seconds', l)).toBe(7200);
    expect(sample(text, 'lifeboat_job_last_run_duration_seconds', l)).toBe(30);
    expect(sample(text, 'lifeboat_job_health', `${l},state="failing"`)).toBe(1);
    expect(sample(text, 'lifeboat_events_finished_total', 'kind="backup",status="success"')).toBe(1);
    expect(sample(text, 'lifeboat_events_finished_total', 'kind="backup",status="failed"')).toBe(1);
    expect(sample(text, 'lifeboat_runner_last_seen_timestamp_seconds', 'node="n1"')).toBeGreaterThan(0);
    expect(sample(text, 'lifeboat_build_info', `version="${LIFEBOAT_VERSION}"`)).toBe(1);

    // retention deletes the finished events: the counters stay (a counter never goes down)
    await applyEventRetention(ctl.db, ctl.clock.now! + 400 * 86_400_000, { perJob: 200, failedDays: 30, maxAgeDays: 90, maxRows: 10_000 });
    expect((await ctl.api('GET', '/events')).body.items).toHaveLength(0);
    const after = await metrics();
    expect(sample(after, 'lifeboat_events_finished_total', 'kind="backup",status="success"')).toBe(1);
    expect(sample(after, 'lifeboat_events_finished_total', 'kind="backup",status="failed"')).toBe(1);
    expect(sample(after, 'lifeboat_job_last_success_timestamp_seconds', l)).toBe(okAt / 1000);
  });

  it("the server's SQL statements, reads and writes apart: a write through the API counts, a read-only request only reads", async () => {
    const before = await metrics();
    const reads0 = sample(before, 'lifeboat_db_statements_total', 'kind="read"')!;
    const writes0 = sample(before, 'lifeboat_db_statements_total', 'kind="write"')!;
    expect(reads0).toBeGreaterThan(0); // beforeEach joined a node and made a target
    expect(writes0).toBeGreaterThan(0);
    await ctl.api('POST', '/jobs', job());
    const mid = await metrics();
    expect(sample(mid, 'lifeboat_db_statements_total', 'kind="write"')).toBeGreaterThan(writes0);
    await ctl.api('GET', '/jobs');
    const after = await metrics();
    expect(sample(after, 'lifeboat_db_statements_total', 'kind="write"')).toBe(sample(mid, 'lifeboat_db_statements_total', 'kind="write"'));
    expect(sample(after, 'lifeboat_db_statements_total', 'kind="read"')).toBeGreaterThan(
      sample(mid, 'lifeboat_db_statements_total', 'kind="read"')!,
    );
  });

  it('the build version is the package version', () => {
    expect(LIFEBOAT_VERSION).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });
});
