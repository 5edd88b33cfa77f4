import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startControl, joinNode, makeTarget, type TestControl } from '../helpers/control.ts';
import { claimedJob, claimedTarget, type ApiErrorBody } from '../helpers/api.ts';

let ctl: TestControl;
let targetId: number;
let node: { id: number; token: string };
beforeEach(async () => {
  ctl = await startControl();
  node = await joinNode(
    ctl,
    'n1',
    ['tank', 'tank/data', 'tank/data/child'],
    [
      { kind: 'jail', id: '7', name: 'web', roots: ['tank/jails/web'], running: true, provider: 'manifest' },
      { kind: 'vm', id: 'db1', name: 'db1', roots: ['tank/vms/db1', 'fast/vms/db1'], running: false, provider: 'manifest' },
    ],
  );
  targetId = (await makeTarget(ctl)).id;
});
afterEach(() => ctl.close());

const count = async (table: string) => (await ctl.db.all<{ n: number }>(sql.raw(`SELECT count(*) AS n FROM ${table}`)))[0].n;
const job = (over: Record<string, unknown> = {}) => ({ name: 'nightly', targetId, mode: 'dataset', source: 'tank/data', ...over });

describe('jobs', () => {
  it('creates a job, auto-selects the only node and computes nextRunAt in the job zone', async () => {
    ctl.clock.now = Date.parse('2026-01-15T12:00:00Z');
    const r = await ctl.api('POST', '/jobs', job({ schedule: '0 3 * * *', timezone: 'Europe/Berlin', keepLast: 5 }));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      nodeId: 1,
      mode: 'dataset',
      source: 'tank/data',
      keepLast: 5,
      enabled: true,
      recursive: false,
      currentGeneration: 1,
    });
    // 03:00 in Berlin (UTC+1 in January) is 02:00Z.
    expect(r.body.nextRunAt).toBe('2026-01-16T02:00:00.000Z');
  });

  it('uses the configured default zone and allows manual-only jobs', async () => {
    const r = await ctl.api('POST', '/jobs', job());
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ schedule: '', timezone: 'UTC', nextRunAt: null });
  });

  it.each([
    ['schedule', { schedule: '61 * * * *' }, /./],
    ['schedule', { schedule: '0 0 31 2 *' }, /never matches/],
    ['schedule', { schedule: '* * * * * *' }, /5 parts/],
    ['schedule', { schedule: 'hourly' }, /./],
    ['timezone', { schedule: '0 * * * *', timezone: 'Mars/Olympus' }, /unknown time zone/],
    ['timezone', { timezone: 'Not/AZone' }, /unknown time zone/],
    ['keepLast', { keepLast: -1 }, /≥ 0/],
    ['keepLast', { keepLast: 1.5 }, /integer/],
    ['keepLast', { keepLast: '3' }, /./],
    ['source', { source: 'tank/missing' }, /does not exist on node/],
    ['source', { source: 'tank//x' }, /\/\//],
    ['source', { mode: 'jail', source: '99' }, /no jail "99"/],
    ['source', { mode: 'vm', source: '7' }, /no VM "7"/],
    ['stopBeforeBackup', { stopBeforeBackup: true }, /jail and vm/],
    ['targetId', { targetId: 999 }, /does not exist/],
    ['nodeId', { nodeId: 42 }, /does not exist/],
    ['mode', { mode: 'zvol' }, /./],
    ['name', { name: '   ' }, /required/],
    ['recursive', { recursive: 'yes' }, /./],
    ['sendDecrypted', { sendDecrypted: 'yes' }, /./],
    ['sendDecrypted', { sendDecrypted: 1 }, /./],
    ['sendDecrypted', { sendDecrypted: null }, /./],
    ['compressedStream', { compressedStream: 'no' }, /./],
    ['compressedStream', { compressedStream: null }, /./],
    ['bandwidthLimitKiBps', { bandwidthLimitKiBps: -1 }, /≥ 0/],
    ['bandwidthLimitKiBps', { bandwidthLimitKiBps: 1.5 }, /integer/],
    ['bandwidthLimitKiBps', { bandwidthLimitKiBps: '1024' }, /./],
    ['bandwidthLimitKiBps', { bandwidthLimitKiBps: 10_485_761 }, /larger than/],
    ['exclude', { recursive: true, exclude: 'tmp' }, /must be a list/],
    ['exclude', { recursive: true, exclude: ['tmp', '/tank/data/x'] }, /pattern "\/tank\/data\/x" must be relative/],
    ['exclude', { recursive: true, exclude: ['a;reboot'] }, /may contain only/],
    ['exclude', { recursive: true, exclude: ['../up'] }, /\.\./],
    ['exclude', { recursive: true, exclude: Array.from({ length: 33 }, (_, i) => `d${i}`) }, /more than 32/],
    ['exclude', { exclude: ['tmp'] }, /recursive dataset jobs/],
    ['exclude', { mode: 'vm', source: 'db1', exclude: ['disk1'] }, /recursive dataset jobs/],
  ])('rejects bad %s with the field named and writes nothing', async (field, over, msg) => {
    const r = await ctl.api<ApiErrorBody>('POST', '/jobs', job(over));
    expect(r.status).toBe(400);
    expect(r.body.error.fields[field]).toMatch(msg);
    expect(r.body.error.message).toContain(field);
    expect(await count('jobs')).toBe(0);
  });

  it('refuses a disabled target', async () => {
    await ctl.api('PATCH', `/targets/${targetId}`, { enabled: false });
    const r = await ctl.api<ApiErrorBody>('POST', '/jobs', job());
    expect(r.status).toBe(400);
    expect(r.body.error.fields.targetId).toMatch(/disabled/);
    expect(await count('jobs')).toBe(0);
  });

  it('a disabled target takes no backups (Run Now, webhook, schedule); its jobs can still be edited and disabled', async () => {
    ctl.clock.now = Date.parse('2026-03-01T10:30:00Z');
    const j = (await ctl.api('POST', '/jobs', job({ schedule: '0 * * * *' }))).body;
    const hook = (await ctl.api('POST', `/jobs/${j.id}/webhook-token`)).body.token;
    await ctl.api('PATCH', `/targets/${targetId}`, { enabled: false });
    const run = await ctl.api<ApiErrorBody>('POST', `/jobs/${j.id}/run`);
    expect(run.status).toBe(409);
    expect(run.body.error.fields.targetId).toMatch(/disabled/);
    const byHook = await ctl.app.request(`http://localhost/api/v1/hooks/jobs/${j.id}/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hook}` },
    });
    expect(byHook.status).toBe(409);
    ctl.clock.now = Date.parse('2026-03-01T13:00:01Z'); // three occurrences due
    expect((await ctl.node(node.token, '/runner/claim', { max: 5, waitMs: 0 })).body.events).toEqual([]);
    expect(await count('events')).toBe(0);
    // editing and disabling the job stay possible while its target is disabled
    const renamed = await ctl.api('PATCH', `/jobs/${j.id}`, { name: 'nightly-2', keepLast: 5 });
    expect(renamed.status).toBe(200);
    expect((await ctl.api('PATCH', `/jobs/${j.id}`, { enabled: false })).status).toBe(200);
    expect((await ctl.api('PATCH', `/jobs/${j.id}`, { enabled: true })).status).toBe(200);
    // moving another job onto the disabled target is still refused
    const other = await makeTarget(ctl, { name: 't2', backupRoot: 'other/lb' });
    const k = (await ctl.api('POST', '/jobs', job({ name: 'k', targetId: other.id }))).body;
    expect((await ctl.api('PATCH', `/jobs/${k.id}`, { targetId })).status).toBe(400);
    // enabled again: Run Now works
    await ctl.api('PATCH', `/targets/${targetId}`, { enabled: true });
    expect((await ctl.api('POST', `/jobs/${j.id}/run`)).status).toBe(202);
  });

  it("a dataset name with a space (valid in zfs) is kept in the inventory and can be a job's source", async () => {
    const n2 = await joinNode(ctl, 'n2', ['tank', 'tank/my data', 'tank/other']);
    const datasets = (await ctl.api('GET', `/nodes/${n2.id}`)).body.datasets.map((d) => d.name);
    expect(datasets).toEqual(['tank', 'tank/my data', 'tank/other']);
    const r = await ctl.api('POST', '/jobs', job({ name: 'spaced', source: 'tank/my data', nodeId: n2.id }));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.source).toBe('tank/my data');
  });

  it("a dataset made after the node's last report: the server asks the node (through its claim) and takes the fresh inventory", async () => {
    // the node's runner long-polls; the job form (or POST /jobs) asks for a fresh inventory
    const claim = ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 5000 });
    const create = ctl.api('POST', '/jobs', job({ name: 'fresh', source: 'tank/made-just-now' }));
    const c = await claim;
    expect(c.body).toMatchObject({ events: [], inventoryWanted: true });
    await ctl.node(node.token, '/runner/inventory', {
      zfsVersion: 'z',
      capabilities: {},
      pools: ['tank'],
      datasets: [{ name: 'tank' }, { name: 'tank/data' }, { name: 'tank/made-just-now' }],
      guests: [],
    });
    const r = await create;
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    // asked once: the next claim does not ask again
    expect((await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 })).body.inventoryWanted).toBeUndefined();
    // a node that does not answer: after a short wait the last inventory decides
    const missing = await ctl.api<ApiErrorBody>('POST', '/jobs', job({ name: 'nope', source: 'tank/never-made' }));
    expect(missing.status).toBe(400);
    expect(missing.body.error.fields.source).toMatch(/does not exist/);
  });

  it('keeps names unique', async () => {
    await ctl.api('POST', '/jobs', job());
    const r = await ctl.api<ApiErrorBody>('POST', '/jobs', job({ source: 'tank/data/child' }));
    expect(r.status).toBe(409);
    expect(r.body.error.fields.name).toBeTruthy();
    expect(await count('jobs')).toBe(1);
  });

  it('accepts guests of the node, forces recursive on for VMs and allows Stop Before Backup', async () => {
    const jail = await ctl.api('POST', '/jobs', job({ name: 'jail', mode: 'jail', source: '7', stopBeforeBackup: true }));
    expect(jail.status).toBe(201);
    expect(jail.body).toMatchObject({ stopBeforeBackup: true, recursive: false });
    const vm = await ctl.api('POST', '/jobs', job({ name: 'vm', mode: 'vm', source: 'db1', recursive: false }));
    expect(vm.status).toBe(201);
    expect(vm.body.recursive).toBe(true);
  });

  it('needs nodeId once there are several nodes', async () => {
    await joinNode(ctl, 'n2');
    const r = await ctl.api<ApiErrorBody>('POST', '/jobs', job());
    expect(r.status).toBe(400);
    expect(r.body.error.fields.nodeId).toMatch(/more than one node/);
    expect((await ctl.api('POST', '/jobs', job({ nodeId: 2 }))).status).toBe(201);
  });

  it('patches with the same rules and recomputes the schedule', async () => {
    ctl.clock.now = Date.parse('2026-07-01T00:30:00Z');
    const j = (await ctl.api('POST', '/jobs', job({ schedule: '0 * * * *' }))).body;
    expect(j.nextRunAt).toBe('2026-07-01T01:00:00.000Z');
    const bad = await ctl.api<ApiErrorBody>('PATCH', `/jobs/${j.id}`, { schedule: '0 0 30 2 *' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.schedule).toBeTruthy();
    expect((await ctl.api('GET', `/jobs/${j.id}`)).body.schedule).toBe('0 * * * *');
    const ok = await ctl.api('PATCH', `/jobs/${j.id}`, { schedule: '30 2 * * *', timezone: 'America/New_York' });
    expect(ok.status).toBe(200);
    expect(ok.body.nextRunAt).toBe('2026-07-01T06:30:00.000Z'); // 02:30 EDT
    const off = await ctl.api('PATCH', `/jobs/${j.id}`, { enabled: false });
    expect(off.body.nextRunAt).toBeNull();
    const stop = await ctl.api<ApiErrorBody>('PATCH', `/jobs/${j.id}`, { stopBeforeBackup: true });
    expect(stop.status).toBe(400);
    expect(stop.body.error.fields.stopBeforeBackup).toBeTruthy();
  });

  it('sends encrypted datasets raw unless sendDecrypted is set explicitly; it round-trips and reaches the runner', async () => {
    const plain = await ctl.api('POST', '/jobs', job());
    expect(plain.status).toBe(201);
    expect(plain.body.sendDecrypted).toBe(false);
    const [row] = await ctl.db.all<{ v: number }>(sql`SELECT send_decrypted AS v FROM jobs WHERE id = ${plain.body.id}`);
    expect(row.v).toBe(0);
    // A patch that does not name it keeps it.
    expect((await ctl.api('PATCH', `/jobs/${plain.body.id}`, { keepLast: 3 })).body.sendDecrypted).toBe(false);

    const dec = await ctl.api('POST', '/jobs', job({ name: 'decrypted', source: 'tank/data/child', sendDecrypted: true }));
    expect(dec.status).toBe(201);
    expect(dec.body.sendDecrypted).toBe(true);
    expect((await ctl.api('GET', `/jobs/${dec.body.id}`)).body.sendDecrypted).toBe(true);
    expect((await ctl.api('PATCH', `/jobs/${dec.body.id}`, { keepLast: 2 })).body.sendDecrypted).toBe(true);
    const off = await ctl.api('PATCH', `/jobs/${dec.body.id}`, { sendDecrypted: false });
    expect(off.status).toBe(200);
    expect(off.body.sendDecrypted).toBe(false);
    const on = await ctl.api('PATCH', `/jobs/${plain.body.id}`, { sendDecrypted: true });
    expect(on.body.sendDecrypted).toBe(true);
    expect((await ctl.api('GET', '/jobs')).body.items.map((j) => [j.name, j.sendDecrypted])).toEqual([
      ['decrypted', false],
      ['nightly', true],
    ]);

    const bad = await ctl.api<ApiErrorBody>('PATCH', `/jobs/${plain.body.id}`, { sendDecrypted: 'no' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.sendDecrypted).toBeTruthy();
    expect(bad.body.error.message).toContain('sendDecrypted');
    expect((await ctl.api('GET', `/jobs/${plain.body.id}`)).body.sendDecrypted).toBe(true);

    // The claim's job spec carries it.
    await ctl.api('POST', `/jobs/${plain.body.id}/run`);
    await ctl.api('POST', `/jobs/${dec.body.id}/run`);
    const claim = await ctl.node(node.token, '/runner/claim', { max: 2, waitMs: 0 });
    const byId = new Map(claim.body.events.map((e) => [claimedJob(e).id, claimedJob(e).sendDecrypted] as const));
    expect(byId).toEqual(
      new Map([
        [plain.body.id, true],
        [dec.body.id, false],
      ]),
    );
  });

  it('exclude patterns of a recursive dataset job round-trip, survive a patch and reach the runner', async () => {
    const plain = await ctl.api('POST', '/jobs', job());
    expect(plain.body.exclude).toEqual([]);
    const ex = await ctl.api('POST', '/jobs', job({ name: 'ex', recursive: true, exclude: ['child', '**/cache'] }));
    expect(ex.status).toBe(201);
    expect(ex.body.exclude).toEqual(['child', '**/cache']);
    expect((await ctl.api('PATCH', `/jobs/${ex.body.id}`, { keepLast: 2 })).body.exclude).toEqual(['child', '**/cache']);
    // turning recursion off while patterns are set is refused, and changes nothing
    const off = await ctl.api<ApiErrorBody>('PATCH', `/jobs/${ex.body.id}`, { recursive: false });
    expect(off.status).toBe(400);
    expect(off.body.error.fields.exclude).toMatch(/recursive dataset jobs/);
    expect((await ctl.api('GET', `/jobs/${ex.body.id}`)).body).toMatchObject({ recursive: true, exclude: ['child', '**/cache'] });
    expect((await ctl.api('PATCH', `/jobs/${ex.body.id}`, { recursive: false, exclude: [] })).status).toBe(200);
    expect((await ctl.api('PATCH', `/jobs/${ex.body.id}`, { recursive: true, exclude: ['child'] })).status).toBe(200);
    await ctl.api('POST', `/jobs/${ex.body.id}/run`);
    const claim = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect(claimedJob(claim.body.events[0]).exclude).toEqual(['child']);
  });

  it('compressed streams are on and the bandwidth unlimited by default; both round-trip, a patch keeps them, and they reach the runner', async () => {
    const plain = await ctl.api('POST', '/jobs', job());
    expect(plain.status).toBe(201);
    expect(plain.body).toMatchObject({ compressedStream: true, bandwidthLimitKiBps: null });
    const lim = await ctl.api(
      'POST',
      '/jobs',
      job({ name: 'slow', source: 'tank/data/child', compressedStream: false, bandwidthLimitKiBps: 1024 }),
    );
    expect(lim.status).toBe(201);
    expect(lim.body).toMatchObject({ compressedStream: false, bandwidthLimitKiBps: 1024 });
    const [row] = await ctl.db.all<{ c: number; b: number }>(
      sql`SELECT compressed_stream AS c, bandwidth_limit_kibps AS b FROM jobs WHERE id = ${lim.body.id}`,
    );
    expect(row).toEqual({ c: 0, b: 1024 });
    expect((await ctl.api('PATCH', `/jobs/${lim.body.id}`, { keepLast: 2 })).body).toMatchObject({
      compressedStream: false,
      bandwidthLimitKiBps: 1024,
    });
    const bad = await ctl.api<ApiErrorBody>('PATCH', `/jobs/${lim.body.id}`, { bandwidthLimitKiBps: -5 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.bandwidthLimitKiBps).toBeTruthy();
    expect(bad.body.error.message).toContain('bandwidthLimitKiBps');
    expect((await ctl.api('GET', `/jobs/${lim.body.id}`)).body.bandwidthLimitKiBps).toBe(1024);
    // the target's limit travels with the target spec; the runner takes the lower
    expect((await ctl.api('PATCH', `/targets/${targetId}`, { bandwidthLimitKiBps: 512 })).status).toBe(200);

    await ctl.api('POST', `/jobs/${plain.body.id}/run`);
    await ctl.api('POST', `/jobs/${lim.body.id}/run`);
    const claim = await ctl.node(node.token, '/runner/claim', { max: 2, waitMs: 0 });
    const got = new Map(
      claim.body.events.map((e) => [
        claimedJob(e).id,
        [claimedJob(e).compressedStream, claimedJob(e).bandwidthLimitKiBps, claimedTarget(e).bandwidthLimitKiBps],
      ]),
    );
    expect(got).toEqual(
      new Map([
        [plain.body.id, [true, null, 512]],
        [lim.body.id, [false, 1024, 512]],
      ]),
    );
  });

  it('deletes a job but keeps its events; refuses while work is active', async () => {
    const j = (await ctl.api('POST', '/jobs', job())).body;
    const run = await ctl.api('POST', `/jobs/${j.id}/run`);
    const busy = await ctl.api<ApiErrorBody>('DELETE', `/jobs/${j.id}`);
    expect(busy.status).toBe(409);
    expect(busy.body.activeEventId).toBe(run.body.eventId);
    await ctl.api('POST', `/events/${run.body.eventId}/cancel`);
    expect((await ctl.api('DELETE', `/jobs/${j.id}`)).status).toBe(200);
    const ev = await ctl.api('GET', `/events/${run.body.eventId}`);
    expect(ev.status).toBe(200);
    expect(ev.body).toMatchObject({ jobId: j.id, jobName: 'nightly', status: 'cancelled' });
    expect((await ctl.api('GET', `/events?jobId=${j.id}`)).body.items).toHaveLength(1);
  });
});
