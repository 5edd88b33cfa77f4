// Dataset backups over a real sshd (127.0.0.1) into a real zfs-fuse pool: full, incremental, new
// child, keep-last, failures that change nothing, a failed transfer, fork and new generation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runBackup, type RunBackupParams } from '../../node-runner/src/executors/backup.ts';
import { validateTarget } from '../../node-runner/src/executors/validate.ts';
import type { JobSpec, TargetSpec } from '../../node-runner/src/executors/types.ts';
import { LocalHost, Zfs } from '../../node-runner/src/zfs/index.ts';
import type { TestSshd } from '../helpers/sshd.ts';
import { expectExecError, jobSpec, pinnedTarget, startWorld, Teardown } from '../helpers/world.ts';
import { snapshotGuids, testContext, writeRandom, zfs, must, run, type TestPool } from '../helpers/zfs.ts';

let sshd: TestSshd;
let src: TestPool;
let tgt: TestPool;
let target: TargetSpec;
let backupRoot: string;

const MiB = 1 << 20;

const job = jobSpec;
function params(j: JobSpec, o: Partial<RunBackupParams> = {}): RunBackupParams {
  return { target, job: j, generation: 1, nextGeneration: 2, forkFrom: null, ...o };
}
async function newSource(name: string, bytes = 0): Promise<string> {
  const ds = `${src.name}/${name}`;
  await zfs('create', '-p', ds);
  if (bytes) await writeRandom(join(src.mountpoint!, name, 'data0'), bytes);
  return ds;
}
const snapNames = async (ds: string) =>
  [...(await snapshotGuids(ds)).keys()].filter((n) => n.startsWith(ds + '@')).map((n) => n.slice(ds.length + 1));
const prop = async (name: string, p: string) => (await zfs('get', '-Hp', '-o', 'value', p, name)).trim();
async function poolState(): Promise<string> {
  const a = await zfs('list', '-H', '-o', 'name', '-t', 'all', '-r', src.name);
  const b = await zfs('list', '-H', '-o', 'name', '-t', 'all', '-r', tgt.name);
  return a + b;
}
const tick = () => new Promise((r) => setTimeout(r, 1100)); // snapshot names have 1 s resolution

const teardown = new Teardown();
beforeAll(async () => {
  const w = await startWorld(
    teardown,
    { src: { prefix: 'lbs', mounted: true, sizeMiB: 256 }, tgt: { prefix: 'lbt', mounted: false, sizeMiB: 320 } },
    { createBackupRoot: true },
  );
  ({
    pools: { src, tgt },
    sshd,
    backupRoot,
  } = w);
  target = await pinnedTarget(w);
}, 120_000);

afterAll(() => teardown.run(), 120_000);

