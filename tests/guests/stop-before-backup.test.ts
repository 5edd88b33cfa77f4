// Stop Before Backup with the manifest provider and a real process as the guest, on real zfs-fuse
// pools over a real sshd: the guest keeps writing a counter into its dataset; it must be stopped
// while the snapshot is taken (the snapshot holds the last value it wrote, and nothing wrote in
// between) and run again before the transfer ends. Also: multi-pool roots in one run and
// generation, stop failure (no snapshot), start failure (event fails, data valid), metadata.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGuestBackup, GuestStartError } from '../../node-runner/src/executors/guest-backup.ts';
import type { JobSpec, TargetSpec, BackupParams } from '../../node-runner/src/executors/types.ts';
import { ManifestProvider, parseGuestMetadata, readGuests } from '../../node-runner/src/guests/index.ts';
import { expectExecError, jobSpec, pinnedTarget, startWorld, Teardown } from '../helpers/world.ts';
import { snapshotGuids, testContext, writeRandom, zfs, run, type TestPool } from '../helpers/zfs.ts';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'counter-guest.mjs');
const MiB = 1 << 20;

let src: TestPool;
let src2: TestPool;
let target: TargetSpec;
let backupRoot: string;
let work: string;
let manifestPath: string;
const guestStates: string[] = [];

interface Guest {
  id: string;
  state: string;
  counter: string;
  journal: string;
  roots: string[];
}

function cmd(mode: string, g: Omit<Guest, 'roots'>): string[] {
  return mode === 'start'
    ? [process.execPath, FIXTURE, 'start', g.state, g.counter, g.journal]
    : [process.execPath, FIXTURE, mode, g.state];
}

async function addGuest(id: string, roots: string[], counterIn: string, network: Record<string, unknown> | null = null): Promise<Guest> {
  const state = join(work, `state-${id}`);
  await mkdir(state, { recursive: true });
  guestStates.push(state);
  const g = { id, state, counter: counterIn, journal: join(state, 'journal'), roots };
  const m = existsSync(manifestPath) ? JSON.parse(await readFile(manifestPath, 'utf8')) : { guests: [] };
  m.guests.push({
    kind: 'vm',
    id,
    name: `guest-${id}`,
    roots,
    network,
    stop: cmd('stop', g),
    start: cmd('start', g),
    status: cmd('status', g),
    stopTimeoutSeconds: 20,
  });
  await writeFile(manifestPath, JSON.stringify(m, null, 2));
  return g;
}

async function startGuest(g: Guest) {
  const r = await run(process.execPath, [FIXTURE, 'start', g.state, g.counter, g.journal]);
  if (r.code !== 0) throw new Error(`guest start: ${r.stderr}`);
}
async function isRunning(g: Guest) {
  return (await run(process.execPath, [FIXTURE, 'status', g.state])).code === 0;
}

interface JournalLine {
  pid: number;
  value: number;
  at: number;
}
async function journal(g: Guest): Promise<JournalLine[]> {
  const text = existsSync(g.journal) ? await readFile(g.journal, 'utf8') : '';
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pid, value, at] = l.split(' ').map(Number);
      return { pid, value, at };
    });
}

/** A VM job: recursive, the guest stopped around the snapshot. */
const job = (id: number, source: string, o: Partial<JobSpec> = {}): JobSpec =>
  jobSpec(id, source, { mode: 'vm', recursive: true, stopBeforeBackup: true, ...o });
const params = (j: JobSpec): BackupParams => ({ target, job: j, generation: 1, nextGeneration: 2, forkFrom: null });
const snaps = async (ds: string) => [...(await snapshotGuids(ds)).keys()].filter((n) => n.startsWith(ds + '@'));

/** Read a file from a snapshot: clone it with a mountpoint, read, destroy the clone. */
async function readFromSnapshot(snap: string, file: string): Promise<string> {
  const pool = snap.split('/')[0];
  const clone = `${pool}/verify${Date.now()}`;
  const mp = join(work, `mnt-${Date.now()}`);
  await mkdir(mp);
  await zfs('clone', '-o', `mountpoint=${mp}`, snap, clone);
  try {
    return await readFile(join(mp, file), 'utf8');
  } finally {
    let r = await run('zfs', ['destroy', clone]);
    for (let i = 0; r.code !== 0 && i < 10; i++) {
      await new Promise((res) => setTimeout(res, 300));
      r = await run('zfs', ['destroy', clone]);
    }
  }
}

const teardown = new Teardown();
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lb-guests-'));
  teardown.defer(() => rm(work, { recursive: true, force: true }));
  manifestPath = join(work, 'guests.json');
  const w = await startWorld(
    teardown,
    {
      src: { prefix: 'lbgs', mounted: true, sizeMiB: 192 },
      src2: { prefix: 'lbgx', mounted: true },
      tgt: { prefix: 'lbgt', mounted: false, sizeMiB: 256 },
    },
    { createBackupRoot: true },
  );
  ({
    pools: { src, src2 },
    backupRoot,
  } = w);
  target = await pinnedTarget(w);
  // first of all at teardown: stop every guest process this file started, by PID
  teardown.defer(async () => {
    for (const s of guestStates) {
      const pidFile = join(s, 'pid');
      if (!existsSync(pidFile)) continue;
      const pid = Number(await readFile(pidFile, 'utf8'));
      if (pid) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  });
}, 180_000);

