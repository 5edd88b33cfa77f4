// Restores over a real sshd (127.0.0.1) from a real zfs-fuse target pool into a real zfs-fuse
// source pool: in place from a job (the 2nd of 3 snapshots), the next backup forking generation 2
// incrementally, an injected failure between staging and swap, a cancelled receive, and
// out-of-band restores (new destination, existing destination with and without overwrite, guests).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runBackup, type RunBackupParams } from '../../node-runner/src/executors/backup.ts';
import { removeKept } from '../../node-runner/src/executors/remove-kept.ts';
import { runJobRestore, runOobRestore } from '../../node-runner/src/executors/restore.ts';
import type { RemoveKeptParams } from '../../protocol/src/runner-api.ts';
import type { JobRestoreParams, OobRestoreParams } from '../../node-runner/src/executors/restore-types.ts';
import { ExecError, type JobSpec, type TargetSpec } from '../../node-runner/src/executors/types.ts';
import { expectExecError, jobSpec, pinnedTarget, startWorld, Teardown } from '../helpers/world.ts';
import { releaseHolds, snapshotGuids, testContext, writeRandom, zfs, zfsWhenFree, type TestPool } from '../helpers/zfs.ts';

let src: TestPool;
let tgt: TestPool;
let target: TargetSpec;
let backupRoot: string;

const MiB = 1 << 20;
const tick = () => new Promise((r) => setTimeout(r, 1100)); // snapshot names have 1 s resolution

const job = jobSpec;
function backupParams(j: JobSpec, o: Partial<RunBackupParams> = {}): RunBackupParams {
  return { target, job: j, generation: 1, nextGeneration: 2, forkFrom: null, ...o };
}
const mnt = (ds: string) => join(src.mountpoint!, ds.slice(src.name.length + 1));
const prop = async (name: string, p: string) => (await zfs('get', '-Hp', '-o', 'value', p, name)).trim();
const snapNames = async (ds: string) =>
  [...(await snapshotGuids(ds)).keys()].filter((n) => n.startsWith(ds + '@')).map((n) => n.slice(ds.length + 1));

/** relative path → sha256 of every file under `dir` (following into mounted child datasets). */
async function contents(dir: string, skip: string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.name === '.zfs' || skip.some((s) => r === s || r.startsWith(s + '/'))) continue;
      if (e.isDirectory()) await walk(join(d, e.name), r);
      else
        out[r] = createHash('sha256')
          .update(await readFile(join(d, e.name)))
          .digest('hex');
    }
  };
  await walk(dir, '');
  return out;
}
/** Every dataset and snapshot of both pools, with GUIDs. */
async function poolState(): Promise<string> {
  const a = await zfs('get', '-Hp', '-r', '-o', 'name,value', 'guid', src.name);
  const b = await zfs('get', '-Hp', '-r', '-o', 'name,value', 'guid', tgt.name);
  return a + b;
}
/** Datasets of the source pool carrying lifeboat:staging or lifeboat:set-aside, or named like staging/set-aside. */
async function restoreDebris(): Promise<string[]> {
  const out = await zfs('get', '-Hp', '-r', '-o', 'name,property,value,source', 'lifeboat:staging,lifeboat:set-aside', src.name);
  const marked = out
    .split('\n')
    .filter((l) => l && l.split('\t')[3] === 'local')
    .map((l) => l.split('\t')[0]);
  const named = (await zfs('list', '-H', '-o', 'name', '-r', src.name)).split('\n').filter((n) => /\.lb-staging-|-lb-old-/.test(n));
  return [...new Set([...marked, ...named])].filter((n) => !n.includes('.lb-staging-999-')).sort();
}

const teardown = new Teardown();
beforeAll(async () => {
  const w = await startWorld(
    teardown,
    { src: { prefix: 'lbrs', mounted: true, sizeMiB: 192 }, tgt: { prefix: 'lbrt', mounted: false, sizeMiB: 192 } },
    { createBackupRoot: true },
  );
  ({
    pools: { src, tgt },
    backupRoot,
  } = w);
  target = await pinnedTarget(w);
}, 120_000);

afterAll(() => teardown.run(), 120_000);