describe('runBackup', () => {
  it('first run is a full send, second run is incremental and much smaller', async () => {
    const ds = await newSource('web', 8 * MiB);
    const j = job(1, ds);
    const t1 = testContext(11);
    const r1 = await runBackup(params(j), t1.ctx);
    expect(r1.generation).toBe(1);
    expect(r1.newGeneration).toBeNull();
    expect(r1.snapshot).toMatch(/^lb_j1_\d{8}T\d{6}Z$/);
    expect(r1.datasets).toEqual([
      { source: ds, target: `${backupRoot}/j1/g1/${ds}`, mode: 'full', bytes: r1.bytesSent, baseSnapshot: null },
    ]);
    expect(r1.bytesSent).toBeGreaterThan(8 * MiB);
    const tds = `${backupRoot}/j1/g1/${ds}`;
    // GUIDs equal, tagged on both sides, readonly and unmounted on the target
    expect(await prop(`${tds}@${r1.snapshot}`, 'guid')).toBe(await prop(`${ds}@${r1.snapshot}`, 'guid'));
    for (const n of [`${tds}@${r1.snapshot}`, `${ds}@${r1.snapshot}`]) {
      expect(await prop(n, 'lifeboat:job')).toBe('1');
      expect(await prop(n, 'lifeboat:generation')).toBe('1');
      expect(await prop(n, 'lifeboat:event')).toBe('11');
    }
    expect(await prop(tds, 'lifeboat:source')).toBe(ds);
    expect(await prop(tds, 'readonly')).toBe('on');
    expect(await prop(tds, 'mounted')).toBe('no');
    // progress: phases in order, bytes counted, an estimate
    const phases = [...new Set(t1.reports.map((p) => p.phase))];
    expect(phases).toEqual(['preparing', 'snapshotting', 'transferring', 'finalizing']);
    const last = t1.reports.filter((p) => p.phase === 'transferring').at(-1)!;
    expect(last.bytesDone).toBe(r1.bytesSent);
    expect(last.bytesTotal).toBeGreaterThan(0);
    const tr = t1.reports.filter((p) => p.phase === 'transferring');
    for (let i = 1; i < tr.length; i++) expect(tr[i].at - tr[i - 1].at).toBeLessThan(1100);
    // catalog
    expect(r1.catalog).toHaveLength(1);
    expect(r1.catalog[0]).toMatchObject({ dataset: tds, jobId: 1, generation: 1, source: ds });
    expect(r1.catalog[0].snapshots.map((s) => s.name)).toEqual([r1.snapshot]);

    await writeRandom(join(src.mountpoint!, 'web', 'delta'), 256 * 1024);
    await tick();
    sshd.resetAcceptedConnections();
    const r2 = await runBackup(params(j), testContext(12).ctx);
    expect(sshd.acceptedConnections()).toBeGreaterThanOrEqual(1);
    expect(sshd.acceptedConnections()).toBeLessThanOrEqual(3); // one master connection, multiplexed
    expect(r2.datasets[0]).toMatchObject({ mode: 'incremental', baseSnapshot: r1.snapshot });
    expect(r2.bytesSent).toBeLessThan(r1.bytesSent / 10);
    expect(await snapNames(tds)).toEqual([r1.snapshot, r2.snapshot]);
    // the incremental base is held on both sides with the job's tag; the previous one is released
    const refs = async (n: string) => Number(await prop(n, 'userrefs'));
    for (const d of [ds, tds]) expect([await refs(`${d}@${r1.snapshot}`), await refs(`${d}@${r2.snapshot}`)]).toEqual([0, 1]);
    await expect(run('zfs', ['destroy', `${tds}@${r2.snapshot}`])).resolves.toMatchObject({ code: 1 }); // a hand destroy: "dataset is busy"
    expect(await snapNames(tds)).toEqual([r1.snapshot, r2.snapshot]);
    console.log(`bytes: run 1 (full) ${r1.bytesSent}, run 2 (incremental, 256 KiB delta) ${r2.bytesSent}`);
  }, 120_000);

  it('a new child dataset gets a full send of that child only', async () => {
    const ds = await newSource('tree', 2 * MiB);
    await newSource('tree/a', 1 * MiB);
    const j = job(2, ds, { recursive: true });
    const r1 = await runBackup(params(j), testContext().ctx);
    expect(r1.datasets.map((d) => [d.source, d.mode])).toEqual([
      [ds, 'full'],
      [`${ds}/a`, 'full'],
    ]);
    await newSource('tree/b', 3 * MiB);
    await tick();
    const r2 = await runBackup(params(j), testContext().ctx);
    const modes = Object.fromEntries(r2.datasets.map((d) => [d.source, d.mode]));
    expect(modes).toEqual({ [ds]: 'incremental', [`${ds}/a`]: 'incremental', [`${ds}/b`]: 'full' });
    const b = r2.datasets.find((d) => d.source === `${ds}/b`)!;
    expect(b.bytes).toBeGreaterThan(3 * MiB);
    for (const d of r2.datasets.filter((x) => x.mode === 'incremental')) expect(d.bytes).toBeLessThan(256 * 1024);
    // the whole tree was snapshotted atomically: same name everywhere
    for (const d of [ds, `${ds}/a`, `${ds}/b`]) expect(await snapNames(d)).toContain(r2.snapshot);
  }, 120_000);

  it('exclude patterns leave children out of the snapshot, the send and the prune; what was sent before stays', async () => {
    const ds = await newSource('ex', 1 * MiB);
    for (const c of ['a', 'tmp', 'tmp/x', 'b']) await newSource(`ex/${c}`, 256 * 1024);
    const r1 = await runBackup(params(job(13, ds, { recursive: true, keepLast: 1, pruneTarget: true })), testContext().ctx);
    expect(r1.datasets.map((d) => d.source)).toEqual([ds, `${ds}/a`, `${ds}/b`, `${ds}/tmp`, `${ds}/tmp/x`]);
    await newSource('ex/a/cache', 256 * 1024);
    await tick();
    const t2 = testContext(1302);
    const j = job(13, ds, { recursive: true, keepLast: 1, pruneTarget: true, exclude: ['tmp', '**/cache'] });
    const r2 = await runBackup(params(j), t2.ctx);
    expect(r2.datasets.map((d) => [d.source, d.mode])).toEqual([
      [ds, 'incremental'],
      [`${ds}/a`, 'incremental'],
      [`${ds}/b`, 'incremental'],
    ]);
    // zfs-fuse snapshots the tree with -r (atomic) and destroys its new snapshot of the left-out again
    expect(t2.logs.join('\n')).toMatch(/left-out .*ex\/a\/cache.*destroyed again/);
    for (const d of [`${ds}/tmp`, `${ds}/tmp/x`, `${ds}/a/cache`]) expect(await snapNames(d)).not.toContain(r2.snapshot);
    // Keep Last 1 pruned the included datasets only: the left-out keep their last snapshot (and its hold)
    expect(await snapNames(`${ds}/a`)).toEqual([r2.snapshot]);
    expect(await snapNames(`${ds}/tmp`)).toEqual([r1.snapshot]);
    const onTarget = await zfs('list', '-H', '-o', 'name', '-r', `${backupRoot}/j13/g1`);
    expect(onTarget).not.toContain(`${ds}/a/cache`);
    expect(onTarget).toContain(`${ds}/tmp/x`); // sent before the exclusion: never destroyed by it
    expect(await snapNames(`${backupRoot}/j13/g1/${ds}/tmp`)).toEqual([r1.snapshot]);
  }, 120_000);

  it('small incrementals of many children stream side by side, each verified, tagged and held; the counts add up', async () => {
    const ds = await newSource('many', 64 * 1024);
    const kids = Array.from({ length: 6 }, (_, i) => `${ds}/c${i}`);
    for (const k of kids) await newSource(k.slice(src.name.length + 1), 64 * 1024);
    const j = job(14, ds, { recursive: true });
    await runBackup(params(j), testContext().ctx);
    for (const k of kids) await writeRandom(join(src.mountpoint!, k.slice(src.name.length + 1), 'more'), 32 * 1024);
    await tick();
    const t = testContext();
    const r = await runBackup(params(j), t.ctx);
    expect(t.logs.join('\n')).toMatch(/7 small incremental\(s\): up to 4 streams at a time/);
    expect(r.datasets.map((d) => [d.source, d.mode])).toEqual([ds, ...kids].map((d) => [d, 'incremental']));
    for (const d of r.datasets) expect(d.bytes).toBeGreaterThan(0);
    expect(r.datasets.reduce((n, d) => n + d.bytes, 0)).toBe(r.bytesSent);
    for (const k of kids) {
      const copy = `${backupRoot}/j14/g1/${k}@${r.snapshot}`;
      expect(await prop(copy, 'guid')).toBe(await prop(`${k}@${r.snapshot}`, 'guid'));
      expect(await prop(copy, 'lifeboat:job')).toBe('14');
      // the hold moved to the new base on both sides
      for (const n of [copy, `${k}@${r.snapshot}`]) expect(await prop(n, 'userrefs')).toBe('1');
    }
    // a bandwidth limit is per stream: a limited job sends one stream at a time
    for (const k of kids) await writeRandom(join(src.mountpoint!, k.slice(src.name.length + 1), 'again'), 16 * 1024);
    await tick();
    const lim = testContext();
    const r3 = await runBackup(params({ ...j, bandwidthLimitKiBps: 65536 }), lim.ctx);
    expect(lim.logs.join('\n')).not.toMatch(/small incremental/);
    expect(r3.datasets.map((d) => d.mode)).toEqual(Array(7).fill('incremental'));
  }, 180_000);

  it("keep-last prunes both sides; hand-made and other jobs' snapshots survive", async () => {
    const ds = await newSource('keep', 512 * 1024);
    await zfs('snapshot', `${ds}@manual`);
    await zfs('snapshot', '-o', 'lifeboat:job=99', `${ds}@lb_j99_20200101T000000Z`);
    const j = job(3, ds, { keepLast: 2, pruneTarget: true });
    const runs = [];
    for (let i = 0; i < 4; i++) {
      if (i) await tick();
      await writeRandom(join(src.mountpoint!, 'keep', `f${i}`), 64 * 1024);
      runs.push(await runBackup(params(j), testContext().ctx));
    }
    const mine = runs.map((r) => r.snapshot);
    expect((await snapNames(ds)).sort()).toEqual(['lb_j99_20200101T000000Z', 'manual', mine[2], mine[3]].sort());
    const tds = `${backupRoot}/j3/g1/${ds}`;
    expect((await snapNames(tds)).sort()).toEqual([mine[2], mine[3]].sort());
    expect(runs[2].pruned).toEqual(
      expect.arrayContaining([
        { side: 'source', snapshot: `${ds}@${mine[0]}` },
        { side: 'target', snapshot: `${tds}@${mine[0]}` },
      ]),
    );
    expect(runs[3].catalog[0].snapshots.map((s) => s.name)).toEqual([mine[2], mine[3]]);
  }, 120_000);

  it('each side keeps what its own policy says; every destroyed snapshot is logged with why, and the source report lists what stayed', async () => {
    const ds = await newSource('policies', 256 * 1024);
    const last1 = { last: 1, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0, within: null };
    const j = job(14, ds, {
      keepLast: 9,
      timezone: 'Europe/Berlin',
      retention: { source: last1, target: { ...last1, last: 0, within: '1w' } },
    });
    const runs = [];
    const logs: string[] = [];
    for (let i = 0; i < 3; i++) {
      if (i) await tick();
      await writeRandom(join(src.mountpoint!, 'policies', `f${i}`), 32 * 1024);
      const t = testContext();
      runs.push(await runBackup(params(j), t.ctx));
      logs.push(...t.logs);
    }
    const mine = runs.map((r) => r.snapshot);
    const tds = `${backupRoot}/j14/g1/${ds}`;
    expect(await snapNames(ds)).toEqual([mine[2]]);
    expect((await snapNames(tds)).sort()).toEqual([...mine].sort());
    expect(logs).toContain(`pruned source ${ds}@${mine[0]}: no rule keeps it (last 1)`);
    expect(logs).toContain(`pruned source ${ds}@${mine[1]}: no rule keeps it (last 1)`);
    expect(logs.filter((l) => l.startsWith('pruned target'))).toEqual([]);
    expect(runs[2].sourceSnapshots).toEqual([
      { dataset: ds, snapshots: [expect.objectContaining({ name: mine[2], jobId: 14, generation: 1 })] },
    ]);
  }, 120_000);

  it('Keep Last never fights a hold: a snapshot another tool holds is kept on each side and named in the log', async () => {
    const ds = await newSource('held', 256 * 1024);
    const j = job(12, ds, { keepLast: 1, pruneTarget: true });
    const r1 = await runBackup(params(j), testContext().ctx);
    const tds = `${backupRoot}/j12/g1/${ds}`;
    await zfs('hold', 'other-tool', `${ds}@${r1.snapshot}`);
    await zfs('hold', 'other-tool', `${tds}@${r1.snapshot}`);
    await tick();
    const t = testContext();
    const r2 = await runBackup(params(j), t.ctx);
    expect(r2.pruned).toEqual([]);
    for (const d of [ds, tds]) {
      expect(await snapNames(d)).toEqual([r1.snapshot, r2.snapshot]);
      expect(t.logs.join('\n')).toContain(`not pruned ${d === ds ? 'source' : 'target'} ${d}@${r1.snapshot}: held by 1 hold(s)`);
      // Lifeboat released only its own tag: the other tool's hold is still there
      expect(await prop(`${d}@${r1.snapshot}`, 'userrefs')).toBe('1');
      await zfs('release', 'other-tool', `${d}@${r1.snapshot}`);
    }
    await tick();
    const r3 = await runBackup(params(j), testContext().ctx);
    expect(r3.pruned.map((p) => p.snapshot).sort()).toEqual(
      [`${ds}@${r1.snapshot}`, `${ds}@${r2.snapshot}`, `${tds}@${r1.snapshot}`, `${tds}@${r2.snapshot}`].sort(),
    );
  }, 120_000);

  it('unreachable target, wrong key, missing backup root: right class, nothing changed', async () => {
    const ds = await newSource('fail', 256 * 1024);
    const j = job(4, ds, { keepLast: 1 });
    await runBackup(params(j), testContext().ctx);
    const before = await poolState();
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const a = s.address();
        s.close(() => resolve(typeof a === 'object' && a ? a.port : 1));
      });
    });
    await expectExecError(runBackup(params(j, { target: { ...target, sshPort: port } }), testContext().ctx), 'connectivity');
    await expectExecError(
      runBackup(params(j, { target: { ...target, sshPrivateKey: sshd.wrongClientKey } }), testContext().ctx),
      'authentication',
    );
    await expectExecError(
      runBackup(params(j, { target: { ...target, backupRoot: `${tgt.name}/nope` } }), testContext().ctx),
      'target-not-ready',
    );
    await expectExecError(runBackup(params(job(4, `${src.name}/missing`)), testContext().ctx), 'source-state');
    expect(await poolState()).toBe(before);
  }, 120_000);

  it('after a failed transfer with keepLast=1 the newest common snapshot still exists on both sides', async () => {
    const ds = await newSource('quota', 1 * MiB);
    const j = job(5, ds, { keepLast: 1, pruneTarget: true });
    const r1 = await runBackup(params(j), testContext().ctx);
    const tds = `${backupRoot}/j5/g1/${ds}`;
    const guid = await prop(`${ds}@${r1.snapshot}`, 'guid');
    // make the next receive fail on the target: quota below the delta
    await zfs('set', 'quota=3M', `${backupRoot}/j5`);
    await writeRandom(join(src.mountpoint!, 'quota', 'big'), 6 * MiB);
    await tick();
    const err = await expectExecError(runBackup(params(j), testContext().ctx), 'zfs');
    expect(err.message).toMatch(/recv/);
    expect(await prop(`${ds}@${r1.snapshot}`, 'guid')).toBe(guid);
    expect(await prop(`${tds}@${r1.snapshot}`, 'guid')).toBe(guid);
    // the next run (quota lifted) continues incrementally from it
    await zfs('set', 'quota=none', `${backupRoot}/j5`);
    await tick();
    const r3 = await runBackup(params(j), testContext().ctx);
    expect(r3.datasets[0]).toMatchObject({ mode: 'incremental', baseSnapshot: r1.snapshot });
    expect(await snapNames(ds)).toEqual([r3.snapshot]);
    expect(await snapNames(tds)).toEqual([r3.snapshot]);
  }, 120_000);

  it('target snapshots newer than the common base are never rolled back: the next generation forks from the base', async () => {
    const ds = await newSource('roll', 2 * MiB);
    const j = job(11, ds, { keepLast: 5, pruneTarget: true });
    const r1 = await runBackup(params(j), testContext().ctx);
    await tick();
    const r2 = await runBackup(params(j), testContext().ctx);
    const g1 = `${backupRoot}/j11/g1/${ds}`;
    await zfs('snapshot', `${g1}@handmade`); // someone snapshots the target …
    await zfs('release', 'lifeboat-j11', `${ds}@${r2.snapshot}`); // … and the source loses r2 (its hold released first)
    await zfs('destroy', `${ds}@${r2.snapshot}`);
    const guids = await snapshotGuids(`${backupRoot}/j11`);
    await tick();
    const r3 = await runBackup(params(j), testContext().ctx);
    expect(r3.generation).toBe(2);
    expect(r3.newGeneration?.reason).toMatch(/newer than the newest common snapshot .*handmade.*forked generation 2/);
    expect(r3.datasets[0]).toMatchObject({ mode: 'incremental', baseSnapshot: r1.snapshot, target: `${backupRoot}/j11/g2/${ds}` });
    expect(r3.bytesSent).toBeLessThan(512 * 1024);
    // every snapshot that was on the target is still there with its GUID
    const now = await snapshotGuids(`${backupRoot}/j11`);
    expect([...now.values()]).toEqual(expect.arrayContaining([...guids.values()]));
    expect(await snapNames(g1)).toEqual([r2.snapshot, 'handmade']);
    // and the new generation continues normally
    await tick();
    const r4 = await runBackup(params(j, { generation: 2, nextGeneration: 3 }), testContext().ctx);
    expect(r4.newGeneration).toBeNull();
    expect(r4.datasets[0]).toMatchObject({ mode: 'incremental', baseSnapshot: r3.snapshot });
  }, 120_000);

  it('cancel during the transfer kills the pipe; the common snapshot stays', async () => {
    const ds = await newSource('cancel', 1 * MiB);
    const j = job(6, ds, { keepLast: 1, pruneTarget: true });
    const r1 = await runBackup(params(j), testContext().ctx);
    await writeRandom(join(src.mountpoint!, 'cancel', 'big'), 48 * MiB);
    await tick();
    const t = testContext();
    // Abort at the first transfer report: waiting for counted bytes races a fast stream to its end.
    t.onProgress = (p) => {
      if (p.phase === 'transferring') t.abort();
    };
    await expectExecError(runBackup(params(j), t.ctx), 'cancelled');
    const tds = `${backupRoot}/j6/g1/${ds}`;
    expect(await snapNames(tds)).toEqual([r1.snapshot]);
    expect(await snapNames(ds)).toContain(r1.snapshot);
    const r3 = await runBackup(params(j), testContext().ctx);
    expect(r3.datasets[0]).toMatchObject({ mode: 'incremental', baseSnapshot: r1.snapshot });
  }, 120_000);

  it('no common snapshot any more → new generation with a full send; the old one stays', async () => {
    const ds = await newSource('lost', 512 * 1024);
    const j = job(7, ds);
    const r1 = await runBackup(params(j), testContext().ctx);
    await zfs('release', 'lifeboat-j7', `${ds}@${r1.snapshot}`); // an operator lets the base go on purpose
    await zfs('destroy', `${ds}@${r1.snapshot}`);
    await tick();
    const r2 = await runBackup(params(j), testContext().ctx);
    expect(r2.generation).toBe(2);
    expect(r2.newGeneration?.generation).toBe(2);
    expect(r2.newGeneration?.reason).toMatch(/no snapshot .* common/);
    expect(r2.datasets[0]).toMatchObject({ mode: 'full', target: `${backupRoot}/j7/g2/${ds}` });
    expect(await snapNames(`${backupRoot}/j7/g1/${ds}`)).toEqual([r1.snapshot]);
    expect(await prop(`${ds}@${r2.snapshot}`, 'lifeboat:generation')).toBe('2');
  }, 120_000);

  it('old generations the server names go after the checks (holds released first); a tree that is not all the job’s stays', async () => {
    const ds = await newSource('oldgens', 256 * 1024);
    const j = job(15, ds);
    const newGeneration = async (generation: number) => {
      const r = await runBackup(params(j, { generation, nextGeneration: generation + 1 }), testContext().ctx);
      await zfs('release', 'lifeboat-j15', `${ds}@${r.snapshot}`); // continuity lost on purpose: the next run starts a new generation
      await zfs('destroy', `${ds}@${r.snapshot}`);
      await tick();
      return r;
    };
    await newGeneration(1);
    await newGeneration(2);
    const g1 = `${backupRoot}/j15/g1`;
    const g2 = `${backupRoot}/j15/g2`;
    // g1's last base still carries the job's hold on the target (it was the chain's base)
    expect(Number(await prop(`${g1}/${ds}@${(await snapNames(`${g1}/${ds}`))[0]}`, 'userrefs'))).toBe(1);
    // a dataset in g2 that is not the job's: g2 must stay
    await zfs('create', '-o', 'lifeboat:job=99', `${g2}/stranger`);
    const t = testContext();
    const r3 = await runBackup(
      params(j, {
        generation: 3,
        nextGeneration: 4,
        dropGenerations: [
          { generation: 1, reason: 'not one of the newest 1' },
          { generation: 2, reason: 'not one of the newest 1' },
          { generation: 3, reason: 'a bad server' },
        ],
      }),
      t.ctx,
    );
    expect(r3.generation).toBe(3);
    expect(r3.droppedGenerations).toEqual([1]);
    expect(await run('zfs', ['list', g1])).toMatchObject({ code: 1 });
    expect((await zfs('list', '-H', '-o', 'name', g2)).trim()).toBe(g2);
    expect(t.logs).toContain(`destroyed generation 1 (${g1}): not one of the newest 1`);
    expect(t.logs.join('\n')).toMatch(new RegExp(`kept generation 2 \\(${g2}\\): ${g2}/stranger inside ${g2} is not job 15's`));
    expect(t.logs.join('\n')).toMatch(/kept generation 3 .*this run writes that generation/);
    expect(r3.catalog.some((d) => d.dataset.startsWith(g1))).toBe(false);
  }, 180_000);

  it('forkFrom: after a restore the next generation is cloned + promoted and continues incrementally', async () => {
    const ds = await newSource('fork', 4 * MiB);
    const j = job(8, ds, { keepLast: 3, pruneTarget: true });
    const r1 = await runBackup(params(j), testContext().ctx);
    await writeRandom(join(src.mountpoint!, 'fork', 'more'), 64 * 1024);
    await tick();
    const r2 = await runBackup(params(j), testContext().ctx);
    const g1 = `${backupRoot}/j8/g1/${ds}`;
    const guid1 = await prop(`${g1}@${r1.snapshot}`, 'guid');
    // a stand-in for the restore: replace the source with r1 received from the target
    await zfs('unmount', '-f', ds); // zfs-fuse: destroying a mounted dataset answers "busy"
    await zfs('release', 'lifeboat-j8', `${ds}@${r2.snapshot}`); // (a restore releases the set-aside copy's holds)
    await zfs('destroy', '-r', ds);
    await must('sh', ['-c', `zfs send '${g1}@${r1.snapshot}' | zfs recv '${ds}'`]);
    await zfs('inherit', 'readonly', ds);
    await mkdir(join(src.mountpoint!, 'fork'), { recursive: true });
    await zfs('mount', ds).catch(() => undefined);
    await writeRandom(join(src.mountpoint!, 'fork', 'after'), 64 * 1024);
    await tick();
    const r3 = await runBackup(params(j, { forkFrom: { generation: 1, snapshotGuid: guid1 } }), testContext().ctx);
    expect(r3.generation).toBe(2);
    expect(r3.newGeneration?.reason).toMatch(/clone \+ promote/);
    expect(r3.datasets[0]).toMatchObject({ mode: 'incremental', baseSnapshot: r1.snapshot, target: `${backupRoot}/j8/g2/${ds}` });
    expect(r3.bytesSent).toBeLessThan(1 * MiB);
    // generation 1's snapshots are still there (r2 in g1's dataset, r1 moved to g2 by the promote)
    const all = await snapshotGuids(`${backupRoot}/j8`);
    expect([...all.keys()].some((n) => n.endsWith(`@${r2.snapshot}`))).toBe(true);
    expect([...all.values()]).toContain(guid1);
    expect(await prop(`${backupRoot}/j8/g2/${ds}@${r3.snapshot}`, 'lifeboat:generation')).toBe('2');
  }, 120_000);
});

