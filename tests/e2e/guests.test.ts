// A VM with two roots on two pools through the whole system, with the manifest provider: Stop Before
// Backup, one generation for both roots, a job restore as one set, and an OOB restore under a new id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.ts';
import type { ApiErrorBody } from '../helpers/api.ts';
import { addLoopbackTarget, localNode, startWorld, Teardown } from '../helpers/world.ts';
import { zfs, type TestPool } from '../helpers/zfs.ts';

let srv: TestServer;
let p1: TestPool;
let p2: TestPool;
let tgt: TestPool;
let dir: string;
let manifest: string;
let targetId: number;
let jobId: number;
const running = () => join(dir, 'vm101.running');
const mnt = async (ds: string) => (await zfs('get', '-H', '-o', 'value', 'mountpoint', ds)).trim();

const teardown = new Teardown();
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-guests-'));
  teardown.defer(() => rmSync(dir, { recursive: true, force: true }));
  const w = await startWorld(teardown, {
    p1: { prefix: 'lbg1', mounted: true },
    p2: { prefix: 'lbg2', mounted: true },
    tgt: { prefix: 'lbgt', mounted: false, sizeMiB: 256 },
  });
  ({
    pools: { p1, p2, tgt },
  } = w);
  for (const p of [p1, p2]) await zfs('create', '-p', `${p.name}/vm/web`);
  await zfs('create', '-p', `${p1.name}/jails/www`);
  writeFileSync(join(await mnt(`${p1.name}/vm/web`), 'disk0'), 'boot v1');
  writeFileSync(join(await mnt(`${p2.name}/vm/web`), 'disk1'), 'data v1');
  writeFileSync(running(), '');
  manifest = join(dir, 'guests.json');
  // The guest's state is a file: status tests it, stop removes it, start creates it (real commands).
  writeFileSync(
    manifest,
    JSON.stringify(
      {
        guests: [
          {
            kind: 'vm',
            id: '101',
            name: 'web',
            roots: [`${p1.name}/vm/web`, `${p2.name}/vm/web`],
            network: { interfaces: [{ mac: '58:9c:fc:00:00:01', switch: 'public' }] },
            status: ['test', '-e', running()],
            stop: ['rm', '-f', running()],
            start: ['touch', running()],
          },
          {
            kind: 'jail',
            id: '7',
            name: 'www',
            roots: [`${p1.name}/jails/www`],
            network: { 'ip4.addr': ['192.0.2.7/24'] },
            status: ['false'],
            stop: ['true'],
            start: ['true'],
          },
        ],
      },
      null,
      2,
    ),
  );
  srv = teardown.own(
    await startServer({
      LIFEBOAT_RUNNER_POOLS: `${p1.name},${p2.name}`,
      LIFEBOAT_RUNNER_MANIFEST: manifest,
      LIFEBOAT_RUNNER_INVENTORY_MS: '2000',
    }),
  );
  await localNode(srv, 'the VM in the inventory', (n) => n.guests.some((g) => g.id === '101'));
  targetId = await addLoopbackTarget(srv, w);
}, 180_000);

afterAll(() => teardown.run(), 120_000);

