// Incremental job restores on real OpenZFS 2.3 (docs/zfs.md, "Restores"): the live tree still has
// the 1st backup's snapshot (same GUID), so restoring the 2nd sends only the increment from it,
// received into a clone of that snapshot in staging, promoted after the swap. The same snapshot
// restored out of band into a new dataset is the full stream it is compared with. Before that the
// runner is killed (`--crash-at`) with the clone in staging and again between the swap's renames:
// the live tree and its snapshots stay as they were, and the next restore clears the leftovers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLog } from '../faults/fixture.ts';
import { MiB, restoreOk, startWorld, type OzWorld } from './world.ts';

let w: OzWorld;
let jobId: number;
/** The last backup of the first test (generation 2), restored by the second. */
let nextSnapshot = '';
const app = () => `${w.src.name}/app`;
const dir = () => `${w.src.mountpoint}/app`;
const names = async (ds: string) =>
  [...(await w.vm.snapshotGuids(ds)).keys()].filter((n) => n.startsWith(`${ds}@`)).map((n) => n.slice(ds.length + 1));
const get = async (p: string, ds: string) => (await w.vm.zfs('get', '-Hp', '-o', 'value', p, ds)).trim();
/** Every dataset and snapshot of the source pool with its GUID, staging and set-aside leftovers left out. */
const liveState = async () =>
  (await w.vm.zfs('get', '-Hp', '-r', '-o', 'name,value', 'guid', w.src.name))
    .split('\n')
    .filter((l) => l && !/lb-staging|-lb-old-/.test(l))
    .sort();

/** Restart the guest runner with --crash-at, start a restore of `snapshot`, expect SIGKILL and `interrupted`. */
async function crashedRestore(checkpoint: string, snapshot: string): Promise<number> {
  await w.runner.restart({ crashAt: checkpoint });
  const r = await w.srv.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const id = r.body.eventId as number;
  expect(await w.runner.exited(), w.runner.output().slice(-2000)).toBe('SIGKILL');
  expect(w.runner.output()).toContain(`--crash-at ${checkpoint}: event ${id} reached it`);
  const e = await w.srv.waitFor(
    `event ${id} interrupted`,
    async () => {
      const x = (await w.srv.api('GET', `/events/${id}`)).body;
      return x.status !== 'running' ? x : null;
    },
    120_000,
    200,
  );
  expect(e.status).toBe('interrupted');
  await w.runner.restart();
  return id;
}

beforeAll(async () => {
  w = await startWorld({ prefix: 'lbir', user: 'lbtarget', leaseMs: 10_000 });
  await w.vm.zfs('create', app());
  await w.vm.zfs('create', `${app()}/sub`);
  jobId = await w.job({ name: 'app', source: app(), recursive: true, keepLast: 0, pruneTarget: false });
}, 600_000);

afterAll(async () => {
  await w?.close();
}, 300_000);

