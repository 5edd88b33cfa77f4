// Broken world, cancels and a server restart, on zfs-fuse with a real sshd,
// the real server and a separate runner process.
//
// Holding a stream mid-way: the runner pipes `zfs send` into `ssh … zfs recv` (backup) or
// `ssh … zfs send` into `zfs recv` (restore) itself; the test SIGSTOPs that ssh client (a child of
// the runner process the test started) so the transfer is deterministically in flight, does the
// damage, and SIGCONTs it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { TestSshd } from '../helpers/sshd.ts';
import { addLoopbackTarget, startWorld, Teardown } from '../helpers/world.ts';
import { releaseHolds, snapshotGuids, writeRandom, zfs, type TestPool } from '../helpers/zfs.ts';
import {
  descendants,
  eventLog,
  reapSsh,
  listAll,
  LEFTOVER,
  pidsMatching,
  processes,
  sleep,
  startFaultRunner,
  startFaultServer,
  waitProcess,
  waitProcessFast,
  type FaultRunner,
  type FaultServer,
  backupOk as backupOkOf,
  runJob as runJobOf,
  sha256File,
} from './fixture.ts';

const MiB = 1 << 20;
const FULL = 16 * MiB;
const DELTA = 24 * MiB;
let srv: FaultServer;
let runner: FaultRunner;
let sshd: TestSshd;
let src: TestPool;
let tgt: TestPool;
let jobId: number;
const app = () => `${src.name}/app`;
const appDir = () => join(src.mountpoint!, 'app');
const sha = sha256File;
const runJob = () => runJobOf(srv, jobId);
const backupOk = () => backupOkOf(srv, jobId);
const stopped: number[] = [];

/** Freeze the runner's ssh client of the stream (args contain all `parts`) as soon as it exists. */
async function freezeStream(...parts: string[]): Promise<number[]> {
  const pids = (await waitProcess('ssh stream', ['ssh', ...parts])).filter((p) => p !== runner.proc.pid);
  for (const p of pids) {
    process.kill(p, 'SIGSTOP');
    stopped.push(p);
  }
  return pids;
}