describe('restore from a job (in place)', () => {
  const J = 1;
  let ds: string;
  let j: JobSpec;
  const runs: Awaited<ReturnType<typeof runBackup>>[] = [];
  const state: Record<string, string>[] = [];
  let restoredGuid = '';

  it('restores the 2nd of 3 snapshots of a recursive tree; contents equal that snapshot, the target is untouched', async () => {
    ds = `${src.name}/app`;
    await zfs('create', ds);
    await zfs('create', `${ds}/sub`);
    j = job(J, ds, { recursive: true });
    // run 1: base data
    await writeRandom(join(mnt(ds), 'big'), 8 * MiB);
    await writeFile(join(mnt(ds), 'a.txt'), 'version 1\n');
    await writeFile(join(mnt(ds), 'sub', 's.txt'), 'sub 1\n');
    runs.push(await runBackup(backupParams(j), testContext(101).ctx));
    state.push(await contents(mnt(ds)));
    // run 2: edits
    await tick();
    await writeFile(join(mnt(ds), 'a.txt'), 'version 2\n');
    await writeFile(join(mnt(ds), 'b.txt'), 'only in 2 and 3\n');
    await writeFile(join(mnt(ds), 'sub', 's.txt'), 'sub 2\n');
    runs.push(await runBackup(backupParams(j), testContext(102).ctx));
    state.push(await contents(mnt(ds)));
    // run 3: more edits, and a child dataset the 2nd snapshot does not have
    await tick();
    await writeFile(join(mnt(ds), 'a.txt'), 'version 3\n');
    await rm(join(mnt(ds), 'b.txt'));
    await writeFile(join(mnt(ds), 'c.txt'), 'only in 3\n');
    await writeFile(join(mnt(ds), 'sub', 's.txt'), 'sub 3\n');
    await zfs('create', `${ds}/late`);
    await writeFile(join(mnt(ds), 'late', 'l.txt'), 'late child\n');
    runs.push(await runBackup(backupParams(j), testContext(103).ctx));
    state.push(await contents(mnt(ds)));
    expect(runs.map((r) => r.generation)).toEqual([1, 1, 1]);
    expect(state[1]).not.toEqual(state[2]);
    await writeFile(join(mnt(ds), 'a.txt'), 'unsaved live edit\n');

    const tds = `${backupRoot}/j${J}/g1/${ds}`;
    const guid2 = await prop(`${tds}@${runs[1].snapshot}`, 'guid');
    const targetBefore = await snapshotGuids(backupRoot);
    const t = testContext(200);
    const res = await runJobRestore({ target, job: j, generation: 1, snapshot: runs[1].snapshot, guid: guid2, dataset: tds }, t.ctx);

    // contents of the 2nd snapshot (root and child), the late child kept unchanged
    expect(await contents(mnt(ds), ['late'])).toEqual(state[1]);
    expect(await readFile(join(mnt(ds), 'late', 'l.txt'), 'utf8')).toBe('late child\n');
    expect(res.preserved).toEqual([`${ds}/late`]);
    expect(res.replaced).toEqual([ds]);
    expect(res.snapshot).toBe(runs[1].snapshot);
    expect(res.datasets.map((d) => d.destination)).toEqual([ds, `${ds}/sub`]);
    expect(res.bytesReceived).toBeGreaterThan(8 * MiB);
    // the live tree still has the 1st snapshot, but zfs-fuse cannot receive an increment as a clone
    // (no recv -o origin=): a full stream, and the log says why (OpenZFS: tests/openzfs/incremental-restore.test.ts)
    expect(t.logs).toContain(`${ds}: full (${res.datasets[0].bytes} bytes)`);
    expect(t.logs.join('\n')).toMatch(/in full \(this node's zfs cannot receive an increment as a clone/);
    // GUIDs equal the target's; the restored snapshot is the job's
    expect(await prop(`${ds}@${runs[1].snapshot}`, 'guid')).toBe(guid2);
    expect(await prop(`${ds}/sub@${runs[1].snapshot}`, 'guid')).toBe(await prop(`${tds}/sub@${runs[1].snapshot}`, 'guid'));
    expect(await snapNames(ds)).toEqual([runs[1].snapshot]);
    expect(await prop(`${ds}@${runs[1].snapshot}`, 'lifeboat:job')).toBe(String(J));
    expect(await prop(`${ds}@${runs[1].snapshot}`, 'lifeboat:generation')).toBe('1');
    // writable and mounted where it belongs
    for (const d of [ds, `${ds}/sub`, `${ds}/late`]) {
      expect(await prop(d, 'mounted')).toBe('yes');
      expect(await prop(d, 'mountpoint')).toBe(mnt(d));
    }
    await writeFile(join(mnt(ds), 'written-after-restore'), 'ok');
    await writeFile(join(mnt(ds), 'sub', 'written-after-restore'), 'ok');
    // the target is untouched: same snapshots, same GUIDs
    expect(await snapshotGuids(backupRoot)).toEqual(targetBefore);
    // nothing left behind
    expect(await restoreDebris()).toEqual([]);
    // phases and progress
    const phases = [...new Set(t.reports.map((p) => p.phase))];
    expect(phases).toEqual(['preparing', 'transferring', 'swapping', 'finalizing']);
    const tr = t.reports.filter((p) => p.phase === 'transferring');
    expect(tr.at(-1)!.bytesDone).toBe(res.bytesReceived);
    for (let i = 1; i < tr.length; i++) expect(tr[i].at - tr[i - 1].at).toBeLessThan(1100);
    restoredGuid = guid2;
    await rm(join(mnt(ds), 'written-after-restore'));
    await rm(join(mnt(ds), 'sub', 'written-after-restore'));
  }, 180_000);

  it('the next backup forks generation 2 from the restored snapshot and sends only the new delta', async () => {
    expect(restoredGuid).not.toBe('');
    await writeRandom(join(mnt(ds), 'delta'), 256 * 1024);
    await tick();
    const r = await runBackup(
      backupParams(j, { generation: 1, nextGeneration: 2, forkFrom: { generation: 1, snapshotGuid: restoredGuid } }),
      testContext(104).ctx,
    );
    expect(r.generation).toBe(2);
    expect(r.newGeneration?.reason).toMatch(/clone \+ promote/);
    const root = r.datasets.find((d) => d.source === ds)!;
    expect(root).toMatchObject({ mode: 'incremental', baseSnapshot: runs[1].snapshot, target: `${backupRoot}/j${J}/g2/${ds}` });
    expect(r.datasets.find((d) => d.source === `${ds}/sub`)).toMatchObject({ mode: 'incremental', baseSnapshot: runs[1].snapshot });
    expect(r.bytesSent).toBeLessThan(runs[0].bytesSent / 10);
    console.log(`bytes: full ${runs[0].bytesSent}, after restore (256 KiB delta + a 1-file child) ${r.bytesSent}`);
    expect(await prop(`${backupRoot}/j${J}/g2/${ds}@${r.snapshot}`, 'lifeboat:generation')).toBe('2');
    expect(await prop(`${backupRoot}/j${J}/g2/${ds}@${r.snapshot}`, 'guid')).toBe(await prop(`${ds}@${r.snapshot}`, 'guid'));
    // generation 1's snapshots all still exist (wherever the promote put them)
    const all = [...(await snapshotGuids(`${backupRoot}/j${J}`)).keys()];
    for (const s of runs) expect(all.some((n) => n.endsWith(`/${ds}@${s.snapshot}`))).toBe(true);
  }, 180_000);
  it("a generation-1 snapshot that the promote moved into generation 2's dataset is found by GUID (stale catalog path)", async () => {
    const g1 = `${backupRoot}/j${J}/g1/${ds}`;
    const all = await snapshotGuids(`${backupRoot}/j${J}`);
    const where = [...all.keys()].find((n) => n.endsWith(`/${ds}@${runs[0].snapshot}`))!;
    expect(where).toBe(`${backupRoot}/j${J}/g2/${ds}@${runs[0].snapshot}`); // moved by the promote
    const guid1 = all.get(where)!;
    const res = await runJobRestore(
      { target, job: j, generation: 1, snapshot: runs[0].snapshot, guid: guid1, dataset: g1 },
      testContext(202).ctx,
    );
    expect(res.datasets.map((d) => d.source)).toEqual([where, `${backupRoot}/j${J}/g2/${ds}/sub@${runs[0].snapshot}`]);
    expect(await contents(mnt(ds), ['late'])).toEqual(state[0]);
    expect(await prop(`${ds}@${runs[0].snapshot}`, 'guid')).toBe(guid1);
    expect(await prop(`${ds}@${runs[0].snapshot}`, 'lifeboat:generation')).toBe('1');
    expect(await snapshotGuids(`${backupRoot}/j${J}`)).toEqual(all);
    expect(await restoreDebris()).toEqual([]);
  }, 180_000);
});

describe('failures leave the original in place', () => {
  const J = 2;
  let ds: string;
  let j: JobSpec;
  let r1: Awaited<ReturnType<typeof runBackup>>;
  let r2: Awaited<ReturnType<typeof runBackup>>;

  beforeAll(async () => {
    ds = `${src.name}/keep`;
    await zfs('create', ds);
    j = job(J, ds);
    await writeRandom(join(mnt(ds), 'big'), 24 * MiB);
    await writeFile(join(mnt(ds), 'f.txt'), 'one\n');
    r1 = await runBackup(backupParams(j), testContext().ctx);
    await tick();
    await writeFile(join(mnt(ds), 'f.txt'), 'two\n');
    r2 = await runBackup(backupParams(j), testContext().ctx);
    await writeFile(join(mnt(ds), 'f.txt'), 'live\n');
  }, 180_000);

  const restoreParams = async (o: Partial<JobRestoreParams> = {}): Promise<JobRestoreParams> => {
    const tds = `${backupRoot}/j${J}/g1/${ds}`;
    return { target, job: j, generation: 1, snapshot: r1.snapshot, guid: await prop(`${tds}@${r1.snapshot}`, 'guid'), dataset: tds, ...o };
  };

  it('a failure injected between staging and swap: original intact (contents, newest snapshot GUID), staging cleaned', async () => {
    const before = await contents(mnt(ds));
    const newestGuid = await prop(`${ds}@${r2.snapshot}`, 'guid');
    const state = await poolState();
    const t = testContext(300);
    t.ctx.checkpoint = (n) => {
      if (n === 'after-staging') throw new ExecError('internal', 'injected failure after staging');
    };
    const e = await expectExecError(runJobRestore(await restoreParams(), t.ctx), 'internal');
    expect(e.message).toMatch(/injected/);
    expect(t.logs.join('\n')).toMatch(/staged and verified/);
    expect(t.logs.join('\n')).toMatch(/removed staging/);
    expect(await contents(mnt(ds))).toEqual(before);
    expect(await prop(`${ds}@${r2.snapshot}`, 'guid')).toBe(newestGuid);
    expect(await snapNames(ds)).toEqual([r1.snapshot, r2.snapshot]);
    expect(await prop(ds, 'mounted')).toBe('yes');
    expect(await restoreDebris()).toEqual([]);
    expect(await poolState()).toBe(state);
  }, 180_000);

  it('cancel during the receive kills the pipe and removes staging; the original stays', async () => {
    const before = await contents(mnt(ds));
    const state = await poolState();
    const t = testContext(301);
    t.onProgress = (p) => {
      if (p.phase === 'transferring' && (p.bytesDone ?? 0) > 0) t.abort();
    };
    await expectExecError(runJobRestore(await restoreParams(), t.ctx), 'cancelled');
    expect(await contents(mnt(ds))).toEqual(before);
    expect(await restoreDebris(), t.logs.join('\n')).toEqual([]);
    expect(await poolState()).toBe(state);
  }, 180_000);

  it('a snapshot GUID the target does not have → source-state, nothing changed', async () => {
    const state = await poolState();
    await expectExecError(runJobRestore(await restoreParams({ guid: '123456789' }), testContext().ctx), 'source-state');
    expect(await poolState()).toBe(state);
  }, 60_000);
});

describe('swap rollback, local children, custom mountpoints, guests', () => {
  const J = 4;
  let ds: string;
  let j: JobSpec;
  let r1: Awaited<ReturnType<typeof runBackup>>;
  let customMnt: string;
  const restoreParams = async (o: Partial<JobRestoreParams> = {}): Promise<JobRestoreParams> => {
    const tds = `${backupRoot}/j${J}/g1/${ds}`;
    return { target, job: j, generation: 1, snapshot: r1.snapshot, guid: await prop(`${tds}@${r1.snapshot}`, 'guid'), dataset: tds, ...o };
  };

  beforeAll(async () => {
    ds = `${src.name}/plain`;
    customMnt = join(src.dir, 'custom-mnt');
    await zfs('create', '-o', `mountpoint=${customMnt}`, ds);
    await writeFile(join(customMnt, 'p.txt'), 'plain 1\n');
    j = job(J, ds); // not recursive: the child below is not part of the job
    r1 = await runBackup(backupParams(j), testContext().ctx);
    await writeFile(join(customMnt, 'p.txt'), 'plain live\n');
    await zfs('create', `${ds}/kid`);
    await writeFile(join(customMnt, 'kid', 'k.txt'), 'kid\n');
  }, 180_000);

  it('a failure after the swap renames everything back: same datasets, GUIDs, mountpoint, contents', async () => {
    const state = await poolState();
    const before = await contents(customMnt);
    const t = testContext(500);
    t.ctx.checkpoint = (n) => {
      if (n === 'after-swap') throw new ExecError('internal', 'injected failure after the swap');
    };
    const e = await expectExecError(runJobRestore(await restoreParams(), t.ctx), 'internal');
    expect(e.message).toMatch(/injected failure after the swap/);
    expect(t.logs.join('\n')).toMatch(/rolled back/);
    expect(await poolState()).toBe(state);
    expect(await contents(customMnt)).toEqual(before);
    expect(await prop(ds, 'mountpoint')).toBe(customMnt);
    expect(await prop(ds, 'mounted')).toBe('yes');
    expect(await prop(`${ds}/kid`, 'mounted')).toBe('yes');
    expect(await prop(ds, 'lifeboat:set-aside')).toBe('-');
    expect(await restoreDebris()).toEqual([]);
  }, 180_000);

  it('non-recursive job: the local child is kept, the custom mountpoint carried over; the guest is stopped only for the swap', async () => {
    const order: string[] = [];
    const t = testContext(501);
    t.onProgress = (p) => {
      if (order.at(-1) !== p.phase) order.push(p.phase);
    };
    const guest = {
      roots: [ds],
      async stop() {
        order.push('stop()');
        return true;
      },
      async start() {
        order.push('start()');
      },
    };
    const res = await runJobRestore(await restoreParams({ job: { ...j, mode: 'jail', source: 'jail-7' }, guest }), t.ctx);
    expect(order).toEqual([
      'preparing',
      'transferring',
      'swapping',
      'stopping-guest',
      'stop()',
      'swapping',
      'starting-guest',
      'start()',
      'finalizing',
    ]);
    expect(res.preserved).toEqual([`${ds}/kid`]);
    expect(await prop(ds, 'mountpoint')).toBe(customMnt);
    expect(await readFile(join(customMnt, 'p.txt'), 'utf8')).toBe('plain 1\n');
    expect(await readFile(join(customMnt, 'kid', 'k.txt'), 'utf8')).toBe('kid\n');
    expect(await prop(`${ds}/kid`, 'mounted')).toBe('yes');
    expect(await snapNames(ds)).toEqual([r1.snapshot]);
    await writeFile(join(customMnt, 'w.txt'), 'writable\n');
    expect(await restoreDebris()).toEqual([]);
  }, 180_000);

  it('a job whose source dataset is gone is restored by creating it', async () => {
    await zfsWhenFree('unmount', `${ds}/kid`);
    await zfsWhenFree('unmount', ds);
    await releaseHolds(ds, `lifeboat-j${J}`);
    await zfsWhenFree('destroy', '-r', ds);
    const res = await runJobRestore(await restoreParams(), testContext(502).ctx);
    expect(res.replaced).toEqual([]);
    expect(await prop(ds, 'mounted')).toBe('yes');
    expect(await readFile(join(mnt(ds), 'p.txt'), 'utf8')).toBe('plain 1\n');
    expect(await prop(`${ds}@${r1.snapshot}`, 'guid')).toBe(await prop(`${backupRoot}/j${J}/g1/${ds}@${r1.snapshot}`, 'guid'));
    expect(await restoreDebris()).toEqual([]);
  }, 180_000);
});

describe('crash recovery (leftovers of an earlier restore event)', () => {
  const J = 5;
  const X = 77; // the event that "crashed" between the two swap renames
  let ds: string;
  let j: JobSpec;
  let r1: Awaited<ReturnType<typeof runBackup>>;
  const restoreParams = async (): Promise<JobRestoreParams> => {
    const tds = `${backupRoot}/j${J}/g1/${ds}`;
    return { target, job: j, generation: 1, snapshot: r1.snapshot, guid: await prop(`${tds}@${r1.snapshot}`, 'guid'), dataset: tds };
  };
  const withStatus = (t: ReturnType<typeof testContext>, status: string | null) =>
    Object.assign(t.ctx, {
      eventStatus: async (ids: number[]) => new Map(status === null ? [] : ids.map((i) => [i, status] as [number, string])),
    });

  beforeAll(async () => {
    ds = `${src.name}/crash`;
    await zfs('create', ds);
    await writeRandom(join(mnt(ds), 'data'), 3 * MiB);
    await writeFile(join(mnt(ds), 'c.txt'), 'crash 1\n');
    j = job(J, ds);
    r1 = await runBackup(backupParams(j), testContext().ctx);
    await writeFile(join(mnt(ds), 'c.txt'), 'crash live\n');
    await zfs('create', `${ds}/extra`);
    await writeFile(join(mnt(ds), 'extra', 'e.txt'), 'extra\n');
    // what a runner killed between the swap renames leaves behind
    await zfs('set', `lifeboat:set-aside=${X}`, ds);
    await zfsWhenFree('unmount', ds);
    await zfsWhenFree('rename', ds, `${ds}-lb-old-${X}`);
    const container = `${src.name}/.lb-staging-${X}-crash`;
    await zfs('create', '-o', 'mountpoint=none', '-o', `lifeboat:staging=${X}`, container);
    await zfs('create', `${container}/crash`);
  }, 180_000);

  it('while the owner event is running or unknown: refused (source-state), nothing touched', async () => {
    const state = await poolState();
    for (const status of ['running', null]) {
      const t = testContext(600);
      withStatus(t, status);
      const e = await expectExecError(runJobRestore(await restoreParams(), t.ctx), 'source-state');
      expect(e.message).toMatch(/set aside by restore event 77/);
      expect(await poolState()).toBe(state);
    }
    const t = testContext(600); // no eventStatus at all: the same
    await expectExecError(runJobRestore(await restoreParams(), t.ctx), 'source-state');
    expect(await poolState()).toBe(state);
  }, 180_000);

  it('once the owner event is over: the original is renamed back, its staging removed, then the restore runs; checkpoints are passed', async () => {
    const t = testContext(601);
    withStatus(t, 'interrupted');
    const seen: string[] = [];
    Object.assign(t.ctx, {
      checkpoint: (n: string) => {
        seen.push(n);
      },
    });
    const res = await runJobRestore(await restoreParams(), t.ctx);
    const logs = t.logs.join('\n');
    expect(logs).toMatch(new RegExp(`recovered ${ds}: interrupted restore event 77`));
    expect(logs).toMatch(/removed leftover staging .*\.lb-staging-77-crash/);
    expect(res.replaced).toEqual([ds]); // the original was back in place, so it was replaced (and its child kept)
    expect(res.preserved).toEqual([`${ds}/extra`]);
    expect(res.leftovers).toEqual([]);
    expect(await readFile(join(mnt(ds), 'c.txt'), 'utf8')).toBe('crash 1\n');
    expect(await readFile(join(mnt(ds), 'extra', 'e.txt'), 'utf8')).toBe('extra\n');
    expect(seen).toEqual(['restore-staging', 'after-staging', 'between-swap-renames', 'after-swap']);
    expect(await restoreDebris()).toEqual([]);
  }, 180_000);
});

describe('out-of-band restore', () => {
  const J = 3;
  let ds: string;
  let r1: Awaited<ReturnType<typeof runBackup>>;
  let tds: string;
  let snapState: Record<string, string>;

  beforeAll(async () => {
    ds = `${src.name}/oob`;
    await zfs('create', ds);
    await writeRandom(join(mnt(ds), 'data'), 2 * MiB);
    await writeFile(join(mnt(ds), 'x.txt'), 'oob 1\n');
    r1 = await runBackup(backupParams(job(J, ds)), testContext().ctx);
    snapState = await contents(mnt(ds));
    await writeFile(join(mnt(ds), 'x.txt'), 'changed after the backup\n');
    tds = `${backupRoot}/j${J}/g1/${ds}`;
  }, 180_000);

  const oob = async (destination: string, o: Partial<OobRestoreParams> = {}): Promise<OobRestoreParams> => ({
    target,
    dataset: tds,
    snapshotDataset: tds,
    generation: 1,
    snapshot: r1.snapshot,
    guid: await prop(`${tds}@${r1.snapshot}`, 'guid'),
    destination,
    restoreNetwork: false,
    overwrite: false,
    guest: null,
    newGuestId: null,
    sourceJobId: J,
    ...o,
  });

  it("onto a new destination (parents created): writable, mounted, GUID equals the target's", async () => {
    const dest = `${src.name}/restored/oob-copy`;
    const targetBefore = await snapshotGuids(backupRoot);
    const t = testContext(400);
    const res = await runOobRestore(await oob(dest), t.ctx);
    expect(res.replaced).toEqual([]);
    expect(await prop(`${dest}@${r1.snapshot}`, 'guid')).toBe(await prop(`${tds}@${r1.snapshot}`, 'guid'));
    expect(await prop(dest, 'mounted')).toBe('yes');
    expect(await prop(dest, 'mountpoint')).toBe(mnt(dest));
    expect(await prop(`${dest}@${r1.snapshot}`, 'lifeboat:job')).toBe('-'); // not owned by any job on this node
    expect(await contents(mnt(dest))).toEqual(snapState);
    await writeFile(join(mnt(dest), 'new.txt'), 'writable\n');
    expect(await readFile(join(mnt(dest), 'new.txt'), 'utf8')).toBe('writable\n');
    // unmount + mount again works (mountable where it belongs)
    await zfs('unmount', dest);
    await zfs('mount', dest);
    expect(await readFile(join(mnt(dest), 'new.txt'), 'utf8')).toBe('writable\n');
    expect(await snapshotGuids(backupRoot)).toEqual(targetBefore);
    expect(await restoreDebris()).toEqual([]);
    expect([...new Set(t.reports.map((p) => p.phase))]).toEqual(['preparing', 'transferring', 'swapping', 'finalizing']);
  }, 180_000);

  it('onto an existing destination without overwrite → source-state and nothing changes; guests never overwrite', async () => {
    const state = await poolState();
    const live = await contents(mnt(ds));
    await expectExecError(runOobRestore(await oob(ds), testContext().ctx), 'source-state');
    await expectExecError(
      runOobRestore(await oob(ds, { overwrite: true, guest: { kind: 'jail', name: 'web', id: 5 } }), testContext().ctx),
      'source-state',
    );
    expect(await poolState()).toBe(state);
    expect(await contents(mnt(ds))).toEqual(live);
  }, 120_000);

  it("onto an existing destination with overwrite: swapped in; another event's leftover staging is reported, not touched", async () => {
    const dest = `${src.name}/oob-over`;
    await zfs('create', dest);
    await writeFile(join(mnt(dest), 'old.txt'), 'old\n');
    const leftover = `${src.name}/.lb-staging-999-elsewhere`;
    await zfs('create', '-o', 'mountpoint=none', '-o', 'lifeboat:staging=999', leftover);
    const t = testContext(401);
    const res = await runOobRestore(await oob(dest, { overwrite: true }), t.ctx);
    expect(res.replaced).toEqual([dest]);
    expect(res.leftovers).toEqual([leftover]);
    expect(await prop(leftover, 'lifeboat:staging')).toBe('999');
    expect(await contents(mnt(dest))).toEqual(snapState);
    expect(await prop(`${dest}@${r1.snapshot}`, 'guid')).toBe(await prop(`${tds}@${r1.snapshot}`, 'guid'));
    expect(await restoreDebris()).toEqual([]);
    await zfs('destroy', leftover);
  }, 180_000);

  it('a destination in use (cannot be unmounted) → source-state; still mounted, staging cleaned, nothing changed', async () => {
    const dest = `${src.name}/oob-busy`;
    await zfs('create', dest);
    await zfs('create', `${dest}/child`);
    await writeFile(join(mnt(dest), 'old.txt'), 'old\n');
    const state = await poolState();
    const holder = spawn('sleep', ['120'], { cwd: mnt(dest), stdio: 'ignore' });
    try {
      const t = testContext(403);
      const e = await expectExecError(runOobRestore(await oob(dest, { overwrite: true }), t.ctx), 'source-state');
      expect(e.message).toMatch(/cannot unmount/);
      expect(await prop(dest, 'mounted')).toBe('yes');
      expect(await prop(`${dest}/child`, 'mounted')).toBe('yes');
      expect(await readFile(join(mnt(dest), 'old.txt'), 'utf8')).toBe('old\n');
      expect(await restoreDebris()).toEqual([]);
      expect(await poolState()).toBe(state);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.once('exit', r));
    }
  }, 180_000);

  it('a set-aside copy that cannot be destroyed (a held snapshot) is kept, reported and kept from mounting', async () => {
    const dest = `${src.name}/oob-held`;
    await zfs('create', dest);
    await writeFile(join(mnt(dest), 'old.txt'), 'old\n');
    await zfs('snapshot', `${dest}@keepme`);
    await zfs('hold', 'lbtest', `${dest}@keepme`);
    const t = testContext(402);
    const res = await runOobRestore(await oob(dest, { overwrite: true }), t.ctx);
    const aside = `${dest}-lb-old-402`;
    expect(res.kept).toEqual([{ dataset: aside, guids: [await prop(aside, 'guid')], chosen: false }]);
    expect(t.logs.join('\n')).toMatch(/was kept/);
    expect(await prop(aside, 'lifeboat:set-aside')).toBe('402');
    expect(await prop(aside, 'mountpoint')).toBe('none');
    expect(await prop(dest, 'mounted')).toBe('yes');
    expect(await contents(mnt(dest))).toEqual(snapState);
    await zfs('release', 'lbtest', `${aside}@keepme`);
    await zfs('destroy', '-r', aside);
    expect(await restoreDebris()).toEqual([]);
  }, 180_000);

  it('keep the replaced dataset: set aside with its snapshots, marked, never mounted; later restores leave it alone', async () => {
    const dest = `${src.name}/oob-keep`;
    await zfs('create', dest);
    await zfs('create', `${dest}/child`);
    await writeFile(join(mnt(dest), 'old.txt'), 'replaced data\n');
    await zfs('snapshot', '-r', `${dest}@before`);
    const t = testContext(403);
    const res = await runOobRestore(await oob(dest, { overwrite: true, keepReplaced: true }), t.ctx);
    const aside = `${dest}-lb-old-403`;
    expect(res.kept).toEqual([{ dataset: aside, guids: [await prop(aside, 'guid')], chosen: true }]);
    // a local child the snapshot does not have is moved into the restored tree, as always
    expect(res.preserved).toEqual([`${dest}/child`]);
    expect(t.logs.join('\n')).toMatch(/kept the replaced .*oob-keep as .*oob-keep-lb-old-403/);
    expect(await contents(mnt(dest))).toEqual(snapState); // the restore itself is unchanged
    // marked as kept by this event, not mounted and never mounted by itself, snapshots intact
    expect(await prop(aside, 'lifeboat:kept')).toBe('403');
    expect(await prop(aside, 'lifeboat:set-aside')).toBe('403');
    expect(await prop(aside, 'mountpoint')).toBe('none');
    expect(await prop(aside, 'canmount')).toBe('noauto');
    expect(await prop(aside, 'mounted')).toBe('no');
    expect(await snapNames(aside)).toEqual(['before']);

    // a later restore onto the same destination reports it and leaves it alone…
    const t2 = testContext(404);
    await runOobRestore(await oob(dest, { overwrite: true }), t2.ctx);
    expect(t2.logs.join('\n')).toMatch(/oob-keep-lb-old-403 is the dataset restore event 403 replaced, kept on request; not touched/);
    // …also when the destination is gone (a plain set-aside copy would be renamed back into place)
    await zfs('umount', `${dest}/child`).catch(() => undefined);
    await zfsWhenFree('destroy', '-r', dest);
    const t3 = testContext(405);
    await runOobRestore(await oob(dest), { ...t3.ctx, eventStatus: async (ids) => new Map(ids.map((i) => [i, 'success'])) });
    expect(await contents(mnt(dest))).toEqual(snapState);
    expect(await prop(aside, 'lifeboat:kept')).toBe('403');
    expect(await snapNames(aside)).toEqual(['before']);
  }, 240_000);

  it('a remove-kept event destroys a kept dataset only after its checks: name, marker, restore over, every GUID', async () => {
    const dest = `${src.name}/oob-keep`;
    const aside = `${dest}-lb-old-403`;
    const guids = [await prop(aside, 'guid')];
    const over = (status: string) => async (ids: number[]) => new Map(ids.map((i) => [i, status]));
    const run = (params: RemoveKeptParams, status: string | null) => {
      const t = testContext(500);
      return removeKept(params, status === null ? t.ctx : { ...t.ctx, eventStatus: over(status) });
    };
    const before = await poolState();
    // the server does not know the restore, or it is not over: nothing is touched
    await expectExecError(run({ dataset: aside, restoreEventId: 403, guids }, null), 'source-state', /unknown to the server/);
    await expectExecError(run({ dataset: aside, restoreEventId: 403, guids }, 'running'), 'source-state', /not over/);
    // a name that is not that restore's set-aside copy, or the live dataset itself
    await expectExecError(run({ dataset: aside, restoreEventId: 404, guids }, 'success'), 'internal', /not a dataset set aside by/);
    await expectExecError(run({ dataset: dest, restoreEventId: 403, guids }, 'success'), 'internal', /not a dataset set aside by/);
    // GUIDs that are not the copy's, or unknown
    await expectExecError(run({ dataset: aside, restoreEventId: 403, guids: ['1'] }, 'success'), 'internal', /GUID/);
    await expectExecError(run({ dataset: aside, restoreEventId: 403, guids: [] }, 'success'), 'internal', /by hand/);
    // something created inside it since the restore is not part of what it set aside
    await zfs('create', '-o', 'canmount=noauto', `${aside}/new`);
    await expectExecError(
      run({ dataset: aside, restoreEventId: 403, guids }, 'success'),
      'internal',
      /new was not part of the set-aside tree/,
    );
    await zfs('destroy', `${aside}/new`);
    expect(await poolState()).toBe(before);

    expect(await run({ dataset: aside, restoreEventId: 403, guids }, 'success')).toEqual({ dataset: aside, removed: true });
    expect(await zfs('list', '-H', '-o', 'name', '-r', src.name)).not.toContain('-lb-old-');
    expect(await prop(dest, 'mounted')).toBe('yes');
    // again: gone already, nothing to do
    expect(await run({ dataset: aside, restoreEventId: 403, guids }, 'success')).toEqual({ dataset: aside, removed: false });
    expect(await restoreDebris()).toEqual([]);
  }, 180_000);
});