describe('incremental job restore', () => {
  it('restores the 2nd backup over a live tree that has the 1st: only the increment is sent; older snapshots stay', async () => {
    await w.vm.writeRandom(`${dir()}/data.bin`, 16 * MiB);
    await w.vm.sh(`echo one > ${dir()}/version.txt; echo sub-one > ${dir()}/sub/s.txt`);
    const b1 = await w.backupOk(jobId);
    await w.vm.writeRandom(`${dir()}/delta.bin`, MiB);
    await w.vm.sh(`echo two > ${dir()}/version.txt; echo sub-two > ${dir()}/sub/s.txt`);
    const b2 = await w.backupOk(jobId);
    const sha = { data: await w.vm.sha256(`${dir()}/data.bin`), delta: await w.vm.sha256(`${dir()}/delta.bin`) };
    // after the 2nd backup: live changes and a hand-made snapshot
    await w.vm.sh(`echo live > ${dir()}/version.txt; rm ${dir()}/delta.bin; echo sub-live > ${dir()}/sub/s.txt`);
    await w.vm.zfs('snapshot', `${app()}@hand`);
    const guid1 = (await w.vm.snapshotGuids(app())).get(`${app()}@${b1.snapshot}`);
    const targetBefore = await w.vm.snapshotGuids(w.backupRoot);

    // killed with the increment received into the clone in staging: the live tree is as it was
    const before = await liveState();
    const staged = await crashedRestore('after-staging', b2.snapshot!);
    expect(await liveState()).toEqual(before);
    expect(await get('lifeboat:staging', `${w.src.name}/.lb-staging-${staged}-app`)).toBe(String(staged));
    expect(await get('origin', `${w.src.name}/.lb-staging-${staged}-app/app`)).toBe(`${app()}@${b1.snapshot}`);
    expect((await w.vm.must(['cat', `${dir()}/version.txt`])).trim()).toBe('live');
    // killed between the swap's renames (the live tree set aside, the clone of its snapshot still in staging)
    const swapping = await crashedRestore('between-swap-renames', b2.snapshot!);
    expect(await w.vm.listAll(w.src.name)).toContain(`${app()}-lb-old-${swapping}`);

    const e = await restoreOk(w, jobId, 1, b2.snapshot!);
    const log = await eventLog(w.srv.api, e.id);
    expect(log).toMatch(new RegExp(`removed leftover staging ${w.src.name}/.lb-staging-${swapping}-app`));
    expect(log).toMatch(new RegExp(`recovered ${app()}`));
    expect(log).toMatch(new RegExp(`${app()}: incremental from ${b1.snapshot} \\(\\d+ bytes\\)`));
    expect(log).toMatch(new RegExp(`${app()}/sub: incremental from ${b1.snapshot} \\(\\d+ bytes\\)`));
    expect(log).toMatch(new RegExp(`promoted ${app()} `));
    expect(e.bytesDone).toBeGreaterThanOrEqual(MiB);
    expect(e.bytesDone).toBeLessThan(4 * MiB);
    expect((await w.vm.must(['cat', `${dir()}/version.txt`])).trim()).toBe('two');
    expect((await w.vm.must(['cat', `${dir()}/sub/s.txt`])).trim()).toBe('sub-two');
    expect(await w.vm.sha256(`${dir()}/data.bin`)).toBe(sha.data);
    expect(await w.vm.sha256(`${dir()}/delta.bin`)).toBe(sha.delta);
    // the 1st snapshot survived with its GUID (the promote moved it); the restored one has the target's GUID
    expect(await names(app())).toEqual([b1.snapshot, b2.snapshot]);
    expect(await names(`${app()}/sub`)).toEqual([b1.snapshot, b2.snapshot]);
    expect((await w.vm.snapshotGuids(app())).get(`${app()}@${b1.snapshot}`)).toBe(guid1);
    expect((await w.vm.snapshotGuids(app())).get(`${app()}@${b2.snapshot}`)).toBe(
      targetBefore.get(`${w.targetPath(jobId, 1, app())}@${b2.snapshot}`),
    );
    for (const ds of [app(), `${app()}/sub`]) {
      expect(await get('origin', ds)).toBe('-');
      expect(await get('mounted', ds)).toBe('yes');
    }
    expect((await w.vm.listAll(w.src.name)).filter((n) => /lb-staging|-lb-old-/.test(n))).toEqual([]);
    expect([...(await w.vm.snapshotGuids(w.backupRoot)).entries()]).toEqual([...targetBefore.entries()]);

    // the same snapshot in full (out of band, into a new dataset): what every restore sent before
    const tds = w.targetPath(jobId, 1, app());
    const r = await w.srv.api('POST', '/restores', {
      targetId: w.targetId,
      nodeId: w.runner.nodeId,
      dataset: tds,
      generation: 1,
      snapshot: b2.snapshot,
      destination: `${w.src.name}/copy`,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const full = await w.srv.waitEvent(r.body.eventId, 300_000);
    expect(full.status, full.error ?? '').toBe('success');
    expect(await eventLog(w.srv.api, full.id)).toMatch(new RegExp(`${w.src.name}/copy: full \\(\\d+ bytes\\)`));
    expect(full.bytesDone).toBeGreaterThan(16 * MiB);
    console.log(`restore of ${b2.snapshot}: incremental ${e.bytesDone} bytes, full ${full.bytesDone} bytes`);

    // the next backup forks from the restored snapshot and continues incrementally
    const next = await w.backupOk(jobId);
    expect(next.generation).toBe(2);
    expect(next.bytesDone).toBeLessThan(MiB);
    nextSnapshot = next.snapshot!;
  }, 600_000);

  it('keeps the replaced tree on request (promoted away from it first), lists it, and a remove-kept event destroys it', async () => {
    // live changes after the last backup, and a hand snapshot: they go with the kept copy
    await w.vm.sh(`echo replaced > ${dir()}/version.txt`);
    await w.vm.zfs('snapshot', `${app()}@hand2`);
    const e = await restoreOk(w, jobId, 2, nextSnapshot, true);
    const kept = `${app()}-lb-old-${e.id}`;
    const log = await eventLog(w.srv.api, e.id);
    expect(log).toMatch(new RegExp(`${app()}: incremental from `));
    expect(log).toMatch(new RegExp(`promoted ${app()} `));
    expect(log).toMatch(new RegExp(`kept the replaced ${app()} as ${kept}`));
    expect((await w.vm.must(['cat', `${dir()}/version.txt`])).trim()).toBe('two');
    // the restored tree does not depend on the kept copy; the kept copy is a clone of the restored base
    for (const ds of [app(), `${app()}/sub`]) expect(await get('origin', ds)).toBe('-');
    expect(await get('origin', kept)).toMatch(new RegExp(`^${app()}@`));
    expect(await get('lifeboat:kept', kept)).toBe(String(e.id));
    for (const ds of [kept, `${kept}/sub`]) {
      expect(await get('mounted', ds)).toBe('no');
      expect(await get('canmount', ds)).toBe('noauto');
    }
    expect(await names(kept)).toContain('hand2');
    const listed = (await w.srv.api('GET', '/kept-datasets')).body.items;
    expect(listed).toMatchObject([{ dataset: kept, replaced: app(), restoreEventId: e.id, chosen: true, removable: true }]);

    const before = await liveState();
    const rm = await w.srv.api('POST', '/kept-datasets/remove', { nodeId: w.runner.nodeId, dataset: kept });
    expect(rm.status, JSON.stringify(rm.body)).toBe(202);
    const done = await w.srv.waitEvent(rm.body.eventId, 300_000);
    expect(done.status, `${done.error}\n${await eventLog(w.srv.api, done.id)}`).toBe('success');
    expect((await w.vm.listAll(w.src.name)).filter((n) => /lb-staging|-lb-old-/.test(n))).toEqual([]);
    expect(await liveState()).toEqual(before); // nothing of the restored tree was touched
    expect((await w.srv.api('GET', '/kept-datasets')).body.items).toEqual([]);
    expect((await w.vm.must(['cat', `${dir()}/version.txt`])).trim()).toBe('two');
  }, 600_000);
});
