// Catalog, generations and restore requests at the API level (the runner side is exercised in e2e).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startControl, joinNode, makeJob, makeTarget, type TestControl } from '../helpers/control.ts';
import { recordCatalog } from '../../functions/src/services/catalog.ts';
import { claimedJob, type ApiErrorBody } from '../helpers/api.ts';

let ctl: TestControl;
let node: { id: number; token: string };
let targetId: number;
const root = 'backup/lifeboat';
const vm = { kind: 'vm', id: '101', name: 'web', roots: ['tank/vm/web', 'fast/vm/web'], pools: ['tank', 'fast'], basePool: 'tank' };

beforeEach(async () => {
  ctl = await startControl();
  node = await joinNode(
    ctl,
    'n1',
    ['tank', 'tank/data', 'tank/other', 'tank/empty'],
    [{ kind: 'vm', id: '101', name: 'web', roots: vm.roots, running: true, provider: 'manifest' }],
  );
  targetId = (await makeTarget(ctl)).id;
});
afterEach(() => ctl.close());

const snap = (name: string, guid: string, generation: number, jobId: number, t: string) => ({
  name,
  guid,
  createtxg: '1',
  createdAt: t,
  usedBytes: 1,
  referencedBytes: 2,
  jobId,
  generation,
});

/** Run Now + claim + finish with a result, as a runner would. */
async function backupWith(jobId: number, result: Record<string, unknown>) {
  const run = await ctl.api('POST', `/jobs/${jobId}/run`);
  await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  const fin = await ctl.node(node.token, `/runner/events/${run.body.eventId}/finish`, { status: 'success', result });
  expect(fin.status).toBe(200);
  return run.body.eventId as number;
}