/** Stop these processes (SIGSTOP); returns the ones that were still there. */
function freeze(pids: number[]): number[] {
  return pids.filter((p) => {
    try {
      process.kill(p, 'SIGSTOP');
      stopped.push(p);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Freeze a backup's stream in flight. The target-side `zfs recv` of the job (its ssh session was
 * started ahead with a standby shell, or runs over a warm connection, so the local ssh client's
 * arguments do not name it) is stopped the moment it appears: the stream cannot complete while the
 * rest is frozen (a warm connection makes a small stream finish within the time a process listing
 * takes). Then every sshd process serving a connection is stopped. The runner keeps heartbeating
 * over HTTP. Both lists are stopped; thaw them, or kill the sessions and thaw the receives.
 */
async function freezeBackupStream(): Promise<{ receives: number[]; sessions: number[] }> {
  const receives = freeze(await waitProcessFast('target zfs recv', ['zfs recv', `${tgt.name}/backups/j${jobId}/`]));
  expect(receives.length, 'the receive was still running when found').toBeGreaterThan(0);
  const served = new Set(await descendants(sshd.pid));
  const sessions = freeze((await processes()).filter((p) => served.has(p.pid) && p.args.startsWith('sshd')).map((p) => p.pid));
  return { receives, sessions };
}

function thaw(pids: number[]) {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGCONT');
    } catch {
      /* gone */
    }
  }
}

/** No transfer process of this test is left over. */
async function noTransferProcesses() {
  await srv.waitFor(
    'transfer processes to end',
    async () =>
      (await pidsMatching('zfs', 'recv', tgt.name)).length === 0 &&
      (await pidsMatching('zfs', 'send', src.name)).length === 0 &&
      (await pidsMatching('zfs', 'send', tgt.name)).length === 0 &&
      (await pidsMatching('zfs', 'recv', src.name)).length === 0,
    15_000,
    200,
  );
}

async function noLeftovers() {
  for (const pool of [src.name, tgt.name]) expect((await listAll(pool)).filter((n) => LEFTOVER.test(n))).toEqual([]);
}

const teardown = new Teardown();
beforeAll(async () => {
  const w = await startWorld(teardown, {
    src: { prefix: 'lbws', mounted: true, sizeMiB: 512 },
    tgt: { prefix: 'lbwt', mounted: false, sizeMiB: 768 },
  });
  ({
    pools: { src, tgt },
    sshd,
  } = w);
  teardown.defer(() => reapSsh(sshd.pid, sshd.port)); // ssh masters orphaned by killed runners, after the runner and server stopped
  await zfs('create', app());
  await writeRandom(join(appDir(), 'data.bin'), FULL);
  // a lease longer than a server restart: the running event must survive it
  srv = teardown.own(await startFaultServer({ LIFEBOAT_LEASE_MS: '20000', LIFEBOAT_RUNNER_POOLS: tgt.name }));
  runner = teardown.own(await startFaultRunner(srv, 'worker', [src.name]));
  teardown.defer(() => thaw(stopped)); // first: a frozen stream must not hold up the stops
  const targetId = await addLoopbackTarget(srv, w, [runner.nodeId]);
  const j = await srv.api('POST', '/jobs', { name: 'app', targetId, nodeId: runner.nodeId, mode: 'dataset', source: app() });
  expect(j.status, JSON.stringify(j.body)).toBe(201);
  jobId = j.body.id;
  const e = await backupOk();
  expect(e.bytesDone).toBeGreaterThanOrEqual(FULL);
}, 180_000);

afterAll(() => teardown.run(), 120_000);

describe('broken world', () => {
  it('target pool full: a classified error naming the space; the next run (space freed) sends only the delta', async () => {
    const avail = Number((await zfs('get', '-Hp', '-o', 'value', 'available', tgt.name)).trim());
    await zfs('create', '-o', `reservation=${avail - 4 * MiB}`, '-o', 'mountpoint=none', `${tgt.name}/filler`);
    await writeRandom(join(appDir(), 'full.bin'), DELTA);
    const e = await srv.waitEvent(await runJob());
    expect(e.status).toBe('failed');
    expect(e.errorClass).toBe('zfs');
    expect(e.error).toMatch(/space/i);
    await noTransferProcesses();
    await noLeftovers();
    await zfs('destroy', `${tgt.name}/filler`);
    const ok = await backupOk();
    expect(ok.generation).toBe(1);
    expect(ok.bytesDone).toBeGreaterThanOrEqual(DELTA);
    expect(ok.bytesDone).toBeLessThan(FULL + DELTA);
  }, 180_000);

  it('SSH connection dropped mid-stream: the event says truthfully what landed; nothing partial; the next run sends what is missing', async () => {
    await writeRandom(join(appDir(), 'ssh.bin'), DELTA);
    const targetBefore = await snapshotGuids(tgt.name);
    const id = await runJob();
    const frozen = await freezeBackupStream();
    expect(frozen.sessions.length).toBeGreaterThan(0);
    // drop every connection sshd serves (its session processes), mid-stream; the receive then reads
    // the end of a cut stream
    for (const p of frozen.sessions) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    thaw(frozen.receives);
    const e = await srv.waitEvent(id);
    await noTransferProcesses();
    await noLeftovers();
    // The receive may already have had the whole stream when the connection dropped: the runner
    // decides by the GUID on the target once that receive has ended, never by the broken pipe.
    const after = await snapshotGuids(tgt.name);
    const arrived = [...after.keys()].filter((n) => !targetBefore.has(n));
    if (e.status === 'success') {
      expect(await eventLog(srv.api, id)).toMatch(/yet .* arrived complete \(GUID checked after the receive ended\)/);
      expect(arrived).toEqual([`${tgt.name}/backups/j${jobId}/g1/${app()}@${e.snapshot}`]);
      expect(after.get(arrived[0])).toBe((await snapshotGuids(app())).get(`${app()}@${e.snapshot}`));
    } else {
      expect(e.status).toBe('failed');
      expect(e.errorClass, e.error).toBe('connectivity');
      expect(arrived).toEqual([]); // zfs-fuse has no resumable receive: nothing partial either
    }
    const ok = await backupOk();
    expect(ok.generation).toBe(1);
    if (e.status === 'success') expect(ok.bytesDone).toBeLessThan(DELTA);
    else expect(ok.bytesDone).toBeGreaterThanOrEqual(DELTA);
    expect(ok.bytesDone).toBeLessThan(2 * DELTA);
  }, 180_000);

  it('server restart during a running backup: the runner carries on and reports; the event ends consistent', async () => {
    await writeRandom(join(appDir(), 'restart.bin'), DELTA);
    const runnerPid = runner.proc.pid;
    const id = await runJob();
    const frozen = await freezeBackupStream();
    await srv.halt();
    await sleep(1500); // the runner's heartbeats fail meanwhile
    await srv.restart();
    thaw([...frozen.sessions, ...frozen.receives]);
    const e = await srv.waitEvent(id);
    expect(e.status, `${e.error}\n${await eventLog(srv.api, id)}`).toBe('success');
    expect(runner.proc.pid).toBe(runnerPid); // the same runner process, never restarted
    expect(runner.proc.exitCode).toBeNull();
    expect(e.bytesDone).toBeGreaterThanOrEqual(DELTA);
    // consistent: the snapshot the event names is on the target with the source's GUID, and in the catalog
    const s = await snapshotGuids(app());
    const t = await snapshotGuids(tgt.name);
    expect(t.get(`${tgt.name}/backups/j${jobId}/g1/${app()}@${e.snapshot}`)).toBe(s.get(`${app()}@${e.snapshot}`));
    const gens = (await srv.api('GET', `/jobs/${jobId}/generations`)).body;
    expect(gens[0].snapshots.map((x) => x.name)).toContain(e.snapshot);
    const job = (await srv.api('GET', `/jobs/${jobId}`)).body;
    expect(job.lastStatus).toBe('success');
    // and the claim loop works again after the restart
    await backupOk();
  }, 180_000);

  it('cancel a running backup: processes stopped, nothing partial, event cancelled; the next run is fine', async () => {
    await writeRandom(join(appDir(), 'cancel.bin'), DELTA);
    const targetBefore = [...(await snapshotGuids(tgt.name)).keys()];
    const id = await runJob();
    const frozen = await freezeBackupStream();
    const c = await srv.api('POST', `/events/${id}/cancel`);
    expect(c.status).toBe(200);
    await sleep(1500); // the runner learns it from its next heartbeat and kills the transfer
    thaw([...frozen.sessions, ...frozen.receives]);
    const e = await srv.waitEvent(id);
    await noTransferProcesses();
    await noLeftovers();
    const after = [...(await snapshotGuids(tgt.name)).keys()];
    if (e.status === 'success') {
      // the whole stream had reached the target's receive before the cancel: the data is safe there
      expect(await eventLog(srv.api, id)).toMatch(
        /cancel arrived after .* was complete on the target|cancel arrived after the data was safely on the target/,
      );
      expect(after.filter((n) => !targetBefore.includes(n))).toEqual([`${tgt.name}/backups/j${jobId}/g1/${app()}@${e.snapshot}`]);
    } else {
      expect(e.status).toBe('cancelled');
      expect(after).toEqual(targetBefore); // nothing received, nothing removed
    }
    const ok = await backupOk();
    expect(ok.generation).toBe(1);
    expect(ok.bytesDone).toBeLessThan(2 * DELTA + FULL);
  }, 180_000);

  it('cancel a running restore: processes stopped, staging removed, the live dataset untouched; the next run is fine', async () => {
    const gens = (await srv.api('GET', `/jobs/${jobId}/generations`)).body;
    const snapshot = gens[0].snapshots[gens[0].snapshots.length - 1].name;
    const live = sha(join(appDir(), 'data.bin'));
    const livefiles = (await listAll(src.name)).filter((n) => !n.includes('@'));
    const r = await srv.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    const frozen = await freezeStream('zfs send', `${tgt.name}/backups/j${jobId}/`);
    await srv.waitFor('staging to exist', async () => (await listAll(src.name)).some((n) => /lb-staging/.test(n)), 10_000);
    expect((await srv.api('POST', `/events/${r.body.eventId}/cancel`)).status).toBe(200);
    await sleep(1500);
    thaw(frozen);
    const e = await srv.waitEvent(r.body.eventId);
    expect(e.status).toBe('cancelled');
    await noTransferProcesses();
    await noLeftovers();
    expect(sha(join(appDir(), 'data.bin'))).toBe(live);
    expect((await listAll(src.name)).filter((n) => !n.includes('@'))).toEqual(livefiles);
    const ok = await backupOk();
    expect(ok.generation).toBe(1); // the restore did not happen: no new generation
  }, 180_000);

  it('target dataset destroyed by hand: the next run starts a new generation and says why', async () => {
    await releaseHolds(`${tgt.name}/backups/j${jobId}/g1/${app()}`, `lifeboat-j${jobId}`); // Lifeboat's hold on the base goes first
    await zfs('destroy', '-r', `${tgt.name}/backups/j${jobId}/g1/${app()}`);
    const e = await backupOk();
    expect(e.generation).toBe(2);
    expect(await eventLog(srv.api, e.id)).toMatch(/missing on the target.*destroyed by hand\?\): new generation with a full send/);
    expect(e.bytesDone).toBeGreaterThanOrEqual(FULL);
    await noLeftovers();
    // and the run after that continues incrementally in generation 2
    const next = await backupOk();
    expect(next.generation).toBe(2);
    expect(next.bytesDone).toBeLessThan(MiB);
  }, 180_000);

  it('common source snapshots destroyed by hand: the next run starts a new generation with the reason', async () => {
    const snaps = (await zfs('list', '-H', '-o', 'name', '-t', 'snapshot', '-r', app())).split('\n').filter(Boolean);
    await releaseHolds(app(), `lifeboat-j${jobId}`);
    for (const s of snaps) await zfs('destroy', s);
    const e = await backupOk();
    expect(e.generation).toBe(3);
    expect(await eventLog(srv.api, e.id)).toMatch(
      /no snapshot of .* is common \(by GUID\) to the source and target generation 2: new generation with a full send/,
    );
    // generation 2 stays on the target as it was
    expect((await listAll(tgt.name)).some((n) => n.startsWith(`${tgt.name}/backups/j${jobId}/g2/${app()}@`))).toBe(true);
    await noLeftovers();
  }, 180_000);
});
