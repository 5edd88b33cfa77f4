// Kept replaced datasets at the API (docs/zfs.md, "Kept replaced datasets"): a restore asked to keep
// what it replaces hands that to the runner, its report is recorded (only names it sets aside),
// listed, and removed by a remove-kept event that carries no target; the runner side is in
// tests/restore/restore.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { startControl, joinNode, makeJob, makeTarget, type TestControl } from '../helpers/control.ts';
import { claimedJob, type ApiErrorBody } from '../helpers/api.ts';

let ctl: TestControl;
let node: { id: number; token: string };
let jobId: number;
const root = 'backup/lifeboat';
const SNAP = 'lb_j1_20261201T000000Z';

beforeEach(async () => {
  ctl = await startControl();
  node = await joinNode(ctl, 'n1', ['tank', 'tank/data']);
  const targetId = (await makeTarget(ctl)).id;
  jobId = (await makeJob(ctl, targetId)).id;
  // one backup in the catalog to restore from
  const run = await ctl.api('POST', `/jobs/${jobId}/run`);
  await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  const snapshot = {
    name: SNAP,
    guid: '777',
    createtxg: '1',
    createdAt: '2026-12-01T00:00:00.000Z',
    usedBytes: 1,
    referencedBytes: 1,
    jobId,
    generation: 1,
  };
  const catalog = [{ dataset: `${root}/j${jobId}/g1/tank/data`, jobId, generation: 1, source: 'tank/data', snapshots: [snapshot] }];
  const fin = await ctl.node(node.token, `/runner/events/${run.body.eventId}/finish`, {
    status: 'success',
    result: { generation: 1, snapshot: SNAP, bytesSent: 1, catalog },
  });
  expect(fin.status).toBe(200);
});
afterEach(() => ctl.close());

/** A job restore that keeps what it replaces, claimed and finished with `kept` as the runner reports it. */
async function restoreKeeping(kept: unknown[]) {
  const r = await ctl.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot: SNAP, keepReplaced: true });
  expect(r.status).toBe(202);
  const claim = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
  const ev = claim.body.events[0];
  expect(ev.kind).toBe('restore');
  if (ev.kind === 'restore') expect(ev.params).toMatchObject({ guid: '777', keepReplaced: true });
  expect(claimedJob(ev).id).toBe(jobId);
  const fin = await ctl.node(node.token, `/runner/events/${r.body.eventId}/finish`, {
    status: 'success',
    result: { snapshot: SNAP, guid: '777', kept },
  });
  expect(fin.status).toBe(200);
  return r.body.eventId;
}

describe('kept replaced datasets', () => {
  it('keepReplaced must be a boolean; without it a restore destroys what it replaces (false to the runner)', async () => {
    const bad = await ctl.api<ApiErrorBody>('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot: SNAP, keepReplaced: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty('keepReplaced');
    const r = await ctl.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot: SNAP });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const ev = (await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 })).body.events[0];
    if (ev.kind !== 'restore') throw new Error(`claimed ${ev.kind}`);
    expect(ev.params.keepReplaced).toBe(false);
  });

  it('records what the restore kept (only names it sets aside), lists it, and removes it by a node-only event', async () => {
    // a report naming another event's copy: rejected, said in the log, nothing recorded
    const E = await restoreKeeping([{ dataset: 'tank/data-lb-old-999999', guids: ['1'], chosen: true }]);
    expect((await ctl.api('GET', '/kept-datasets')).body.items).toEqual([]);
    const log = (await ctl.api('GET', `/events/${E}/log`)).body.items.map((l: { message: string }) => l.message);
    expect(log.join('\n')).toMatch(/kept dataset report rejected in part/);

    const E2 = await ctl.api('GET', '/events?limit=1').then((r) => r.body.items[0].id + 1);
    const kept = `tank/data-lb-old-${E2}`;
    expect(await restoreKeeping([{ dataset: kept, guids: ['123', '456'], chosen: true }])).toBe(E2);
    const list = (await ctl.api('GET', '/kept-datasets')).body.items;
    expect(list).toEqual([
      {
        nodeId: node.id,
        nodeName: 'n1',
        dataset: kept,
        replaced: 'tank/data',
        restoreEventId: E2,
        chosen: true,
        removable: true,
        keptAt: expect.any(String),
        removeEventId: null,
      },
    ]);

    // removal: unknown names are a 400 naming the field; the event goes to the node without a target
    const unknown = await ctl.api<ApiErrorBody>('POST', '/kept-datasets/remove', { nodeId: node.id, dataset: 'tank/data' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.fields).toHaveProperty('dataset');
    const hostile = await ctl.api<ApiErrorBody>('POST', '/kept-datasets/remove', { nodeId: node.id, dataset: 'tank/x; rm -rf /' });
    expect(hostile.status).toBe(400);
    const rm = await ctl.api('POST', '/kept-datasets/remove', { nodeId: node.id, dataset: kept });
    expect(rm.status).toBe(202);
    const again = await ctl.api<ApiErrorBody>('POST', '/kept-datasets/remove', { nodeId: node.id, dataset: kept });
    expect(again.status).toBe(409);
    expect((await ctl.api('GET', '/kept-datasets')).body.items[0].removeEventId).toBe(rm.body.eventId);
    const claim = await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect(claim.body.events).toEqual([
      {
        id: rm.body.eventId,
        kind: 'remove-kept',
        trigger: 'manual',
        note: null,
        leaseUntil: expect.any(String),
        params: { dataset: kept, restoreEventId: E2, guids: ['123', '456'] },
      },
    ]);
    // a failed removal keeps the row; a successful one forgets it
    await ctl.node(node.token, `/runner/events/${rm.body.eventId}/finish`, { status: 'failed', error: 'x', errorClass: 'internal' });
    expect((await ctl.api('GET', '/kept-datasets')).body.items).toMatchObject([{ dataset: kept, removeEventId: null }]);
    const rm2 = await ctl.api('POST', '/kept-datasets/remove', { nodeId: node.id, dataset: kept });
    await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    const fin = await ctl.node(node.token, `/runner/events/${rm2.body.eventId}/finish`, {
      status: 'success',
      result: { dataset: kept, removed: true },
    });
    expect(fin.status).toBe(200);
    expect((await ctl.api('GET', '/kept-datasets')).body.items).toEqual([]);
    expect((await ctl.api('GET', `/events/${rm2.body.eventId}`)).body).toMatchObject({ kind: 'remove-kept', destination: kept });
  });

  it('a copy kept without GUIDs (its checks failed) is listed but only removable by hand', async () => {
    const E = await ctl.api('GET', '/events?limit=1').then((r) => r.body.items[0].id + 1);
    const kept = `tank/data-lb-old-${E}`;
    await restoreKeeping([{ dataset: kept, guids: [], chosen: false }]);
    expect((await ctl.api('GET', '/kept-datasets')).body.items).toMatchObject([{ dataset: kept, chosen: false, removable: false }]);
    const r = await ctl.api<ApiErrorBody>('POST', '/kept-datasets/remove', { nodeId: node.id, dataset: kept });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toMatch(/by hand/);
    expect((await ctl.db.all<{ n: number }>(sql`SELECT count(*) AS n FROM events WHERE kind = 'remove-kept'`))[0].n).toBe(0);
  });
});
