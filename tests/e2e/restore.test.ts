// Restores through the whole system: job restore in place and the next generation, then an
// out-of-band restore onto a second node (its own runner process and pool), idempotent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRunner, startServer, type TestServer } from '../helpers/server.ts';
import type { ApiErrorBody } from '../helpers/api.ts';
import { addLoopbackTarget, startWorld, Teardown } from '../helpers/world.ts';
import { snapshotGuids, writeRandom, zfs, type TestPool } from '../helpers/zfs.ts';

const MiB = 1 << 20;
let srv: TestServer;
let src: TestPool;
let other: TestPool;
let tgt: TestPool;
let node1: number;
let node2: number;
let targetId: number;
let jobId: number;
const dataDir = () => join(src.mountpoint!, 'app');

async function backup() {
  const r = await srv.api('POST', `/jobs/${jobId}/run`);
  expect(r.status).toBe(202);
  const e = await srv.waitEvent(r.body.eventId);
  expect(e.status, e.error).toBe('success');
  await new Promise((res) => setTimeout(res, 1100)); // snapshot names have one-second resolution
  return e;
}

const teardown = new Teardown();
beforeAll(async () => {
  const w = await startWorld(teardown, {
    src: { prefix: 'lbrs', mounted: true },
    other: { prefix: 'lbro', mounted: true },
    tgt: { prefix: 'lbrt', mounted: false, sizeMiB: 256 },
  });
  ({
    pools: { src, other, tgt },
  } = w);
  await zfs('create', `${src.name}/app`);
  await writeRandom(join(dataDir(), 'bulk'), 4 * MiB);
  srv = teardown.own(await startServer({ LIFEBOAT_RUNNER_POOLS: src.name, LIFEBOAT_RUNNER_INVENTORY_MS: '2000' }));
  teardown.own(await startRunner(srv, 'second', [other.name], { LIFEBOAT_RUNNER_INVENTORY_MS: '2000' }));
  [node1, node2] = await srv.waitFor('two nodes with inventories', async () => {
    const nodes = (await srv.api('GET', '/nodes')).body.items;
    return nodes.length === 2 && nodes.every((n) => n.inventoryAt)
      ? [nodes.find((n) => n.name === 'local')!.id, nodes.find((n) => n.name === 'second')!.id]
      : null;
  });
  targetId = await addLoopbackTarget(srv, w, [node1, node2]);
  jobId = (await srv.api('POST', '/jobs', { name: 'app', targetId, nodeId: node1, mode: 'dataset', source: `${src.name}/app` })).body.id;
}, 240_000);

afterAll(() => teardown.run(), 120_000);