describe('dataset names with spaces (valid in zfs)', () => {
  it('backs up fully then incrementally, and restores in place, a dataset named "my data"', async () => {
    const ds = await newSource('my data', 256 * 1024);
    const j = job(40, ds);
    const r1 = await runBackup(params(j), testContext().ctx);
    await tick();
    await writeRandom(join(src.mountpoint!, 'my data', 'data1'), 64 * 1024);
    const r2 = await runBackup(params(j), testContext().ctx);
    expect(r2.datasets[0]).toMatchObject({ mode: 'incremental', target: `${backupRoot}/j40/g1/${ds}` });
    const tds = `${backupRoot}/j40/g1/${ds}`;
    expect(await snapNames(tds)).toEqual([r1.snapshot, r2.snapshot]);
    expect(r2.catalog.map((c) => c.dataset)).toEqual([tds]);
    const { runJobRestore } = await import('../../node-runner/src/executors/restore.ts');
    const res = await runJobRestore(
      { target, job: j, generation: 1, snapshot: r1.snapshot, guid: await prop(`${tds}@${r1.snapshot}`, 'guid'), dataset: tds },
      testContext(4001).ctx,
    );
    expect(res.replaced).toEqual([ds]);
    expect(await snapNames(ds)).toEqual([r1.snapshot]);
    expect(await prop(ds, 'mounted')).toBe('yes');
  }, 180_000);
});

