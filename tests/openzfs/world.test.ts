// The broken world on real OpenZFS (root target user): a full target pool, an SSH connection cut
// mid-stream, the target copy destroyed by hand and the common source snapshots destroyed by hand.
// After each: the event ends as documented and the next run does what the README says (resume in
// the same generation, or a new generation with the reason).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLog } from '../faults/fixture.ts';
import { MiB, cutStreamAt, noEmptyGenerations, releaseHolds, resumeTokens, startWorld, type OzWorld } from './world.ts';

const FULL = 16 * MiB;
let w: OzWorld;

beforeAll(async () => {
  w = await startWorld({ prefix: 'lbow', srcMiB: 256, tgtMiB: 384 });
}, 600_000);

afterAll(async () => {
  await w?.close();
}, 300_000);

describe('broken world', () => {
  let wid: number;
  const world = () => `${w.src.name}/world`;
  const wdir = () => `${w.src.mountpoint}/world`;
  it('target pool full: a zfs error naming the space; once space is freed the next run completes in the same generation', async () => {
    await w.vm.zfs('create', world());
    await w.vm.writeRandom(`${wdir()}/data.bin`, FULL);
    wid = await w.job({ name: 'world', source: world() });
    expect((await w.backupOk(wid)).generation).toBe(1);
    const avail = Number((await w.vm.zfs('get', '-Hp', '-o', 'value', 'available', w.tgt.name)).trim());
    await w.vm.zfs('create', '-o', `reservation=${avail - 2 * MiB}`, '-o', 'mountpoint=none', `${w.tgt.name}/filler`);
    await w.vm.writeRandom(`${wdir()}/full.bin`, 8 * MiB);
    const e = await w.srv.waitEvent(await w.run(wid), 300_000);
    expect(e.status).toBe('failed');
    expect(e.errorClass).toBe('zfs');
    expect(e.error).toMatch(/space/i);
    await w.vm.zfs('destroy', `${w.tgt.name}/filler`);
    const ok = await w.backupOk(wid);
    expect(ok.generation).toBe(1);
    expect((await resumeTokens(w.vm, w.backupRoot)).size).toBe(0);
    await noEmptyGenerations(w, wid);
  }, 900_000);

  it('SSH cut mid-stream: a connectivity error; the next run resumes and sends only the rest', async () => {
    await w.vm.writeRandom(`${wdir()}/ssh.bin`, 24 * MiB);
    const id = await w.run(wid);
    await cutStreamAt(w, wid, 12 * MiB);
    const e = await w.srv.waitEvent(id, 300_000);
    expect(e.status).toBe('failed');
    expect(e.errorClass, e.error).toBe('connectivity');
    expect((await resumeTokens(w.vm, w.backupRoot)).size).toBe(1);
    const ok = await w.backupOk(wid);
    expect(ok.generation).toBe(1);
    expect(await eventLog(w.srv.api, ok.id)).toMatch(/resuming the interrupted receive/);
    expect(ok.bytesDone).toBeLessThan(16 * MiB);
    expect((await resumeTokens(w.vm, w.backupRoot)).size).toBe(0);
  }, 900_000);

  it('target copy destroyed by hand: the next run starts a new generation and says why', async () => {
    await releaseHolds(w.vm, w.targetPath(wid, 1, world()), `lifeboat-j${wid}`); // Lifeboat's hold on the base goes first
    await w.vm.zfs('destroy', '-r', w.targetPath(wid, 1, world()));
    const e = await w.backupOk(wid);
    expect(e.generation).toBe(2);
    expect(await eventLog(w.srv.api, e.id)).toMatch(/missing on the target.*destroyed by hand\?\): new generation with a full send/);
    expect(e.bytesDone).toBeGreaterThanOrEqual(FULL);
    const next = await w.backupOk(wid);
    expect(next.generation).toBe(2);
    expect(next.bytesDone).toBeLessThan(MiB);
  }, 900_000);

  it('source snapshots destroyed by hand, bookmarks kept: the next run continues incrementally from the bookmark', async () => {
    const list = async (t: string) => (await w.vm.zfs('list', '-H', '-o', 'name', '-t', t, '-r', world())).split('\n').filter(Boolean);
    const marks = await list('bookmark');
    // each sent snapshot has its bookmark; only those whose snapshot the target still has are kept
    expect(marks.length).toBeGreaterThan(0);
    const onTarget = new Set([...(await w.vm.snapshotGuids(w.targetPath(wid, 2, world()))).values()]);
    for (const m of marks) expect(onTarget.has((await w.vm.zfs('get', '-Hp', '-o', 'value', 'guid', m)).trim())).toBe(true);
    await releaseHolds(w.vm, world(), `lifeboat-j${wid}`);
    for (const s of await list('snapshot')) await w.vm.zfs('destroy', s);
    await w.vm.writeRandom(`${wdir()}/after-bookmark.bin`, MiB);
    const e = await w.backupOk(wid);
    expect(e.generation).toBe(2);
    const log = await eventLog(w.srv.api, e.id);
    expect(log).toMatch(/the newest common snapshot is gone from the source; its bookmark #lb_j\d+_\S+ is the base/);
    expect(log).toMatch(/incremental from bookmark #lb_j/);
    expect(e.bytesDone).toBeLessThan(4 * MiB);
  }, 900_000);

  it('common source snapshots and bookmarks destroyed by hand: a new generation with the reason; the old one stays', async () => {
    const snaps = (await w.vm.zfs('list', '-H', '-o', 'name', '-t', 'snapshot,bookmark', '-r', world())).split('\n').filter(Boolean);
    await releaseHolds(w.vm, world(), `lifeboat-j${wid}`);
    for (const s of snaps) await w.vm.zfs('destroy', s);
    const e = await w.backupOk(wid);
    expect(e.generation).toBe(3);
    expect(await eventLog(w.srv.api, e.id)).toMatch(
      /no snapshot of .* is common \(by GUID\) to the source and target generation 2: new generation with a full send/,
    );
    expect((await w.vm.listAll(w.tgt.name)).some((n) => n.startsWith(`${w.targetPath(wid, 2, world())}@`))).toBe(true);
    // (generation 1 is left as the hand-destroy left it: only its empty parent dataset)
  }, 900_000);
});