describe('restore', () => {
  const versions: { snapshot: string; content: string }[] = [];

  it('restores the second of three snapshots in place; the target is untouched', async () => {
    for (const v of ['one', 'two', 'three']) {
      writeFileSync(join(dataDir(), 'version.txt'), v);
      versions.push({ snapshot: (await backup()).snapshot!, content: v });
    }
    const gens = (await srv.api('GET', `/jobs/${jobId}/generations`)).body;
    expect(gens[0].snapshots.map((s) => s.name)).toEqual(versions.map((v) => v.snapshot).reverse());
    const targetBefore = await snapshotGuids(tgt.name);
    const busyCheck = await srv.api<ApiErrorBody>('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot: 'no-such-snapshot' });
    expect(busyCheck.status).toBe(400);
    expect(busyCheck.body.error.fields.snapshot).toBeTruthy();
    const r = await srv.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot: versions[1].snapshot });
    expect(r.status).toBe(202);
    expect((await srv.api('POST', `/jobs/${jobId}/run`)).status).toBe(409); // one backup-or-restore per job
    const e = await srv.waitEvent(r.body.eventId);
    expect(e.status, e.error).toBe('success');
    expect(readFileSync(join(dataDir(), 'version.txt'), 'utf8')).toBe('two');
    expect([...(await snapshotGuids(tgt.name)).entries()]).toEqual([...targetBefore.entries()]);
    const names = (await zfs('list', '-H', '-o', 'name', '-r', src.name)).split('\n').filter(Boolean);
    expect(names.filter((n) => /lb-staging|lb-old/.test(n))).toEqual([]);
  });

  it('the next backup forks generation 2 from the restored snapshot and sends only the delta', async () => {
    writeFileSync(join(dataDir(), 'version.txt'), 'four');
    const e = await backup();
    expect(e.generation).toBe(2);
    expect(e.bytesDone).toBeLessThan(MiB);
    const gens = (await srv.api('GET', `/jobs/${jobId}/generations`)).body;
    expect(gens.map((g) => [g.generation, g.current])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(gens[0].snapshots.map((s) => s.name)).toContain(e.snapshot);
    // Generation 1 keeps all three of its snapshots, listed by their lifeboat:generation property.
    expect(gens[1].snapshots.map((s) => s.name).sort()).toEqual(versions.map((v) => v.snapshot).sort());
  });

  it('restores out of band onto the second node, once per idempotency key', async () => {
    const refresh = await srv.api('POST', `/targets/${targetId}/refresh`, { nodeId: node2 });
    const re = await srv.waitEvent(refresh.body.eventId);
    expect(re.status, re.error).toBe('success');
    const catalog = (await srv.api('GET', `/targets/${targetId}/datasets`)).body.items;
    const item = catalog.find((i) => i.jobId === jobId && i.source === `${src.name}/app`)!;
    expect(item).toBeTruthy();
    expect(item.suggestedDestination).toMatch(new RegExp(`^${src.name}/app-restore-\\d{8}-\\d{4}$`)); // never the live source
    const g1 = item.generations.find((g) => g.generation === 1)!;
    const snap = g1.snapshots.find((s) => s.name === versions[2].snapshot)!;
    const body = { targetId, nodeId: node2, dataset: g1.dataset, generation: 1, snapshot: snap.name, destination: `${other.name}/copy` };
    const send = (key: string) =>
      fetch(`${srv.url}/api/v1/restores`, {
        method: 'POST',
        headers: { authorization: `Bearer ${srv.admin}`, 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(body),
      });
    const a = await send('restore-key-0001');
    expect(a.status).toBe(202);
    const id = (await a.json()).eventId;
    const b = await send('restore-key-0001');
    expect((await b.json()).eventId).toBe(id);
    const e = await srv.waitEvent(id);
    expect(e.status, e.error).toBe('success');
    const events = (await srv.api('GET', '/events?kind=oob-restore')).body.items;
    expect(events).toHaveLength(1);
    const mnt = (await zfs('get', '-H', '-o', 'value', 'mountpoint', `${other.name}/copy`)).trim();
    expect(readFileSync(join(mnt, 'version.txt'), 'utf8')).toBe('three');
    writeFileSync(join(mnt, 'writable.txt'), 'yes'); // restored datasets are writable
    expect((await snapshotGuids(`${other.name}/copy`)).get(`${other.name}/copy@${snap.name}`)).toBe(snap.guid);
    // Existing destination without overwrite: 409, nothing queued.
    await srv.waitFor(
      'the second node to report the restored dataset',
      async () => (await srv.api('GET', `/nodes/${node2}`)).body.datasets.some((d) => d.name === `${other.name}/copy`),
      30_000,
    );
    const again = await fetch(`${srv.url}/api/v1/restores`, {
      method: 'POST',
      headers: { authorization: `Bearer ${srv.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(again.status).toBe(409);
    expect((await again.json()).error.fields.destination).toMatch(/overwrite/);
    // replacing it takes its name repeated: `true` or another name is a 400 naming overwrite
    for (const overwrite of [true, `${other.name}/other`]) {
      const bad = await srv.api<ApiErrorBody>('POST', '/restores', { ...body, overwrite });
      expect(bad.status, JSON.stringify(overwrite)).toBe(400);
      expect(bad.body.error.fields.overwrite).toBeTruthy();
    }
    expect((await srv.api('GET', '/events?kind=oob-restore')).body.items).toHaveLength(1);
  });
});
