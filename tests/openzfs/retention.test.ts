// Retention on real OpenZFS: a source that keeps no snapshot (its bookmarks are the incremental
// bases), and an old generation destroyed by a backup under the job's generation policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLog } from '../faults/fixture.ts';
import { MiB, releaseHolds, startWorld, type OzWorld } from './world.ts';

let w: OzWorld;

beforeAll(async () => {
  w = await startWorld({ prefix: 'lbor', srcMiB: 192, tgtMiB: 256 });
}, 600_000);

afterAll(async () => {
  await w?.close();
}, 300_000);

const zero = { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0, within: null };

describe('retention on OpenZFS', () => {
  it('a source policy of zeros keeps no snapshot after the send: the bookmark carries the next run incrementally', async () => {
    const ds = `${w.src.name}/nosnap`;
    await w.vm.zfs('create', ds);
    await w.vm.writeRandom(`${w.src.mountpoint}/nosnap/a.bin`, 8 * MiB);
    const id = await w.job({ name: 'nosnap', source: ds, sourceRetention: zero, targetRetention: { ...zero, last: 5 } });
    const list = async (t: string) => (await w.vm.zfs('list', '-H', '-o', 'name', '-t', t, '-r', ds)).split('\n').filter(Boolean);
    const first = await w.backupOk(id);
    expect(await list('snapshot')).toEqual([]);
    expect(await list('bookmark')).toHaveLength(1);
    expect(await eventLog(w.srv.api, first.id)).toMatch(
      /pruned source \S+@lb_j\d+_\S+: no rule keeps it \(keeps only protected snapshots\); newest common, its bookmark is the next base/,
    );
    await w.vm.writeRandom(`${w.src.mountpoint}/nosnap/b.bin`, MiB);
    const second = await w.backupOk(id);
    const log = await eventLog(w.srv.api, second.id);
    expect(log).toMatch(/incremental from bookmark #lb_j/);
    expect(second.bytesDone).toBeLessThan(3 * MiB);
    expect(second.generation).toBe(1);
    expect(await list('snapshot')).toEqual([]);
    // the target keeps both (its own policy), the newest held as the next base's copy
    expect((await w.vm.snapshotGuids(w.targetPath(id, 1, ds))).size).toBe(2);
  }, 900_000);

  it('an old generation goes with the backup after the next one (keep 1), its hold released first', async () => {
    const ds = `${w.src.name}/gens`;
    await w.vm.zfs('create', ds);
    await w.vm.writeRandom(`${w.src.mountpoint}/gens/a.bin`, 4 * MiB);
    const id = await w.job({ name: 'gens', source: ds, keepGenerations: 1 });
    expect((await w.backupOk(id)).generation).toBe(1);
    // continuity lost on purpose: the source's snapshots and bookmarks go, the next run starts generation 2
    const mine = (await w.vm.zfs('list', '-H', '-o', 'name', '-t', 'snapshot,bookmark', '-r', ds)).split('\n').filter(Boolean);
    await releaseHolds(w.vm, ds, `lifeboat-j${id}`);
    for (const s of mine) await w.vm.zfs('destroy', s);
    expect((await w.backupOk(id)).generation).toBe(2);
    const g1 = `${w.backupRoot}/j${id}/g1`;
    expect(await w.vm.listAll(g1)).not.toEqual([]);
    const third = await w.backupOk(id);
    expect(third.generation).toBe(2);
    expect(await eventLog(w.srv.api, third.id)).toContain(`destroyed generation 1 (${g1}): not one of the newest 1`);
    expect((await w.vm.listAll(w.tgt.name)).some((n) => n === g1 || n.startsWith(`${g1}/`) || n.startsWith(`${g1}@`))).toBe(false);
    const gens = (await w.srv.api('GET', `/jobs/${id}/generations`)).body as { generation: number }[];
    expect(gens.map((g) => g.generation)).toEqual([2]);
  }, 900_000);
});
