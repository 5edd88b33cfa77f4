// Retention policies at the API: validation, the simple form, what reaches the runner, and the
// preview over what the last backup reported (source) and the catalog (target).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startControl, joinNode, makeTarget, type TestControl } from '../helpers/control.ts';
import { claimedJob, type ApiErrorBody, type RetentionPreview } from '../helpers/api.ts';

let ctl: TestControl;
let node: { id: number; token: string };
let targetId: number;
const root = 'backup/lifeboat';

beforeEach(async () => {
  ctl = await startControl();
  node = await joinNode(ctl, 'n1', ['tank', 'tank/data']);
  targetId = (await makeTarget(ctl)).id;
});
afterEach(() => ctl.close());

const job = (over: Record<string, unknown> = {}) => ({ name: 'nightly', targetId, mode: 'dataset', source: 'tank/data', ...over });
const count = async (table: string) => (await ctl.db.all<{ n: number }>(sql.raw(`SELECT count(*) AS n FROM ${table}`)))[0].n;

/** Run Now + claim + finish with a result, as a runner would; returns the claimed job spec. */
async function backupWith(jobId: number, result: Record<string, unknown>) {
  const run = await ctl.api('POST', `/jobs/${jobId}/run`);
  const claim = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  const fin = await ctl.node(node.token, `/runner/events/${run.body.eventId}/finish`, { status: 'success', result });
  expect(fin.status).toBe(200);
  return { eventId: run.body.eventId as number, spec: claimedJob(claim.body.events[0]) };
}

