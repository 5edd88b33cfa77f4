// GET /overview (the UI's home page) on a real libSQL file DB with a test clock: one job in each
// health state, failures of the last 24 h only, a silent node, a target not ready from it, the
// work now; restores are not a job's last backup.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { jobHealth } from '../../functions/src/services/job-health.ts';
import { changeCursor } from '../../functions/src/services/event-changes.ts';
import { startControl, joinNode, makeJob, makeTarget, type TestControl } from '../helpers/control.ts';

let ctl: TestControl;
const H = 3600_000;
const T0 = Date.parse('2026-11-25T10:30:00Z');
const root = 'backup/lifeboat';

beforeEach(async () => {
  ctl = await startControl();
  ctl.clock.now = T0;
});
afterEach(() => ctl.close());

describe('GET /overview', () => {
  it('every job with its health, last backup and size on target; failures of 24 h; nodes offline; targets not ready; the work now', async () => {
    const n1 = await joinNode(ctl, 'n1');
    const n2 = await joinNode(ctl, 'n2');
    const t = await makeTarget(ctl);
    // t1 is ready from n1 and never validated from n2
    const v = await ctl.api('POST', `/targets/${t.id}/validate`, { nodeId: n1.id });
    await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
    const fingerprint = 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
    await ctl.node(n1.token, `/runner/events/${v.body.eventId}/finish`, {
      status: 'success',
      result: { hostKey: '[backup.example.org]:22 ssh-ed25519 AAAAC3', fingerprint },
    });
    expect((await ctl.api('POST', `/targets/${t.id}/host-key/confirm`, { fingerprint })).status).toBe(200);

    // No schedules (a due run would be claimed in between): an explicit RPO of 2 h each.
    const hourly = { rpoSeconds: 2 * 3600, nodeId: n1.id };
    const good = await makeJob(ctl, t.id, { name: 'good', ...hourly });
    const bad = await makeJob(ctl, t.id, { name: 'bad', ...hourly });
    const late = await makeJob(ctl, t.id, { name: 'late', ...hourly });
    const off = await makeJob(ctl, t.id, { name: 'off', ...hourly, schedule: '0 * * * *', enabled: false });
    const manual = await makeJob(ctl, t.id, { name: 'manual', nodeId: n1.id });

    /** Run Now (or the given event), claim, let `ms` pass, finish as a runner would. */
    async function run(jobId: number, status: 'success' | 'failed', result: Record<string, unknown> | null = null, eventId?: number) {
      const id = eventId ?? (await ctl.api('POST', `/jobs/${jobId}/run`)).body.eventId;
      await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
      ctl.clock.now! += 90_000;
      const fin = await ctl.node(n1.token, `/runner/events/${id}/finish`, { status, result, error: status === 'failed' ? 'boom' : null });
      expect(fin.status).toBe(200);
      return id;
    }

    await run(bad.id, 'failed'); // more than 24 h before the overview: not counted
    ctl.clock.now = T0 + 26 * H;
    const snap = (name: string, t: string, used: number, referenced: number) => ({
      name,
      guid: String(used),
      createtxg: '1',
      createdAt: t,
      usedBytes: used,
      referencedBytes: referenced,
      jobId: good.id,
      generation: 1,
    });
    const newest = `lb_j${good.id}_20261126T123000Z`;
    await run(good.id, 'success', {
      generation: 1,
      snapshot: newest,
      bytesSent: 4096,
      catalog: [
        {
          dataset: `${root}/j${good.id}/g1/tank/data`,
          jobId: good.id,
          generation: 1,
          source: 'tank/data',
          guest: null,
          snapshots: [
            snap(`lb_j${good.id}_20261126T113000Z`, '2026-11-26T11:30:00Z', 300, 9000),
            snap(newest, '2026-11-26T12:30:00Z', 200, 10_000),
          ],
        },
      ],
    });
    const goodDoneAt = ctl.clock.now!;
    // A restore afterwards is not the job's last backup.
    const restore = await ctl.api('POST', `/jobs/${good.id}/restore`, { generation: 1, snapshot: newest });
    expect(restore.status).toBe(202);
    await run(good.id, 'failed', null, restore.body.eventId);
    await run(bad.id, 'failed');
    // The work now: manual's backup, running with progress (n1 is in touch; n2 was last seen at T0).
    const queued = (await ctl.api('POST', `/jobs/${manual.id}/run`)).body.eventId;
    await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
    await ctl.node(n1.token, `/runner/events/${queued}/progress`, { phase: 'transferring', bytesDone: 512, bytesTotal: 2048 });

    const r = await ctl.api('GET', '/overview');
    expect(r.status).toBe(200);
    const o = r.body;
    expect(o.at).toBe(new Date(ctl.clock.now!).toISOString());
    expect(o.jobs.map((j) => [j.name, j.health.state])).toEqual([
      ['bad', 'failing'],
      ['late', 'overdue'],
      ['good', 'ok'],
      ['manual', 'ok'],
      ['off', 'disabled'],
    ]);
    expect(o.health).toEqual({ ok: 2, overdue: 1, failing: 1, disabled: 1 });
    expect([o.jobsTotal, o.jobsBackedUp]).toEqual([5, 1]);
    // ?jobs=N: the worst N lines only; the counts still cover every job
    const firstTwo = (await ctl.api('GET', '/overview?jobs=2')).body as typeof o;
    expect(firstTwo.jobs.map((j) => j.name)).toEqual(['bad', 'late']);
    expect([firstTwo.jobsTotal, firstTwo.jobsBackedUp, firstTwo.health]).toEqual([5, 1, o.health]);
    for (const bad of ['0', '-1', 'x', '1.5']) {
      const b = await ctl.api('GET', `/overview?jobs=${bad}`);
      expect(b.status, bad).toBe(400);
      expect((b.body as { error: { fields: Record<string, string> } }).error.fields.jobs, bad).toBeTruthy();
    }
    const byName = Object.fromEntries(o.jobs.map((j) => [j.name, j]));
    expect(byName.good).toMatchObject({
      id: good.id,
      nodeName: 'n1',
      targetName: 't1',
      lastSuccessAt: new Date(goodDoneAt).toISOString(),
      lastBackup: { status: 'success', durationSeconds: 90, bytes: 4096 },
      targetBytes: 300 + 200 + 10_000,
      activeEventId: null,
    });
    expect(byName.bad).toMatchObject({ lastBackup: { status: 'failed' }, lastSuccessAt: null, targetBytes: null });
    expect(byName.late).toMatchObject({ lastBackup: null, health: { reason: expect.stringMatching(/no successful backup yet/) } });
    expect(byName.off.nextRunAt).toBeNull();
    expect(byName.manual.activeEventId).toBe(queued);
    expect(late.id).toBe(byName.late.id);
    expect(off.id).toBe(byName.off.id);

    // failures of the last 24 hours: bad's second backup and good's restore, not bad's first backup
    expect(o.failures24h).toEqual([
      { kind: 'backup', status: 'failed', count: 1 },
      { kind: 'restore', status: 'failed', count: 1 },
    ]);
    expect(o.nodes).toEqual({ total: 2, offline: [{ id: n2.id, name: 'n2', lastSeenAt: new Date(T0).toISOString() }] });
    expect(o.targets.total).toBe(1);
    expect(o.targets.ready).toBe(1); // Ready as on the Targets page: pinned, ready from n1, failed from none
    expect(o.targets.notReady).toEqual([
      { id: t.id, name: 't1', nodes: [expect.objectContaining({ nodeId: n2.id, nodeName: 'n2', state: 'not-validated' })] },
    ]);
    expect(o.active).toEqual([
      expect.objectContaining({ id: queued, jobId: manual.id, status: 'running', bytesDone: 512, bytesTotal: 2048 }),
    ]);
    expect(JSON.stringify(o)).not.toMatch(/PRIVATE KEY|sshPrivateKey/);
  });

  it('an empty install answers with empty lists; a read token may read it; no credentials is a 401', async () => {
    const r = await ctl.api('GET', '/overview');
    expect(r.body).toEqual({
      at: new Date(T0).toISOString(),
      jobs: [],
      jobsTotal: 0,
      jobsBackedUp: 0,
      health: { ok: 0, overdue: 0, failing: 0, disabled: 0 },
      failures24h: [],
      nodes: { total: 0, offline: [] },
      targets: { total: 0, ready: 0, notReady: [] },
      active: [],
      changeCursor: 0,
    });
    const tok = await ctl.api('POST', '/auth/tokens', { name: 'ro', scope: 'read' });
    expect((await ctl.api('GET', '/overview', undefined, { authorization: `Bearer ${tok.body.token}` })).status).toBe(200);
    expect((await ctl.api('GET', '/overview', undefined, { authorization: '' })).status).toBe(401);
  });

  it('the health counted and ordered by SQL is jobHealth, at the edges too; ?jobs=N lists the first N of that order by name', async () => {
    const sets = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((x) => `tank/data/${x}`);
    const n1 = await joinNode(ctl, 'n1', ['tank', 'tank/data', ...sets]);
    const t = await makeTarget(ctl);
    const RPO = 2 * 3600;
    // [name, columns]: the rows a trigger or an edit would leave, written directly
    const at = T0 + 100 * H;
    const cases: [string, { enabled?: number; failing?: number | null; success?: number | null; rpo?: number | null; created?: number }][] =
      [
        ['exactly at the RPO', { success: at - RPO * 1000 }], // now > deadline is false: ok
        ['one ms past the RPO', { success: at - RPO * 1000 - 1 }],
        ['never backed up, created within the RPO', { success: null, created: at - RPO * 1000 }],
        ['never backed up, created before it', { success: null, created: at - RPO * 1000 - 1 }],
        ['failing and past the RPO', { failing: at - 5 * H, success: at - 10 * H }],
        ['disabled and failing', { enabled: 0, failing: at - 5 * H, success: null }],
        ['manual, no RPO, never backed up', { rpo: null, success: null, created: T0 - 1000 * H }],
        ['Zed recent', { success: at - 1000 }],
      ];
    const ids: number[] = [];
    for (const [i, [name, c]] of cases.entries()) {
      const j = await makeJob(ctl, t.id, { name, nodeId: n1.id, source: sets[i], rpoSeconds: RPO });
      ids.push(j.id);
      await ctl.db.run(sql`UPDATE jobs SET enabled = ${c.enabled ?? 1}, failing_since = ${c.failing ?? null},
        last_success_at = ${c.success ?? null}, rpo_effective_seconds = ${c.rpo === undefined ? RPO : c.rpo},
        created_at = ${c.created ?? T0} WHERE id = ${j.id}`);
    }
    ctl.clock.now = at;
    const o = (await ctl.api('GET', '/overview')).body;
    const states = Object.fromEntries(o.jobs.map((j) => [j.name, j.health.state]));
    expect(states).toEqual({
      'exactly at the RPO': 'ok',
      'one ms past the RPO': 'overdue',
      'never backed up, created within the RPO': 'ok',
      'never backed up, created before it': 'overdue',
      'failing and past the RPO': 'failing',
      'disabled and failing': 'disabled',
      'manual, no RPO, never backed up': 'ok',
      'Zed recent': 'ok',
    });
    // each state as jobHealth gives it for the row (the lines), and the counts and order from SQL agree with them
    const rows = await ctl.db.all<Record<string, number | null>>(
      sql`SELECT id, enabled, updated_at AS updatedAt, created_at AS createdAt, last_success_at AS lastSuccessAt,
                 last_backup_status AS lastBackupStatus, failing_since AS failingSince, rpo_effective_seconds AS rpoEffectiveSeconds FROM jobs`,
    );
    for (const r of rows) {
      const line = o.jobs.find((j) => j.id === r.id)!;
      expect(jobHealth({ ...r, enabled: r.enabled === 1 } as never, at).state, line.name).toBe(line.health.state);
    }
    expect(o.health).toEqual({ ok: 4, overdue: 2, failing: 1, disabled: 1 });
    expect(o.jobs.map((j) => j.name)).toEqual([
      'failing and past the RPO',
      'never backed up, created before it',
      'one ms past the RPO',
      'exactly at the RPO',
      'manual, no RPO, never backed up',
      'never backed up, created within the RPO',
      'Zed recent',
      'disabled and failing',
    ]);
    // the first N of the same order, names as people sort them (not by code point: 'Zed' after 'never')
    for (const n of [1, 3, 4, 7]) {
      const first = (await ctl.api('GET', `/overview?jobs=${n}`)).body as typeof o;
      expect(first.jobs.map((j) => j.name)).toEqual(o.jobs.slice(0, n).map((j) => j.name));
      expect(first.jobs).toEqual(o.jobs.slice(0, n));
      expect([first.jobsTotal, first.health]).toEqual([8, o.health]);
    }
  });

  it('changeCursor: the event change number the answer was read at, as the event stream counts them', async () => {
    const n1 = await joinNode(ctl, 'n1');
    const t = await makeTarget(ctl);
    const job = await makeJob(ctl, t.id, { nodeId: n1.id });
    const before = (await ctl.api('GET', '/overview')).body;
    expect(before.changeCursor).toBe(await changeCursor(ctl.db));
    const ev = (await ctl.api('POST', `/jobs/${job.id}/run`)).body.eventId;
    const queued = (await ctl.api('GET', '/overview')).body;
    expect(queued.changeCursor).toBeGreaterThan(before.changeCursor);
    expect(queued.changeCursor).toBe(await changeCursor(ctl.db));
    // what the cursor counts shows in the answer: the queued event
    expect(queued.active.map((e) => e.id)).toEqual([ev]);
  });

  it('failures of 24 h stay right from answer to answer: new failures, a deleted one, a note, the window moving on, a clock set back', async () => {
    const n1 = await joinNode(ctl, 'n1');
    const t = await makeTarget(ctl);
    const job = await makeJob(ctl, t.id, { nodeId: n1.id });
    /** What a full read gives now: the answer must always say the same. */
    const truth = async () =>
      (
        await ctl.db.all<{ kind: string; status: string; count: number }>(sql`
          SELECT kind, status, COUNT(*) AS count FROM events WHERE status IN ('failed', 'interrupted')
          AND finished_at >= ${ctl.clock.now! - 24 * H} GROUP BY kind, status ORDER BY kind, status`)
      ).map((r) => ({ ...r, count: Number(r.count) }));
    const check = async (want: { kind: string; status: string; count: number }[]) => {
      expect(await truth()).toEqual(want); // the case is what it says
      expect((await ctl.api('GET', '/overview')).body.failures24h).toEqual(want);
    };
    async function fail(status: 'failed' | 'interrupted' = 'failed') {
      const id = (await ctl.api('POST', `/jobs/${job.id}/run`)).body.eventId;
      await ctl.node(n1.token, '/runner/claim', { max: 1, waitMs: 0 });
      await ctl.node(n1.token, `/runner/events/${id}/finish`, { status, error: 'boom' });
      return id;
    }
    const insertEnded = (kind: string, status: string, finishedAt: number) =>
      ctl.db.run(sql`INSERT INTO events (kind, job_id, node_id, target_id, trigger, status, created_at, started_at, finished_at)
        VALUES (${kind}, ${job.id}, ${n1.id}, ${t.id}, 'manual', ${status}, ${finishedAt - 1000}, ${finishedAt - 1000}, ${finishedAt})`);

    await check([]);
    const first = await fail();
    await check([{ kind: 'backup', status: 'failed', count: 1 }]);
    ctl.clock.now = T0 + H;
    const second = await fail('interrupted');
    await check([
      { kind: 'backup', status: 'failed', count: 1 },
      { kind: 'backup', status: 'interrupted', count: 1 },
    ]);
    // a note on a failed event changes it, not the count; a deleted event (retention) takes no change number
    await ctl.db.run(sql`UPDATE events SET note = 'looked at' WHERE id = ${first}`);
    await check([
      { kind: 'backup', status: 'failed', count: 1 },
      { kind: 'backup', status: 'interrupted', count: 1 },
    ]);
    await ctl.db.run(sql`DELETE FROM events WHERE id = ${second}`);
    await check([{ kind: 'backup', status: 'failed', count: 1 }]);
    // an event that failed long ago is no failure of the last 24 h; one written as failed an hour ago is
    await insertEnded('restore', 'failed', T0 - 48 * H);
    await insertEnded('validate', 'interrupted', T0);
    await check([
      { kind: 'backup', status: 'failed', count: 1 },
      { kind: 'validate', status: 'interrupted', count: 1 },
    ]);
    // the window moves on: what finished at T0 leaves it, with no change at all
    ctl.clock.now = T0 + 24 * H + 1;
    await check([]);
    // a clock set back: a window that starts earlier than any answer before looked
    ctl.clock.now = T0 + 2 * H;
    await check([
      { kind: 'backup', status: 'failed', count: 1 },
      { kind: 'validate', status: 'interrupted', count: 1 },
    ]);
  });
});