describe('catalog and generations', () => {
  it('a VM job lists each snapshot once (from its first root) and the catalog carries the guest', async () => {
    const job = (await ctl.api('POST', '/jobs', { name: 'web', targetId, mode: 'vm', source: '101' })).body;
    const t = '2026-11-28T10:00:00.000Z';
    const ds = (source: string, guid: string) => ({
      dataset: `${root}/j${job.id}/g1/${source}`,
      jobId: job.id,
      generation: 1,
      source,
      guest: vm,
      snapshots: [snap(`lb_j${job.id}_20261128T100000Z`, guid, 1, job.id, t)],
    });
    await backupWith(job.id, {
      generation: 1,
      snapshot: `lb_j${job.id}_20261128T100000Z`,
      bytesSent: 10,
      catalog: [ds('tank/vm/web', '111'), ds('fast/vm/web', '222')],
    });
    const gens = (await ctl.api('GET', `/jobs/${job.id}/generations`)).body;
    expect(gens).toHaveLength(1);
    expect(gens[0].snapshots).toEqual([expect.objectContaining({ name: `lb_j${job.id}_20261128T100000Z`, guid: '222' })]); // fast/… sorts first
    const items = (await ctl.api('GET', `/targets/${targetId}/datasets`)).body.items;
    expect(items).toHaveLength(2);
    expect(items[0].guest).toMatchObject({ kind: 'vm', id: '101', name: 'web' });
    // beside the source, never onto it: <source>-restore-<yyyymmdd-hhmm> (UTC, now)
    const stamp = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    expect(items.map((i) => i.suggestedDestination).sort()).toEqual([
      expect.stringMatching(new RegExp(`^fast/vm/web-restore-${stamp}-\\d{4}$`)),
      expect.stringMatching(new RegExp(`^tank/vm/web-restore-${stamp}-\\d{4}$`)),
    ]);
    // Out of band, a VM with two roots is refused at the API (restore it from its job), nothing queued.
    const body = {
      targetId,
      dataset: items[0].dataset,
      generation: 1,
      snapshot: `lb_j${job.id}_20261128T100000Z`,
      destination: 'tank/vm/web2',
    };
    const multi = await ctl.api<ApiErrorBody>('POST', '/restores', { ...body, newGuestId: '102' });
    expect(multi.status).toBe(400);
    expect(multi.body.error.fields.dataset).toMatch(/has 2 dataset roots; restore it from its job/);
    // A one-root VM: under its own id on the node that has it → 409 naming the field; under a new id → 202.
    await recordCatalog(
      ctl.db,
      targetId,
      items.map((i) => ({
        dataset: i.dataset,
        jobId: job.id,
        generation: 1,
        source: i.source,
        guest: { ...vm, roots: [i.source] },
        snapshots: [snap(`lb_j${job.id}_20261128T100000Z`, i.dataset.includes('fast') ? '222' : '111', 1, job.id, t)],
      })),
      false,
      Date.now(),
    );
    const taken = await ctl.api<ApiErrorBody>('POST', '/restores', body);
    expect(taken.status).toBe(409);
    expect(taken.body.error.fields.newGuestId).toMatch(/already exists/);
    const fresh = await ctl.api('POST', '/restores', { ...body, newGuestId: '102' });
    expect(fresh.status).toBe(202);
    const [{ n }] = await ctl.db.all<{ n: number }>(sql`SELECT count(*) AS n FROM events WHERE kind = 'oob-restore'`);
    expect(n).toBe(1);
  });

  it('a restore forks the next backup from the restored snapshot; the runner may only write what it was offered', async () => {
    const job = (await ctl.api('POST', '/jobs', { name: 'data', targetId, mode: 'dataset', source: 'tank/data' })).body;
    const name = `lb_j${job.id}_20261128T100000Z`;
    const cat = [
      {
        dataset: `${root}/j${job.id}/g1/tank/data`,
        jobId: job.id,
        generation: 1,
        source: 'tank/data',
        guest: null,
        snapshots: [snap(name, '777', 1, job.id, '2026-11-28T10:00:00Z')],
      },
    ];
    await backupWith(job.id, { generation: 1, snapshot: name, bytesSent: 10, catalog: cat });
    const bad = await ctl.api<ApiErrorBody>('POST', `/jobs/${job.id}/restore`, { generation: 2, snapshot: name });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields.generation).toBeTruthy();
    const r = await ctl.api('POST', `/jobs/${job.id}/restore`, { generation: 1, snapshot: '777' }); // by GUID
    expect(r.status).toBe(202);
    const claim = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect(claim.body.events[0]).toMatchObject({ kind: 'restore', params: { generation: 1, snapshot: name, guid: '777' } });
    expect(claim.body.events[0]).not.toHaveProperty('catalogDatasets'); // a backup's parameter only
    await ctl.node(node.token, `/runner/events/${r.body.eventId}/finish`, { status: 'success', result: { snapshot: name } });
    const next = await ctl.api('POST', `/jobs/${job.id}/run`);
    const c2 = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect(c2.body.events[0]).toMatchObject({
      generation: 1,
      nextGeneration: 2,
      forkFrom: { generation: 1, snapshotGuid: '777' },
      catalogDatasets: [cat[0].dataset],
    });
    // Generation 7 was never offered: ignored.
    await ctl.node(node.token, `/runner/events/${next.body.eventId}/finish`, {
      status: 'success',
      result: { generation: 7, snapshot: 'x', catalog: [] },
    });
    expect((await ctl.api('GET', `/jobs/${job.id}`)).body.currentGeneration).toBe(1);
    const again = await backupWith(job.id, {
      generation: 2,
      snapshot: 'lb_j1_y',
      newGeneration: { generation: 2, reason: 'forked from the restored snapshot' },
      catalog: [],
    });
    expect(again).toBeGreaterThan(0);
    const gens = (await ctl.api('GET', `/jobs/${job.id}/generations`)).body;
    expect(gens.map((g) => [g.generation, g.current])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(gens[0].reason).toBe('forked from the restored snapshot');
  });

  it("a node's catalog report counts only for its own event's job: another job's datasets and snapshots are rejected and logged", async () => {
    const a = await makeJob(ctl, targetId, { name: 'a', source: 'tank/data' });
    const b = await makeJob(ctl, targetId, { name: 'b', source: 'tank/other' });
    const t = '2026-11-28T10:00:00Z';
    const bDs = {
      dataset: `${root}/j${b.id}/g1/tank/other`,
      jobId: b.id,
      generation: 1,
      source: 'tank/other',
      guest: null,
      snapshots: [snap(`lb_j${b.id}_20261128T100000Z`, '555', 1, b.id, t)],
    };
    await recordCatalog(ctl.db, targetId, [bDs], false, Date.now());
    const before = (await ctl.api('GET', `/targets/${targetId}/datasets`)).body.items;
    // job a's backup reports: its own dataset (with a snapshot claiming job b), b's dataset emptied,
    // a fake dataset outside a's tree tagged as a's, and a guest planted in b's tree
    const aSnap = `lb_j${a.id}_20261128T100000Z`;
    const ev = await backupWith(a.id, {
      generation: 1,
      snapshot: aSnap,
      bytesSent: 10,
      catalog: [
        {
          dataset: `${root}/j${a.id}/g1/tank/data`,
          jobId: a.id,
          generation: 1,
          source: 'tank/data',
          guest: null,
          snapshots: [snap(aSnap, '111', 1, a.id, t), snap('lb_fake', '999', 1, b.id, t)],
        },
        { ...bDs, snapshots: [] },
        {
          dataset: `${root}/j${b.id}/g1/tank/planted`,
          jobId: a.id,
          generation: 1,
          source: 'tank/planted',
          guest: { kind: 'jail', id: 'x' },
          snapshots: [],
        },
      ],
    });
    const items = (await ctl.api('GET', `/targets/${targetId}/datasets`)).body.items;
    const bItem = items.find((i) => i.jobId === b.id);
    expect(bItem).toEqual(before.find((i) => i.jobId === b.id)); // b untouched
    const aItem = items.find((i) => i.jobId === a.id);
    expect(aItem?.generations[0].snapshots.map((x) => x.guid)).toEqual(['111']);
    expect(items.some((i) => i.dataset.includes('planted'))).toBe(false);
    const log = (await ctl.api('GET', `/events/${ev}/log`)).body.items.map((l) => `${l.level} ${l.message}`).join('\n');
    expect(log).toMatch(/^warn catalog report: 3 item\(s\) outside this backup event's own job were rejected: /m);
    expect(log).toContain(`${root}/j${a.id}/g1/tank/data@lb_fake`);
    expect(log).toContain(`${root}/j${b.id}/g1/tank/planted`);
    // a validation covers no catalog at all, and only a browse may replace the whole catalog
    await ctl.api('POST', `/targets/${targetId}/validate`, {});
    const v = (await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 })).body.events[0];
    expect((await ctl.node(node.token, '/runner/catalog', { eventId: v.id, complete: true, datasets: [] })).status).toBe(200);
    expect((await ctl.api('GET', `/targets/${targetId}/datasets`)).body.items).toEqual(items);
  });

  it("an out-of-band restore onto a dataset that appeared after the node's last report is a 409 at once (the node is asked first)", async () => {
    const job = await makeJob(ctl, targetId, { name: 'fresh-oob', source: 'tank/data' });
    const name = `lb_j${job.id}_20261128T100000Z`;
    await recordCatalog(
      ctl.db,
      targetId,
      [
        {
          dataset: `${root}/j${job.id}/g1/tank/data`,
          jobId: job.id,
          generation: 1,
          source: 'tank/data',
          guest: null,
          snapshots: [snap(name, '4242', 1, job.id, '2026-11-28T10:00:00Z')],
        },
      ],
      false,
      Date.now(),
    );
    const claim = ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 5000 });
    const restore = ctl.api<ApiErrorBody>('POST', '/restores', {
      targetId,
      dataset: `${root}/j${job.id}/g1/tank/data`,
      generation: 1,
      snapshot: name,
      destination: 'tank/appeared',
    });
    expect((await claim).body.inventoryWanted).toBe(true);
    await ctl.node(node.token, '/runner/inventory', {
      zfsVersion: 'z',
      capabilities: {},
      pools: ['tank'],
      datasets: [{ name: 'tank' }, { name: 'tank/data' }, { name: 'tank/appeared' }],
      guests: [],
    });
    const r = await restore;
    expect(r.status).toBe(409);
    expect(r.body.error.fields.destination).toMatch(/already exists/);
  });

  it('a backup claim carries the datasets the catalog records for this target, job and current generation', async () => {
    const a = await makeJob(ctl, targetId, { name: 'a', source: 'tank/data', recursive: true });
    const b = await makeJob(ctl, targetId, { name: 'b', source: 'tank/other' });
    const c = await makeJob(ctl, targetId, { name: 'c', source: 'tank/empty' });
    const other = (await makeTarget(ctl, { name: 't2', backupRoot: 'elsewhere/lb' })).id;
    const t = '2026-11-28T10:00:00Z';
    const ds = (jobId: number, generation: number, source: string, base = root) => ({
      dataset: `${base}/j${jobId}/g${generation}/${source}`,
      jobId,
      generation,
      source,
      guest: null,
      snapshots: [snap(`lb_j${jobId}_20261128T100000Z`, String(jobId * 100 + generation), generation, jobId, t)],
    });
    // Generation 1 of job a as its first backup reports it, plus what must not be listed for a:
    // a generation 2 left from elsewhere, job b's dataset, and a's generation 1 on another target.
    await backupWith(a.id, {
      generation: 1,
      snapshot: `lb_j${a.id}_20261128T100000Z`,
      bytesSent: 10,
      catalog: [ds(a.id, 1, 'tank/data/child'), ds(a.id, 1, 'tank/data'), ds(a.id, 2, 'tank/data')],
    });
    await recordCatalog(ctl.db, targetId, [ds(b.id, 1, 'tank/other')], false, Date.now());
    await recordCatalog(ctl.db, other, [ds(a.id, 1, 'tank/data/x', 'elsewhere/lb')], false, Date.now());

    for (const j of [a, b, c]) expect((await ctl.api('POST', `/jobs/${j.id}/run`)).status).toBe(202);
    const claim = await ctl.node(node.token, '/runner/claim', { max: 5, waitMs: 0 });
    const byJob = new Map(claim.body.events.map((e) => [claimedJob(e).id, e] as const));
    expect(byJob.size).toBe(3);
    expect(byJob.get(a.id)).toMatchObject({
      kind: 'backup',
      generation: 1,
      catalogDatasets: [`${root}/j${a.id}/g1/tank/data`, `${root}/j${a.id}/g1/tank/data/child`],
    });
    expect(byJob.get(b.id)).toMatchObject({ generation: 1, catalogDatasets: [`${root}/j${b.id}/g1/tank/other`] });
    expect(byJob.get(c.id)).toMatchObject({ generation: 1, catalogDatasets: [] });

    // The runner starts generation 2 for a (it was offered as nextGeneration): the next claim lists generation 2 only.
    const ea = byJob.get(a.id)!.id;
    await ctl.node(node.token, `/runner/events/${ea}/finish`, {
      status: 'success',
      result: {
        generation: 2,
        snapshot: `lb_j${a.id}_20261128T110000Z`,
        bytesSent: 10,
        newGeneration: { generation: 2, reason: 'the target copy is gone' },
        catalog: [ds(a.id, 2, 'tank/data')],
      },
    });
    for (const e of claim.body.events)
      if (e.id !== ea) await ctl.node(node.token, `/runner/events/${e.id}/finish`, { status: 'failed', error: 'x' });
    await ctl.api('POST', `/jobs/${a.id}/run`);
    const next = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect(next.body.events[0]).toMatchObject({ generation: 2, nextGeneration: 3, catalogDatasets: [`${root}/j${a.id}/g2/tank/data`] });

    // Other kinds carry null.
    await ctl.api('POST', `/targets/${targetId}/validate`, {});
    const v = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect(v.body.events[0]).toMatchObject({ kind: 'validate' });
    expect(v.body.events[0]).not.toHaveProperty('catalogDatasets');

    // The lookup is one query on the job index (the shape drizzle writes for it).
    const plan = await ctl.db.all<{ detail: string }>(
      sql`EXPLAIN QUERY PLAN SELECT "dataset" FROM "catalog_datasets" WHERE ("catalog_datasets"."job_id" = 1 AND "catalog_datasets"."generation" = 1 AND "catalog_datasets"."target_id" = 1)`,
    );
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING INDEX catalog_datasets_job_idx/);
  });
});