afterAll(() => teardown.run(), 180_000);

describe('Stop Before Backup (manifest provider, real process, real zfs-fuse)', () => {
  it('stops the running guest for the snapshot and starts it again before the transfer ends', async () => {
    const ds = `${src.name}/vm101`;
    await zfs('create', ds);
    const mp = join(src.mountpoint!, 'vm101');
    await writeRandom(join(mp, 'disk.img'), 48 * MiB); // a transfer that takes a while
    const g = await addGuest('101', [ds], join(mp, 'counter'), {
      interfaces: [{ type: 'virtio-net', switch: 'public', mac: '58:9c:fc:00:00:01' }],
    });
    await startGuest(g);
    await new Promise((r) => setTimeout(r, 150));
    expect(await isRunning(g)).toBe(true);

    const t = testContext(21);
    const at: Record<string, number> = {};
    const phases: string[] = [];
    t.onProgress = (p) => {
      if (phases.at(-1) !== p.phase) {
        phases.push(p.phase);
        at[p.phase] ??= p.at;
      }
    };
    const providers = [new ManifestProvider(manifestPath)];
    const res = await runGuestBackup(params(job(101, '101')), t.ctx, providers);
    const after = Date.now();

    expect(phases.slice(0, 5)).toEqual(['preparing', 'stopping-guest', 'snapshotting', 'starting-guest', 'transferring']);
    expect(phases).toContain('finalizing');
    const transferEnd = at.finalizing;

    const lines = await journal(g);
    const pids = [...new Set(lines.map((l) => l.pid))];
    expect(pids.length).toBe(2); // the process before the stop, and the one started after the snapshot
    const before = lines.filter((l) => l.pid === pids[0]);
    const again = lines.filter((l) => l.pid === pids[1]);
    const lastBefore = before.at(-1)!;
    const firstAgain = again[0];

    // the snapshot holds exactly the last value written before the stop
    const inSnap = Number(await readFromSnapshot(`${ds}@${res.snapshot}`, 'counter'));
    expect(inSnap).toBe(lastBefore.value);
    // no writes between the stop and the restart: the next value written is the next number
    expect(firstAgain.value).toBe(lastBefore.value + 1);
    // the guest was stopped before the snapshot and started after it …
    expect(lastBefore.at).toBeLessThanOrEqual(at.snapshotting);
    expect(firstAgain.at).toBeGreaterThanOrEqual(at['starting-guest']);
    // … and ran again before the transfer ended (in fact before it began)
    expect(firstAgain.at).toBeLessThan(transferEnd);
    expect(firstAgain.at).toBeLessThanOrEqual(at.transferring);
    expect(again.filter((l) => l.at < transferEnd).length).toBeGreaterThan(0);
    expect(after).toBeGreaterThan(transferEnd);
    expect(await isRunning(g)).toBe(true);

    // data on the target, verified by GUID
    const srcGuid = (await snapshotGuids(ds)).get(`${ds}@${res.snapshot}`);
    const tgtGuid = (await snapshotGuids(`${backupRoot}/j101`)).get(`${backupRoot}/j101/g1/${ds}@${res.snapshot}`);
    expect(tgtGuid).toBe(srcGuid);

    // guest metadata as user properties on the generation's root dataset, parsed back
    const props = await zfs('get', '-Hp', '-s', 'local,received', '-o', 'property,value', 'all', `${backupRoot}/j101/g1/${ds}`);
    const raw: Record<string, string> = {};
    for (const line of props.split('\n')) {
      const [k, v] = line.split('\t');
      if (k?.startsWith('lifeboat:guest')) raw[k] = v;
    }
    const meta = parseGuestMetadata(raw)!;
    expect(meta).toMatchObject({
      kind: 'vm',
      id: '101',
      name: 'guest-101',
      provider: 'manifest',
      roots: [ds],
      pools: [src.name],
      basePool: src.name,
    });
    expect(meta.network).toEqual({ interfaces: [{ type: 'virtio-net', switch: 'public', mac: '58:9c:fc:00:00:01' }] });
    // the catalog the runner reports carries it too
    const item = res.catalog.find((c) => c.source === ds)!;
    expect(parseGuestMetadata(item.guest)).toMatchObject({ kind: 'vm', id: '101', name: 'guest-101' });

    // and the inventory reports the guest, running
    const inv = await readGuests({ manifest: manifestPath });
    expect(inv.find((x) => x.id === '101')).toEqual({
      kind: 'vm',
      id: '101',
      name: 'guest-101',
      roots: [ds],
      network: meta.network,
      running: true,
      provider: 'manifest',
    });
  }, 180_000);

  it('a VM with roots on two pools: all roots in one run and one generation', async () => {
    const a = `${src.name}/vm202`;
    const b = `${src2.name}/vm202-data`;
    await zfs('create', a);
    await zfs('create', b);
    await zfs('create', `${a}/disk1`); // nested: covered by the recursive snapshot of its parent
    await writeRandom(join(src.mountpoint!, 'vm202', 'a.img'), 2 * MiB);
    await writeRandom(join(src2.mountpoint!, 'vm202-data', 'b.img'), 2 * MiB);
    const g = await addGuest('202', [b, a, `${a}/disk1`], join(src.mountpoint!, 'vm202', 'counter'));
    await startGuest(g);
    const t = testContext(22);
    const res = await runGuestBackup(params(job(202, '202')), t.ctx, [new ManifestProvider(manifestPath)]);
    expect(res.generation).toBe(1);
    expect(res.datasets.map((d) => d.source).sort()).toEqual([a, `${a}/disk1`, b].sort());
    for (const d of res.datasets) expect(d.target).toBe(`${backupRoot}/j202/g1/${d.source}`);
    const onTarget = await snapshotGuids(`${backupRoot}/j202`);
    for (const ds of [a, `${a}/disk1`, b]) {
      expect(onTarget.get(`${backupRoot}/j202/g1/${ds}@${res.snapshot}`)).toBe((await snapshotGuids(ds)).get(`${ds}@${res.snapshot}`));
    }
    // both pools' roots carry the metadata, with both pools listed
    const meta = parseGuestMetadata(res.catalog.find((c) => c.source === b)!.guest)!;
    expect(meta.pools.sort()).toEqual([src.name, src2.name].sort());
    expect(meta.roots.sort()).toEqual([a, `${a}/disk1`, b].sort());
    expect(await isRunning(g)).toBe(true);
  }, 180_000);

  it('a stop failure aborts before any snapshot; the guest keeps running', async () => {
    const ds = `${src.name}/vm303`;
    await zfs('create', ds);
    const g = await addGuest('303', [ds], join(src.mountpoint!, 'vm303', 'counter'));
    await startGuest(g);
    await writeFile(join(g.state, 'fail-stop'), '');
    const err = await expectExecError(
      runGuestBackup(params(job(303, '303')), testContext(23).ctx, [new ManifestProvider(manifestPath)]),
      'source-state',
    );
    expect(err.message).toMatch(/could not stop vm guest-303 \(303\).*stop refused.*nothing was snapshotted/);
    expect(await snaps(ds)).toEqual([]);
    expect((await run('zfs', ['list', `${backupRoot}/j303`])).code).not.toBe(0);
    expect(await isRunning(g)).toBe(true);
  }, 120_000);

  it('a start failure fails the event with the reason; the transferred data is valid', async () => {
    const ds = `${src.name}/vm404`;
    await zfs('create', ds);
    const g = await addGuest('404', [ds], join(src.mountpoint!, 'vm404', 'counter'));
    await startGuest(g);
    await writeFile(join(g.state, 'fail-start'), '');
    const t = testContext(24);
    let err: unknown;
    try {
      await runGuestBackup(params(job(404, '404')), t.ctx, [new ManifestProvider(manifestPath)]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GuestStartError);
    const e = err as GuestStartError;
    expect(e.errorClass).toBe('source-state');
    expect(e.message).toMatch(/did not start again after the snapshot: .*start refused \(fail-start is set\).*data on the target is valid/);
    const snap = e.result.snapshot;
    expect(e.result.datasets).toEqual([expect.objectContaining({ source: ds, mode: 'full' })]);
    expect((await snapshotGuids(`${backupRoot}/j404`)).get(`${backupRoot}/j404/g1/${ds}@${snap}`)).toBe(
      (await snapshotGuids(ds)).get(`${ds}@${snap}`),
    );
    expect(t.reports.some((r) => r.phase === 'transferring')).toBe(true);
    expect(await isRunning(g)).toBe(false);
  }, 120_000);

  it('a guest that is not running is not stopped or started', async () => {
    const ds = `${src.name}/vm505`;
    await zfs('create', ds);
    const g = await addGuest('505', [ds], join(src.mountpoint!, 'vm505', 'counter'));
    const t = testContext(25);
    const res = await runGuestBackup(params(job(505, '505')), t.ctx, [new ManifestProvider(manifestPath)]);
    expect(t.logs.join('\n')).toMatch(/not running; no need to stop it/);
    expect(t.reports.some((r) => r.phase === 'starting-guest')).toBe(false);
    expect(await isRunning(g)).toBe(false);
    expect(await snaps(ds)).toEqual([`${ds}@${res.snapshot}`]);
  }, 120_000);

  it('an unknown guest id is a source-state error', async () => {
    await expect(runGuestBackup(params(job(606, 'nope')), testContext(26).ctx, [new ManifestProvider(manifestPath)])).rejects.toMatchObject(
      { errorClass: 'source-state' },
    );
  });
});
