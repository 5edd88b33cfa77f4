// Resumable receive and lineage on real OpenZFS (unprivileged target user): a stream cut at half
// leaves a resume token, the next run sends only the rest; a token whose snapshot is gone is
// cleared (recv -A) without losing anything; a cut or failed *first* transfer continues the same
// generation and leaves no empty generation dataset; the bytes reported for a cut run are what
// left the node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLog } from '../faults/fixture.ts';
import {
  MiB,
  TARGET_PERMISSIONS,
  cutStreamAt,
  noEmptyGenerations,
  resumeTokens,
  sendEstimate,
  startWorld,
  tokenBytes,
  type OzWorld,
} from './world.ts';

let w: OzWorld;
const ds = (n: string) => `${w.src.name}/${n}`;
const dir = (n: string) => `${w.src.mountpoint}/${n}`;

beforeAll(async () => {
  w = await startWorld({ prefix: 'lbor', user: 'lbtarget', srcMiB: 384, tgtMiB: 512 });
}, 600_000);

afterAll(async () => {
  await w?.close();
}, 300_000);

/** The newest of this job's snapshots on the source. */
async function newestSourceSnapshot(dataset: string, jobId: number): Promise<string> {
  const names = (await w.vm.zfs('list', '-H', '-o', 'name', '-s', 'createtxg', '-t', 'snapshot', dataset))
    .split('\n')
    .filter((n) => n.includes(`@lb_j${jobId}_`));
  return names[names.length - 1];
}

/** Cut the run's stream once the receiver has half of `streamBytes`; the failed event and what the cut left. */
async function cutRunAtHalf(jobId: number, targetDs: string, streamBytes: number) {
  const id = await w.run(jobId);
  const { sent } = await cutStreamAt(w, jobId, Math.floor(streamBytes / 2));
  const e = await w.srv.waitEvent(id, 300_000);
  expect(e.status, await eventLog(w.srv.api, id)).toBe('failed');
  expect(e.errorClass, e.error).toBe('connectivity');
  const tokens = await resumeTokens(w.vm, targetDs);
  expect([...tokens.keys()]).toEqual([targetDs]);
  const had = await tokenBytes(w.vm, tokens.get(targetDs)!);
  // the cut run reports what left the node: at least what the receiver holds, at most what zfs send wrote
  expect(e.bytesDone).toBeGreaterThanOrEqual(had);
  expect(e.bytesDone).toBeLessThanOrEqual(sent + 256 * 1024);
  expect(had).toBeGreaterThanOrEqual(streamBytes * 0.45);
  return { event: e, had };
}