describe('retention policies', () => {
  it.each([
    ['sourceRetention.daily', { sourceRetention: { daily: -1 } }, /≥ 0/],
    ['sourceRetention.hourly', { sourceRetention: { hourly: 2.5 } }, /integer/],
    ['targetRetention.within', { targetRetention: { within: '2 days' } }, /duration like 48h/],
    ['targetRetention.weekly', { targetRetention: { weekly: 1_000_000 } }, /at most/],
    ['targetRetention.secondly', { targetRetention: { secondly: 1 } }, /not a known field/],
  ])('rejects bad %s with the field named and writes nothing', async (field, over, msg) => {
    const r = await ctl.api<ApiErrorBody>('POST', '/jobs', job(over));
    expect(r.status).toBe(400);
    expect(r.body.error.fields[field]).toMatch(msg);
    expect(await count('jobs')).toBe(0);
  });

  it('policies round-trip with omitted counts as 0; the runner gets the policy in force per side and the zone', async () => {
    const simple = await ctl.api('POST', '/jobs', job({ keepLast: 4, timezone: 'Europe/Berlin' }));
    expect(simple.body).toMatchObject({ sourceRetention: null, targetRetention: null });
    await ctl.api('POST', `/jobs/${simple.body.id}/run`);
    const c1 = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    const last4 = { last: 4, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0, within: null };
    // the simple form: Keep Last on the source; the target only with Prune on Target
    expect(claimedJob(c1.body.events[0])).toMatchObject({ timezone: 'Europe/Berlin', retention: { source: last4, target: null } });

    const p = await ctl.api('PATCH', `/jobs/${simple.body.id}`, { targetRetention: { daily: 7, monthly: 6, within: '48h' } });
    expect(p.status).toBe(200);
    expect(p.body.targetRetention).toEqual({ last: 0, hourly: 0, daily: 7, weekly: 0, monthly: 6, yearly: 0, within: '48h' });
    expect(p.body.sourceRetention).toBeNull();
    const [row] = await ctl.db.all<{ t: string }>(sql`SELECT target_retention AS t FROM jobs WHERE id = ${simple.body.id}`);
    expect(JSON.parse(row.t)).toEqual(p.body.targetRetention);
  });

  it('previews both sides over the last backup and the catalog; an unsaved policy is previewed by POST', async () => {
    const j = (await ctl.api('POST', '/jobs', job({ keepLast: 2, pruneTarget: true }))).body;
    const name = (day: number) => `lb_j${j.id}_202611${day}T020000Z`;
    const at = (day: number) => `2026-11-${day}T02:00:00.000Z`;
    const days = [24, 25, 26, 27, 28];
    const tgtSnap = (day: number) => ({
      name: name(day),
      guid: String(day),
      createtxg: String(100 + day),
      createdAt: at(day),
      usedBytes: 1,
      referencedBytes: 1,
      jobId: j.id,
      generation: 1,
    });
    const srcSnap = (day: number) => ({
      name: name(day),
      guid: String(day),
      createtxg: String(day),
      creation: Date.parse(at(day)) / 1000,
      jobId: j.id,
      generation: 1,
      userrefs: day === 28 ? 1 : 0,
    });
    ctl.clock.now = Date.parse('2026-11-28T03:00:00Z');
    await backupWith(j.id, {
      generation: 1,
      snapshot: name(28),
      catalog: [
        { dataset: `${root}/j${j.id}`, jobId: j.id, generation: null, source: null, guest: null, snapshots: [] },
        {
          dataset: `${root}/j${j.id}/g1/tank/data`,
          jobId: j.id,
          generation: 1,
          source: 'tank/data',
          guest: null,
          snapshots: days.map(tgtSnap),
        },
      ],
      sourceSnapshots: [
        {
          dataset: 'tank/data',
          snapshots: [...days.slice(3).map(srcSnap), { ...srcSnap(20), name: 'hand-made', guid: '999', jobId: null }],
        },
      ],
    });
    // the source listing is kept in its own table, not in the event's stored result
    const ev = (await ctl.api('GET', '/events?kind=backup')).body.items[0];
    expect(await count('source_snapshots')).toBe(3);
    expect(JSON.stringify((await ctl.api('GET', `/events/${ev.id}`)).body)).not.toContain('hand-made');

    const src = await ctl.api<RetentionPreview>('GET', `/jobs/${j.id}/retention/preview?side=source`);
    expect(src.status).toBe(200);
    expect(src.body.policy).toMatchObject({ last: 2 });
    expect(src.body.datasets).toHaveLength(1);
    expect(
      src.body.datasets[0].snapshots.map((s: { name: string; keep: boolean; reasons: string[] }) => [s.name, s.keep, s.reasons]),
    ).toEqual([
      [name(28), true, ['last 2', 'newest common', 'held']],
      [name(27), true, ['last 2']],
      ['hand-made', true, ['not ours']],
    ]);

    const tgt = await ctl.api<RetentionPreview>('GET', `/jobs/${j.id}/retention/preview?side=target`);
    expect(tgt.status).toBe(200);
    const verdicts = tgt.body.datasets[0].snapshots.map((s: { name: string; keep: boolean; reasons: string[] }) => [
      s.name,
      s.keep,
      s.reasons.join('; '),
    ]);
    expect(verdicts).toEqual([
      [name(28), true, 'last 2; newest common'],
      [name(27), true, 'last 2'],
      [name(26), false, 'no rule keeps it (last 2)'],
      [name(25), false, 'no rule keeps it (last 2)'],
      [name(24), false, 'no rule keeps it (last 2)'],
    ]);

    // the same listing under an unsaved calendar policy
    const body = {
      side: 'target',
      jobId: j.id,
      generation: 1,
      timezone: 'UTC',
      now: '2026-11-28T03:00:00Z',
      policy: { last: 1, daily: 2 },
      datasets: tgt.body.datasets.map((d: { dataset: string; otherSideGuids: string[]; snapshots: Record<string, unknown>[] }) => ({
        dataset: d.dataset,
        otherSideGuids: d.otherSideGuids,
        snapshots: d.snapshots.map(({ keep: _k, reasons: _r, ...s }) => s),
      })),
    };
    const sim = await ctl.api<RetentionPreview>('POST', '/jobs/retention/preview', body);
    expect(sim.status).toBe(200);
    expect(sim.body.datasets[0].snapshots.map((s: { keep: boolean; reasons: string[] }) => s.reasons.join('; '))).toEqual([
      'last 1; daily 2026-11-28; newest common',
      'daily 2026-11-27',
      'no rule keeps it (last 1, daily 2)',
      'no rule keeps it (last 1, daily 2)',
      'no rule keeps it (last 1, daily 2)',
    ]);
    // a preview changes nothing
    expect((await ctl.api('GET', `/jobs/${j.id}`)).body).toMatchObject({ keepLast: 2, targetRetention: null });
  });

  it('POST preview: bad input is a 400 naming the field', async () => {
    const base = { side: 'target', jobId: 1, generation: 1, timezone: 'UTC', policy: null, datasets: [] };
    for (const [over, field] of [
      [{ timezone: 'Mars/Olympus' }, 'timezone'],
      [{ generation: undefined }, 'generation'],
      [{ policy: { daily: -2 } }, 'policy.daily'],
      [
        { datasets: [{ dataset: 'x', snapshots: [{ name: 'a', guid: 'zz', createtxg: '1', createdAt: 'x', jobId: 1, generation: 1 }] }] },
        'datasets.0.snapshots.0.guid',
      ],
    ] as const) {
      const r = await ctl.api<ApiErrorBody>('POST', '/jobs/retention/preview', { ...base, ...over });
      expect(r.status, field).toBe(400);
      expect(Object.keys(r.body.error.fields), field).toContain(field);
    }
  });

  it('a malformed source snapshot report is named in the event log and stores nothing', async () => {
    const j = (await ctl.api('POST', '/jobs', job({ keepLast: 2 }))).body;
    const { eventId } = await backupWith(j.id, {
      generation: 1,
      snapshot: `lb_j${j.id}_20261128T020000Z`,
      sourceSnapshots: [{ dataset: 'tank/data; reboot', snapshots: [] }],
    });
    expect(await count('source_snapshots')).toBe(0);
    const log = (await ctl.api('GET', `/events/${eventId}/log`)).body.items.map((l: { message: string }) => l.message).join('\n');
    expect(log).toMatch(/source snapshot report rejected/);
  });
});