describe('VM guest through the system', () => {
  let snapshot: string;

  it('backs up both roots in one run with Stop Before Backup, and the guest runs again', async () => {
    const job = await srv.api('POST', '/jobs', { name: 'web', targetId, mode: 'vm', source: '101', stopBeforeBackup: true });
    expect(job.status).toBe(201);
    expect(job.body.recursive).toBe(true);
    jobId = job.body.id;
    const r = await srv.api('POST', `/jobs/${jobId}/run`);
    const e = await srv.waitEvent(r.body.eventId);
    expect(e.status, e.error).toBe('success');
    snapshot = e.snapshot!;
    expect(existsSync(running())).toBe(true);
    const log = (await srv.api('GET', `/events/${r.body.eventId}/log`)).body.items.map((l) => l.message).join('\n');
    expect(log).toMatch(/stopp/i);
    for (const p of [p1, p2]) {
      const names = (
        await zfs('list', '-H', '-o', 'name', '-t', 'snapshot', '-r', `${tgt.name}/backups/j${jobId}/g1/${p.name}/vm/web`)
      ).trim();
      expect(names).toBe(`${tgt.name}/backups/j${jobId}/g1/${p.name}/vm/web@${snapshot}`);
    }
    const gens = (await srv.api('GET', `/jobs/${jobId}/generations`)).body;
    expect(gens[0].snapshots.map((s) => s.name)).toEqual([snapshot]);
    const catalog = (await srv.api('GET', `/targets/${targetId}/datasets`)).body.items;
    expect(catalog.every((i) => i.guest?.kind === 'vm' && i.guest?.id === '101')).toBe(true);
  });

  it('restores both roots from the job as one set, stopping the guest only around the swap', async () => {
    writeFileSync(join(await mnt(`${p1.name}/vm/web`), 'disk0'), 'boot v2');
    writeFileSync(join(await mnt(`${p2.name}/vm/web`), 'disk1'), 'data v2');
    const r = await srv.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot });
    expect(r.status).toBe(202);
    const e = await srv.waitEvent(r.body.eventId);
    expect(e.status, e.error).toBe('success');
    expect(readFileSync(join(await mnt(`${p1.name}/vm/web`), 'disk0'), 'utf8')).toBe('boot v1');
    expect(readFileSync(join(await mnt(`${p2.name}/vm/web`), 'disk1'), 'utf8')).toBe('data v1');
    expect(existsSync(running())).toBe(true);
  });

  it('a job restore whose guest will not stop fails in that phase, in restore words; the original stays', async () => {
    const original = readFileSync(manifest, 'utf8');
    const m = JSON.parse(original);
    m.guests[0].stop = ['false']; // the runner reads the manifest again for every event
    writeFileSync(manifest, JSON.stringify(m));
    try {
      writeFileSync(join(await mnt(`${p1.name}/vm/web`), 'disk0'), 'boot v3');
      const r = await srv.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot });
      const e = await srv.waitEvent(r.body.eventId);
      expect(e.status).toBe('failed');
      expect(e.phase).toBe('stopping-guest'); // where it stopped, not what the last heartbeat carried
      expect(e.error).toMatch(/could not stop vm web \(101\).*nothing was swapped in; the original datasets stay/);
      expect(e.error).not.toMatch(/snapshotted/);
      expect(readFileSync(join(await mnt(`${p1.name}/vm/web`), 'disk0'), 'utf8')).toBe('boot v3');
      expect(existsSync(running())).toBe(true);
    } finally {
      writeFileSync(manifest, original);
    }
  }, 120_000);

  it('a job restore whose guest does not start again keeps the restored data and still forks the next backup from it', async () => {
    // a backup first (it takes up the fork of the restore above: generation 2)
    const atBackup = readFileSync(join(await mnt(`${p1.name}/vm/web`), 'disk0'), 'utf8');
    const b1 = await srv.waitEvent((await srv.api('POST', `/jobs/${jobId}/run`)).body.eventId);
    expect(b1.status, b1.error).toBe('success');
    expect(b1.generation).toBe(2);
    const original = readFileSync(manifest, 'utf8');
    const m = JSON.parse(original);
    m.guests[0].start = ['false'];
    writeFileSync(manifest, JSON.stringify(m));
    try {
      writeFileSync(join(await mnt(`${p1.name}/vm/web`), 'disk0'), 'boot v4');
      const r = await srv.api('POST', `/jobs/${jobId}/restore`, { generation: 2, snapshot: b1.snapshot });
      const e = await srv.waitEvent(r.body.eventId);
      expect(e.status).toBe('failed');
      expect(e.error).toMatch(/the restore completed .* did not start again/);
      expect(readFileSync(join(await mnt(`${p1.name}/vm/web`), 'disk0'), 'utf8')).toBe(atBackup); // the restored data stays
    } finally {
      writeFileSync(manifest, original);
      writeFileSync(running(), ''); // started by hand
    }
    const b2 = await srv.waitEvent((await srv.api('POST', `/jobs/${jobId}/run`)).body.eventId);
    expect(b2.status, b2.error).toBe('success');
    expect(b2.generation).toBe(3);
    const gens = (await srv.api('GET', `/jobs/${jobId}/generations`)).body;
    expect(gens.find((g) => g.generation === 3)!.reason).toMatch(/^restored from generation 2 snapshot /);
  }, 180_000); // two backups and a restore

  it('refuses an out-of-band restore of a VM with two roots at the API, naming the dataset; nothing is queued or changed', async () => {
    const item = (await srv.api('GET', `/targets/${targetId}/datasets`)).body.items.find((i) => i.source === `${p1.name}/vm/web`)!;
    const body = {
      targetId,
      dataset: item.dataset,
      generation: 1,
      snapshot,
      destination: `${p1.name}/vm/web-copy`,
      newGuestId: '102',
      restoreNetwork: false,
    };
    const before = (await srv.api('GET', '/events?limit=200')).body.items.length;
    const r = await srv.api<ApiErrorBody>('POST', '/restores', body);
    // A VM whose roots span two pools cannot be restored one dataset at a time: it says so and changes nothing.
    expect(r.status).toBe(400);
    expect(r.body.error.fields.dataset).toMatch(/2 dataset roots/);
    expect((await srv.api('GET', '/events?limit=200')).body.items.length).toBe(before);
    expect((await zfs('list', '-H', '-o', 'name', '-r', p1.name)).includes('web-copy')).toBe(false);
    expect(JSON.parse(readFileSync(manifest, 'utf8')).guests.map((g: { id: string }) => g.id)).toEqual(['101', '7']);
  });

  it('restores a jail out of band under a new id; its own id answers 409', async () => {
    writeFileSync(join(await mnt(`${p1.name}/jails/www`), 'index.html'), 'hello');
    const job = (await srv.api('POST', '/jobs', { name: 'www', targetId, mode: 'jail', source: '7' })).body;
    const b = await srv.waitEvent((await srv.api('POST', `/jobs/${job.id}/run`)).body.eventId);
    expect(b.status, b.error).toBe('success');
    const item = (await srv.api('GET', `/targets/${targetId}/datasets`)).body.items.find((i) => i.jobId === job.id)!;
    expect(item.guest).toMatchObject({ kind: 'jail', id: '7', name: 'www', network: { 'ip4.addr': ['192.0.2.7/24'] } });
    const body = {
      targetId,
      dataset: item.dataset,
      generation: 1,
      snapshot: b.snapshot,
      destination: `${p1.name}/jails/www8`,
      restoreNetwork: false,
    };
    const same = await srv.api<ApiErrorBody>('POST', '/restores', body);
    expect(same.status).toBe(409);
    expect(same.body.error.fields.newGuestId).toBeTruthy();
    const r = await srv.api('POST', '/restores', { ...body, newGuestId: '8' });
    expect(r.status).toBe(202);
    const e = await srv.waitEvent(r.body.eventId);
    expect(e.status, e.error).toBe('success');
    expect(readFileSync(join(await mnt(`${p1.name}/jails/www8`), 'index.html'), 'utf8')).toBe('hello');
    const registered = JSON.parse(readFileSync(manifest, 'utf8')).guests.find((g: { id: string }) => g.id === '8');
    expect(registered).toMatchObject({ kind: 'jail', roots: [`${p1.name}/jails/www8`] });
    expect(registered.network ?? null).toBeNull(); // restoreNetwork: false
  });

  it("your own network wins over the backup's: the preview shows the entry, and exactly that entry is registered; a key outside the allow-list is a 400 naming it, nothing queued", async () => {
    const item = (await srv.api('GET', `/targets/${targetId}/datasets`)).body.items.find(
      (i) => i.guest?.kind === 'jail' && i.guest.id === '7',
    )!;
    const snapshot = item.generations[0].snapshots[0].name;
    const body = {
      targetId,
      dataset: item.dataset,
      generation: 1,
      snapshot,
      destination: `${p1.name}/jails/www9`,
      newGuestId: '9',
      restoreNetwork: false,
    };
    const before = (await srv.api('GET', '/events?kind=oob-restore')).body.items.length;
    for (const [network, field] of [
      [{ 'exec.start': ['touch /tmp/x'] }, 'network.exec.start'],
      [{ 'ip4.addr': ['10.0.0.1"; exec.start = "id'] }, 'network.ip4.addr'],
    ] as const) {
      for (const path of ['/restores/preview', '/restores']) {
        const r = await srv.api<ApiErrorBody>('POST', path, { ...body, network });
        expect(r.status, JSON.stringify(r.body)).toBe(400);
        expect(Object.keys(r.body.error.fields)).toEqual([field]);
      }
    }
    expect((await srv.api('GET', '/events?kind=oob-restore')).body.items.length).toBe(before);
    const mine = { 'ip4.addr': ['198.51.100.9/24'] };
    const preview = await srv.api('POST', '/restores/preview', { ...body, network: mine });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);
    expect(preview.body).toMatchObject({
      destination: `${p1.name}/jails/www9`,
      replaces: false,
      guest: { kind: 'jail', id: '9', sourceId: '7', network: 'yours', provider: 'manifest' },
    });
    const r = await srv.api('POST', '/restores', { ...body, network: mine });
    expect(r.status).toBe(202);
    const e = await srv.waitEvent(r.body.eventId);
    expect(e.status, e.error).toBe('success');
    const registered = JSON.parse(readFileSync(manifest, 'utf8')).guests.find((g: { id: string }) => g.id === '9');
    expect(registered).toEqual(JSON.parse(preview.body.guest!.text!));
    expect(registered.network).toEqual(mine); // not the backup's 192.0.2.7
  });

  it('a hostile target: guest metadata rewritten on the target is refused before any data moves; nothing registered, no command run', async () => {
    const item0 = (await srv.api('GET', `/targets/${targetId}/datasets`)).body.items.find(
      (i) => i.guest?.kind === 'jail' && i.guest?.id === '7',
    )!;
    const canary = join(dir, 'hostile-canary');
    // whoever controls the target rewrites the lifeboat:guest:* properties of the jail's backup
    const tds = item0.generations[0].dataset;
    for (const [k, v] of Object.entries({
      id: '../../../../etc/rc',
      name: '--exec=/bin/sh',
      config: { 'exec.prestart': [`touch ${canary}`], 'mount.fstab': ['/etc/fstab'] },
      network: { 'ip4.addr': ['10.0.0.1"; exec.start = "touch ' + canary] },
    }))
      await zfs('set', `lifeboat:guest:${k}=${JSON.stringify(v)}`, tds); // one at a time: zfs-fuse sets one property per call
    const node = (await srv.api('GET', '/nodes')).body.items[0].id;
    const refresh = await srv.waitEvent((await srv.api('POST', `/targets/${targetId}/refresh`, { nodeId: node })).body.eventId);
    expect(refresh.status, refresh.error).toBe('success');
    const item = (await srv.api('GET', `/targets/${targetId}/datasets`)).body.items.find((i) => i.dataset === item0.dataset)!;
    expect(item.guest).toMatchObject({ id: '../../../../etc/rc', name: '--exec=/bin/sh' }); // the catalog shows what the target says
    const manifestBefore = readFileSync(manifest, 'utf8');
    const r = await srv.api('POST', '/restores', {
      targetId,
      dataset: item.dataset,
      generation: 1,
      snapshot: item.generations[0].snapshots[0].name,
      destination: `${p1.name}/jails/hostile`,
      restoreNetwork: true,
    });
    expect(r.status).toBe(202);
    const e = await srv.waitEvent(r.body.eventId);
    expect(e.status).toBe('failed');
    expect(e.error).toMatch(/not a valid guest id/);
    expect(readFileSync(manifest, 'utf8')).toBe(manifestBefore); // nothing registered
    expect((await zfs('list', '-H', '-o', 'name', '-r', p1.name)).includes('hostile')).toBe(false); // no data moved
    expect(existsSync(canary)).toBe(false);
  }, 120_000);
});
