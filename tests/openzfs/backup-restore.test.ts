// Dataset backups and restores on real OpenZFS 2.3, with the target reached as an unprivileged
// user that has exactly the README's `zfs allow` list (TARGET_PERMISSIONS): full, incremental and
// new-child sends; Keep Last on both sides; holds on the incremental base; send -nvP estimates as the progress total; a job
// restore and the generation fork after it; an out-of-band restore; a host-key re-pin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLog } from '../faults/fixture.ts';
import { MiB, noEmptyGenerations, restoreOk, sendEstimate, startWorld, type OzWorld } from './world.ts';

let w: OzWorld;
let jobId: number;
const app = () => `${w.src.name}/app`;
const dir = () => `${w.src.mountpoint}/app`;

beforeAll(async () => {
  w = await startWorld({ prefix: 'lbob', user: 'lbtarget' });
  await w.vm.zfs('create', app());
  await w.vm.writeRandom(`${dir()}/data.bin`, 8 * MiB);
  await w.vm.sh(`echo one > ${dir()}/version.txt`);
  jobId = await w.job({ name: 'app', source: app(), recursive: true, keepLast: 2, pruneTarget: true });
}, 600_000);

afterAll(async () => {
  await w?.close();
}, 300_000);

describe('backups to an unprivileged target user (README zfs allow list)', () => {
  it('the target user has exactly the README list, and the first backup is a full send with the send -nvP estimate as its total', async () => {
    const allowed = await w.vm.zfs('allow', w.backupRoot);
    expect(allowed).toMatch(
      /user lbtarget canmount,clone,create,destroy,hold,mount,mountpoint,promote,readonly,receive,release,send,userprop/,
    );
    const e = await w.backupOk(jobId);
    const snap = `${app()}@${e.snapshot}`;
    // the transfer's total (progress bar) is OpenZFS's own estimate of the stream, as sent (-c -L -e: both ends are OpenZFS)
    const estimate = await sendEstimate(w.vm, ['-c', '-L', '-e', snap]);
    expect(await eventLog(w.srv.api, e.id)).toContain(`stream size estimate: ${estimate} bytes (zfs send -nvP)`);
    expect(e.bytesDone).toBeGreaterThanOrEqual(8 * MiB);
    expect(e.bytesTotal).toBe(e.bytesDone); // the finished event carries the real count
    const target = await w.vm.snapshotGuids(w.targetPath(jobId, 1, app()));
    expect(target.get(`${w.targetPath(jobId, 1, app())}@${e.snapshot}`)).toBe((await w.vm.snapshotGuids(app())).get(snap));
    // nothing received is mounted, and the job root is read-only and unmounted
    expect((await w.vm.zfs('get', '-H', '-o', 'value', 'mounted', w.targetPath(jobId, 1, app()))).trim()).toBe('no');
    expect((await w.vm.zfs('get', '-H', '-o', 'value', 'readonly', w.targetPath(jobId, 1, app()))).trim()).toBe('on');
  }, 600_000);

  it('incremental runs send only the change; a new child is sent in full on its own', async () => {
    await w.vm.sh(`echo two > ${dir()}/version.txt`);
    await w.vm.writeRandom(`${dir()}/delta.bin`, MiB);
    const inc = await w.backupOk(jobId);
    expect(inc.bytesDone).toBeGreaterThanOrEqual(MiB);
    expect(inc.bytesDone).toBeLessThan(4 * MiB);
    expect(await eventLog(w.srv.api, inc.id)).toMatch(/incremental from lb_j/);

    await w.vm.zfs('create', `${app()}/child`);
    await w.vm.writeRandom(`${dir()}/child/c.bin`, 2 * MiB);
    await w.vm.sh(`echo three > ${dir()}/version.txt`);
    const e = await w.backupOk(jobId);
    const log = await eventLog(w.srv.api, e.id);
    expect(log).toMatch(new RegExp(`full: ${app()}/child@`));
    expect(log).toMatch(new RegExp(`incremental from lb_j\\S+: ${app()}@`));
    expect(e.bytesDone).toBeLessThan(5 * MiB);
    expect(e.generation).toBe(1);
    await noEmptyGenerations(w, jobId);
  }, 600_000);

  it('Keep Last 2 holds on the source and on the target (prune as the unprivileged user)', async () => {
    const e = await w.backupOk(jobId);
    const log = await eventLog(w.srv.api, e.id);
    expect(log).toMatch(/pruned target/);
    const ours = (m: Map<string, string>, ds: string) => [...m.keys()].filter((n) => n.startsWith(`${ds}@lb_j${jobId}_`));
    expect(ours(await w.vm.snapshotGuids(app()), app())).toHaveLength(2);
    const t = w.targetPath(jobId, 1, app());
    expect(ours(await w.vm.snapshotGuids(t), t)).toHaveLength(2);
  }, 600_000);

  it('the incremental base is held on both sides by the job (zfs holds), the older ones are not; without the permission: a warning', async () => {
    const e = await w.backupOk(jobId);
    const t = w.targetPath(jobId, 1, app());
    const holds = async (ds: string) => {
      const snaps = [...(await w.vm.snapshotGuids(ds)).keys()].filter((n) => n.startsWith(`${ds}@lb_j${jobId}_`));
      const out = await w.vm.zfs('holds', '-H', ...snaps);
      return out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t').slice(0, 2).join(' '));
    };
    for (const ds of [app(), t]) expect(await holds(ds)).toEqual([`${ds}@${e.snapshot} lifeboat-j${jobId}`]);
    const r = await w.vm.exec(['zfs', 'destroy', `${t}@${e.snapshot}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/being held|dataset is busy/); // OpenZFS 2.3: "it's being held"
    // a target user delegated without hold/release: the backup succeeds and says the chain is not protected there
    await w.vm.zfs('unallow', '-u', 'lbtarget', 'hold,release', w.backupRoot);
    try {
      const warned = await w.backupOk(jobId);
      // a line of level warn (the UI marks it), not an info line saying "warning:"
      const lines = (await w.srv.api('GET', `/events/${warned.id}/log`)).body.items;
      const held = /^moving the hold lifeboat-j\d+ to \S+(, \S+)* on the target failed, the chain is not protected there/;
      expect(lines.filter((l) => held.test(l.message)).map((l) => l.level)).toEqual(['warn']);
      expect(await holds(app())).toEqual([`${app()}@${warned.snapshot} lifeboat-j${jobId}`]);
      expect(await holds(t)).toEqual([`${t}@${e.snapshot} lifeboat-j${jobId}`]); // the old base keeps its hold
    } finally {
      await w.vm.zfs('allow', '-u', 'lbtarget', 'hold,release', w.backupRoot);
    }
    const next = await w.backupOk(jobId);
    for (const ds of [app(), t]) expect(await holds(ds)).toEqual([`${ds}@${next.snapshot} lifeboat-j${jobId}`]);
  }, 600_000);

  let restored: { snapshot: string; sha: string };
  it('job restore of an older snapshot: data back, target untouched; the next backup forks generation 2 (clone + promote) incrementally', async () => {
    const gens = (await w.srv.api('GET', `/jobs/${jobId}/generations`)).body;
    const older = gens[0].snapshots[gens[0].snapshots.length - 1].name; // the older of the two kept
    const targetBefore = await w.vm.snapshotGuids(w.backupRoot);
    await w.vm.sh(`echo changed-after-backup > ${dir()}/version.txt`);
    const e = await restoreOk(w, jobId, 1, older);
    expect((await w.vm.must(['cat', `${dir()}/version.txt`])).trim()).toBe('three');
    expect(e.bytesTotal).toBe(e.bytesDone);
    expect([...(await w.vm.snapshotGuids(w.backupRoot)).entries()]).toEqual([...targetBefore.entries()]);
    expect((await w.vm.listAll(w.src.name)).filter((n) => /lb-staging|-lb-old-/.test(n))).toEqual([]);
    restored = { snapshot: older, sha: await w.vm.sha256(`${dir()}/data.bin`) };

    const b = await w.backupOk(jobId);
    expect(b.generation).toBe(2);
    expect(b.bytesDone).toBeLessThan(MiB);
    expect(await eventLog(w.srv.api, b.id)).toMatch(/forked .* \(clone \+ promote\)/);
    await noEmptyGenerations(w, jobId);
  }, 600_000);

  it('out-of-band restore into a new dataset: writable, mounted, same data and GUID as the target snapshot', async () => {
    const catalog = (await w.srv.api('GET', `/targets/${w.targetId}/datasets`)).body.items;
    const item = catalog.find((i) => i.jobId === jobId && i.source === app())!;
    const g1 = item.generations.find((g) => g.generation === 1)!;
    const snap = g1.snapshots.find((s) => s.name === restored.snapshot)!;
    const destination = `${w.src.name}/copy`;
    const r = await w.srv.api('POST', '/restores', {
      targetId: w.targetId,
      nodeId: w.runner.nodeId,
      dataset: g1.dataset,
      generation: 1,
      snapshot: snap.name,
      destination,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const e = await w.srv.waitEvent(r.body.eventId, 300_000);
    expect(e.status, `${e.error}\n${await eventLog(w.srv.api, e.id)}`).toBe('success');
    expect((await w.vm.snapshotGuids(destination)).get(`${destination}@${snap.name}`)).toBe(snap.guid);
    expect(await w.vm.sha256(`${w.src.mountpoint}/copy/data.bin`)).toBe(restored.sha);
    await w.vm.sh(`echo writable > ${w.src.mountpoint}/copy/new.txt`);
  }, 600_000);

  it('re-pin: the host key is cleared, shown again by a validation through the unprivileged user, and pinned by a confirmation', async () => {
    const before = (await w.srv.api('GET', `/targets/${w.targetId}`)).body;
    const r = await w.srv.api('POST', `/targets/${w.targetId}/host-key/reset`, { nodeId: w.runner.nodeId });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const e = await w.srv.waitEvent(r.body.eventId, 300_000);
    expect(e.status, e.error).toBe('success');
    const seen = (await w.srv.api('GET', `/targets/${w.targetId}`)).body;
    expect(seen.hostKeyFingerprint).toBeNull(); // nothing pinned until a human confirms (README, Adding a target)
    expect(seen.pendingHostKeyFingerprint).toBe(before.hostKeyFingerprint);
    const c = await w.srv.api('POST', `/targets/${w.targetId}/host-key/confirm`, { fingerprint: seen.pendingHostKeyFingerprint });
    expect(c.status, JSON.stringify(c.body)).toBe(200);
    const after = (await w.srv.api('GET', `/targets/${w.targetId}`)).body;
    expect(after.hostKeyFingerprint).toBe(before.hostKeyFingerprint);
    await w.backupOk(jobId);
  }, 600_000);
});