describe('snapshot names', () => {
  it('adds a suffix when the name for this second is taken; the hand-made one is untouched', async () => {
    const { snapshotNameFor } = await import('../../node-runner/src/zfs/index.ts');
    const ds = await newSource('names', 64 * 1024);
    const now = new Date();
    const taken = [snapshotNameFor(12, now)];
    for (const n of taken) await zfs('snapshot', `${ds}@${n}`);
    const t = testContext();
    t.ctx.now = () => now; // the run's clock, pinned: the same second as the hand-made snapshot
    const r = await runBackup(params(job(12, ds, { keepLast: 1 })), t.ctx);
    expect(r.snapshot).toBe(`${taken[0]}_2`);
    expect((await snapNames(ds)).sort()).toEqual([...taken, r.snapshot].sort()); // not ours: never pruned
  }, 120_000);
});

describe('guests (vm mode)', () => {
  it('stops the guest only around one atomic snapshot of all roots and tags the target with its metadata', async () => {
    const r1 = await newSource('vm/disk0', 256 * 1024);
    const r2 = await newSource('vm/disk1', 256 * 1024);
    const events: string[] = [];
    const j = job(10, 'vm-101', { mode: 'vm', stopBeforeBackup: true });
    const t = testContext();
    t.onProgress = (p) => {
      if (events.at(-1) !== p.phase) events.push(p.phase);
    };
    const res = await runBackup(
      params(j, {
        guest: {
          roots: [r2, r1],
          async stop() {
            events.push('stop()');
            return true;
          },
          async start() {
            events.push('start()');
          },
          properties: { 'lifeboat:guest:kind': 'vm', 'lifeboat:guest:name': 'web', 'lifeboat:guest:id': '101' },
        },
      }),
      t.ctx,
    );
    expect(events.slice(0, 7)).toEqual([
      'preparing',
      'stopping-guest',
      'stop()',
      'snapshotting',
      'starting-guest',
      'start()',
      'transferring',
    ]);
    expect(res.datasets.map((d) => [d.source, d.mode])).toEqual([
      [r1, 'full'],
      [r2, 'full'],
    ]);
    const c1 = await prop(`${r1}@${res.snapshot}`, 'createtxg');
    const caps = await new Zfs(new LocalHost()).capabilities();
    if (caps.multiSnapshot)
      expect(await prop(`${r2}@${res.snapshot}`, 'createtxg')).toBe(c1); // one call: atomic
    else expect(t.logs.join('\n')).toMatch(/one after another/); // zfs-fuse: one snapshot per call
    expect(await snapNames(r2)).toEqual([res.snapshot]);
    const item = res.catalog.find((c) => c.source === r1)!;
    expect(item.guest).toMatchObject({ kind: 'vm', name: 'web', id: '101' });
  }, 120_000);
});

describe('host key change', () => {
  it('restarting sshd with another host key → host-key error, nothing changed', async () => {
    const ds = await newSource('hk', 256 * 1024);
    const j = job(9, ds);
    await runBackup(params(j), testContext().ctx);
    const before = await poolState();
    await sshd.restartWithNewHostKey();
    const e = await expectExecError(runBackup(params(j), testContext().ctx), 'host-key');
    expect(e.message).toMatch(/does not match the pinned key/);
    // the way out it names is the re-pin, not a validation (which fails the same way, below)
    expect(e.message).toMatch(/re-pin its key: Targets → Re-pin host key, or POST \/api\/v1\/targets\/:id\/host-key\/reset/);
    expect(e.message).not.toMatch(/re-validate/i);
    await expectExecError(validateTarget(target, testContext().ctx), 'host-key');
    expect(await poolState()).toBe(before);
  }, 120_000);
});