describe('resumable receive', () => {
  let jobId: number;
  it('an incremental cut at half leaves a resume token; the next run resumes and sends < 60 % of the stream', async () => {
    await w.vm.zfs('create', ds('app'));
    await w.vm.writeRandom(`${dir('app')}/base.bin`, 2 * MiB);
    jobId = await w.job({ name: 'app', source: ds('app'), keepLast: 3 });
    const first = await w.backupOk(jobId);
    const base = `${ds('app')}@${first.snapshot}`;
    await w.vm.writeRandom(`${dir('app')}/delta.bin`, 40 * MiB);
    const target = w.targetPath(jobId, 1, ds('app'));
    const { event: cut } = await cutRunAtHalf(jobId, target, 40 * MiB);
    const cutSnap = await newestSourceSnapshot(ds('app'), jobId);
    const stream = await sendEstimate(w.vm, ['-i', base, cutSnap]);

    const e = await w.backupOk(jobId);
    console.log(
      `resume: the cut run sent ${cut.bytesDone} bytes of a ${stream}-byte stream; the next run sent ${e.bytesDone} (${((100 * e.bytesDone) / stream).toFixed(1)} %)`,
    );
    const log = await eventLog(w.srv.api, e.id);
    expect(log).toMatch(/resuming the interrupted receive into/);
    expect(e.generation).toBe(1);
    expect(e.bytesDone).toBeLessThan(stream * 0.6);
    expect(e.bytesDone).toBeGreaterThan(0);
    // the cut snapshot and the new one are on the target with the source's GUIDs; no token is left
    const src = await w.vm.snapshotGuids(ds('app'));
    const tgt = await w.vm.snapshotGuids(target);
    expect(tgt.get(`${target}@${cutSnap.split('@')[1]}`)).toBe(src.get(cutSnap));
    expect(tgt.get(`${target}@${e.snapshot}`)).toBe(src.get(`${ds('app')}@${e.snapshot}`));
    expect((await resumeTokens(w.vm, w.backupRoot)).size).toBe(0);
  }, 900_000);

  it('a token whose source snapshot was destroyed is cleared (recv -A); the run continues and nothing complete is lost', async () => {
    const target = w.targetPath(jobId, 1, ds('app'));
    await w.vm.writeRandom(`${dir('app')}/delta2.bin`, 40 * MiB);
    await cutRunAtHalf(jobId, target, 40 * MiB);
    const before = await w.vm.snapshotGuids(target);
    const stale = await newestSourceSnapshot(ds('app'), jobId);
    await w.vm.zfs('destroy', stale);
    const e = await w.backupOk(jobId);
    expect(await eventLog(w.srv.api, e.id)).toMatch(/cleared the interrupted receive into .*zfs recv -A/);
    expect(e.generation).toBe(1);
    const after = await w.vm.snapshotGuids(target);
    for (const [n, g] of before) expect(after.get(n), n).toBe(g); // every complete snapshot is still there
    expect(after.get(`${target}@${e.snapshot}`)).toBe((await w.vm.snapshotGuids(ds('app'))).get(`${ds('app')}@${e.snapshot}`));
    expect((await resumeTokens(w.vm, w.backupRoot)).size).toBe(0);
  }, 900_000);
});

describe('a failed first transfer is not a lost lineage', () => {
  it('a first full send cut at half: the next run resumes it in generation 1; no empty generation', async () => {
    await w.vm.zfs('create', ds('fresh'));
    await w.vm.writeRandom(`${dir('fresh')}/data.bin`, 32 * MiB);
    const jobId = await w.job({ name: 'fresh', source: ds('fresh') });
    const target = w.targetPath(jobId, 1, ds('fresh'));
    await cutRunAtHalf(jobId, target, 32 * MiB);
    await noEmptyGenerations(w, jobId);
    const e = await w.backupOk(jobId);
    expect(e.generation).toBe(1);
    expect(await eventLog(w.srv.api, e.id)).not.toMatch(/destroyed by hand/);
    expect(e.bytesDone).toBeLessThan(24 * MiB);
    const gens = (await w.vm.zfs('list', '-H', '-o', 'name', '-d', '1', `${w.backupRoot}/j${jobId}`))
      .split('\n')
      .filter((n) => /\/g\d+$/.test(n));
    expect(gens).toEqual([`${w.backupRoot}/j${jobId}/g1`]);
    await noEmptyGenerations(w, jobId);
  }, 900_000);

  it('a first run that fails before anything arrives leaves no empty datasets; the next run writes generation 1', async () => {
    await w.vm.zfs('create', ds('denied'));
    await w.vm.writeRandom(`${dir('denied')}/data.bin`, MiB);
    const jobId = await w.job({ name: 'denied', source: ds('denied') });
    await w.vm.zfs('unallow', '-u', 'lbtarget', 'receive', w.backupRoot);
    try {
      const e = await w.srv.waitEvent(await w.run(jobId), 300_000);
      expect(e.status).toBe('failed');
      expect(await eventLog(w.srv.api, e.id)).toMatch(/removed .*\/j\d+.* again: this run created it and nothing arrived/);
    } finally {
      await w.vm.zfs('allow', '-u', 'lbtarget', TARGET_PERMISSIONS, w.backupRoot);
    }
    expect((await w.vm.exec(['zfs', 'list', `${w.backupRoot}/j${jobId}`])).code).not.toBe(0);
    const e = await w.backupOk(jobId);
    expect(e.generation).toBe(1);
    expect(await eventLog(w.srv.api, e.id)).toMatch(/nothing of .* has reached generation 1 on the target yet/);
    await noEmptyGenerations(w, jobId);
  }, 900_000);
});