describe('old generations', () => {
  /** A job whose generations 1..current exist, generation g began g days after T. */
  async function jobWithGenerations(current: number, over: Record<string, unknown> = {}) {
    const j = (await ctl.api('POST', '/jobs', job(over))).body;
    const T = Date.parse('2026-11-01T00:00:00Z');
    for (let g = 2; g <= current; g++)
      await ctl.db.run(
        sql`INSERT INTO generations (job_id, generation, reason, created_at) VALUES (${j.id}, ${g}, 'test', ${T + g * 86_400_000})`,
      );
    await ctl.db.run(sql`UPDATE jobs SET current_generation = ${current} WHERE id = ${j.id}`);
    const catalog = (g: number) => ({
      dataset: `${root}/j${j.id}/g${g}/tank/data`,
      jobId: j.id,
      generation: g,
      source: 'tank/data',
      guest: null,
      snapshots: [
        {
          name: `lb_j${j.id}_g${g}`,
          guid: String(1000 + g),
          createtxg: '1',
          createdAt: '2026-11-20T00:00:00Z',
          usedBytes: 1,
          referencedBytes: 1,
          jobId: j.id,
          generation: g,
        },
      ],
    });
    return { j, catalog };
  }

  it('a new job keeps 2; the claim names the older ones with why; a job from before keeps all', async () => {
    const { j } = await jobWithGenerations(4);
    expect(j).toMatchObject({ keepGenerations: 2, keepGenerationDays: null });
    const { eventId } = await backupWith(j.id, { generation: 4, snapshot: 'x' });
    const [ev] = await ctl.db.all<{ p: string }>(sql`SELECT params AS p FROM events WHERE id = ${eventId}`);
    expect(JSON.parse(ev.p).dropGenerations).toEqual([
      { generation: 2, reason: 'not one of the newest 2' },
      { generation: 1, reason: 'not one of the newest 2' },
    ]);
    const { j: legacy } = await jobWithGenerations(4, { name: 'legacy', source: 'tank/data' });
    await ctl.db.run(sql`UPDATE jobs SET keep_generations = NULL WHERE id = ${legacy.id}`);
    await ctl.api('POST', `/jobs/${legacy.id}/run`);
    const claim = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect((claim.body.events[0] as { dropGenerations?: unknown }).dropGenerations).toEqual([]);
  });

  it('never one a restore reads or the fork point; a dropped one leaves the catalog and the generations list; only what was offered counts', async () => {
    const { j, catalog } = await jobWithGenerations(4, { keepGenerations: 1 });
    // generation 1 is read by a queued out-of-band restore; generation 2 is where the next backup forks from
    await ctl.db.run(
      sql`INSERT INTO events (kind, node_id, target_id, trigger, status, params, created_at, lease_until)
          VALUES ('oob-restore', ${node.id}, ${targetId}, 'manual', 'running', ${JSON.stringify({ sourceJobId: j.id, generation: 1 })}, 0, ${Date.now() + 3_600_000})`,
    );
    await ctl.db.run(sql`UPDATE jobs SET fork_from_generation = 2, fork_from_guid = '1002' WHERE id = ${j.id}`);
    const first = await backupWith(j.id, {
      generation: 4,
      snapshot: 'a',
      catalog: [1, 2, 3, 4].map(catalog),
      droppedGenerations: [],
    });
    const [ev] = await ctl.db.all<{ p: string }>(sql`SELECT params AS p FROM events WHERE id = ${first.eventId}`);
    expect(JSON.parse(ev.p).dropGenerations).toEqual([{ generation: 3, reason: 'not one of the newest 1' }]);

    // the fork is done; the next claim offers 3 and 2, the runner says it destroyed 3 and 1 (not offered: ignored)
    await ctl.db.run(sql`UPDATE jobs SET fork_from_generation = NULL, fork_from_guid = NULL WHERE id = ${j.id}`);
    const before = (await ctl.api('GET', `/jobs/${j.id}/generations`)).body.map((g: { generation: number }) => g.generation);
    expect(before).toEqual([4, 3, 2, 1]);
    const second = await backupWith(j.id, { generation: 4, snapshot: 'b', droppedGenerations: [3, 1] });
    const [ev2] = await ctl.db.all<{ p: string }>(sql`SELECT params AS p FROM events WHERE id = ${second.eventId}`);
    expect(JSON.parse(ev2.p).dropGenerations.map((d: { generation: number }) => d.generation)).toEqual([3, 2]);
    const after = (await ctl.api('GET', `/jobs/${j.id}/generations`)).body.map((g: { generation: number }) => g.generation);
    expect(after).toEqual([4, 2, 1]);
    const [gen3] = await ctl.db.all<{ d: number | null; r: string | null }>(
      sql`SELECT dropped_at AS d, dropped_reason AS r FROM generations WHERE job_id = ${j.id} AND generation = 3`,
    );
    expect(gen3.d).not.toBeNull();
    expect(gen3.r).toBe('not one of the newest 1');
    const left = await ctl.db.all<{ dataset: string }>(sql`SELECT dataset FROM catalog_datasets WHERE job_id = ${j.id} ORDER BY dataset`);
    expect(left.map((d) => d.dataset)).toEqual([1, 2, 4].map((g) => `${root}/j${j.id}/g${g}/tank/data`));
  });

  it('an out-of-band restore from a generation a running backup is destroying is a 409 naming generation', async () => {
    const { j, catalog } = await jobWithGenerations(3, { keepGenerations: 1 });
    await backupWith(j.id, { generation: 3, snapshot: 'a', catalog: [1, 2, 3].map(catalog) });
    await ctl.api('POST', `/jobs/${j.id}/run`);
    await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    const r = await ctl.api<ApiErrorBody>('POST', '/restores', {
      targetId,
      dataset: `${root}/j${j.id}/g1/tank/data`,
      generation: 1,
      snapshot: `lb_j${j.id}_g1`,
      destination: 'tank/restored',
    });
    expect(r.status).toBe(409);
    expect(r.body.error.fields.generation).toMatch(/being destroyed/);
  });

  it('bad policies are a 400 naming the field', async () => {
    for (const [over, field] of [
      [{ keepGenerations: 0 }, 'keepGenerations'],
      [{ keepGenerations: 2.5 }, 'keepGenerations'],
      [{ keepGenerationDays: -1 }, 'keepGenerationDays'],
    ] as const) {
      const r = await ctl.api<ApiErrorBody>('POST', '/jobs', job(over));
      expect(r.status).toBe(400);
      expect(Object.keys(r.body.error.fields)).toEqual([field]);
    }
  });
});
