// Kill matrix: the runner SIGKILLs itself (`--crash-at`) at each phase
// boundary of a backup and a restore. Each time: the event becomes `interrupted` within the lease,
// a restarted runner's next run succeeds without a full re-send, no dataset is lost or left
// renamed, and staging leftovers are cleaned. Also item 2 on zfs-fuse: no resumable receive, so a
// cut-off receive leaves nothing partial and the next run sends the same increment again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestSshd } from '../helpers/sshd.ts';
import { addLoopbackTarget, startWorld, Teardown } from '../helpers/world.ts';
import { snapshotGuids, writeRandom, zfs, type TestPool } from '../helpers/zfs.ts';
import {
  eventLog,
  reapSsh,
  listAll,
  LEFTOVER,
  pidsMatching,
  sleep,
  startFaultRunner,
  startFaultServer,
  type FaultRunner,
  type FaultServer,
  backupOk as backupOkOf,
  runJob as runJobOf,
  sha256File,
} from './fixture.ts';

const MiB = 1 << 20;
const LEASE = 3000;
const FULL = 16 * MiB; // the dataset's size: a full re-send is at least this
const DELTA = 3 * MiB; // written before every run: the mid-transfer checkpoint (1 MiB) is inside it
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

/** Start the runner with --crash-at, run `start`, expect SIGKILL and `interrupted` within the lease. */
async function crashAt(checkpoint: string, start: () => Promise<number>, opts: { sessionOpen?: boolean } = {}) {
  await runner.restart({ crashAt: checkpoint });
  const id = await start();
  const sig = await Promise.race([runner.exited(), sleep(90_000).then(() => 'timeout')]);
  expect(sig, runner.output().slice(-2000)).toBe('SIGKILL');
  const killedAt = Date.now();
  expect(runner.output()).toContain(`--crash-at ${checkpoint}: event ${id} reached it`);
  const e = await srv.waitFor(
    `event ${id} interrupted`,
    async () => {
      const x = (await srv.api('GET', `/events/${id}`)).body;
      return x.status !== 'running' ? x : null;
    },
    LEASE + 10_000,
    100,
  );
  expect(e.status).toBe('interrupted');
  // the lease runs from the last heartbeat (≤ 1 s before the kill); sweeps run on every claim re-check
  expect(Date.parse(e.finishedAt!) - killedAt).toBeLessThanOrEqual(LEASE + 500);
  expect(e.error).toMatch(/runner lost/);
  // a run killed while its SSH session was open left its key on disk (in the runner's own 0700 dir)
  // until the runner starts again; a run killed after closing it (the swap) left nothing
  const sshDir = join(runner.stateDir, 'ssh');
  const left = readdirSync(sshDir);
  expect(
    left.some((d) => d.startsWith('lb-ssh-') && existsSync(join(sshDir, d, 'id'))),
    `${sshDir}: ${left.join(' ')}`,
  ).toBe(opts.sessionOpen ?? true);
  expect((statSync(sshDir).mode & 0o777).toString(8)).toBe('700');
  const before = runner.output().length;
  await runner.restart();
  expect(readdirSync(sshDir)).toEqual([]);
  if (left.length) expect(runner.output().slice(before)).toMatch(/removed \d+ SSH key dir\(s\) a previous run of this runner left/);
  return e;
}

/** No dataset lost or left renamed: the source dataset and its data are in place, no leftovers anywhere. */
async function intact(expectSha: string) {
  expect(sha(join(appDir(), 'data.bin'))).toBe(expectSha);
  for (const pool of [src.name, tgt.name]) expect((await listAll(pool)).filter((n) => LEFTOVER.test(n))).toEqual([]);
  const tokens = (await zfs('get', '-H', '-r', '-o', 'name,value', 'receive_resume_token', tgt.name).catch(() => ''))
    .split('\n')
    .filter((l) => l && !/\t-$/.test(l));
  expect(tokens).toEqual([]);
}

const teardown = new Teardown();
beforeAll(async () => {
  const w = await startWorld(teardown, {
    src: { prefix: 'lbks', mounted: true, sizeMiB: 512 },
    tgt: { prefix: 'lbkt', mounted: false, sizeMiB: 768 },
  });
  ({
    pools: { src, tgt },
    sshd,
  } = w);
  teardown.defer(() => reapSsh(sshd.pid, sshd.port)); // ssh masters orphaned by killed runners, after the runner and server stopped
  await zfs('create', app());
  await writeRandom(join(appDir(), 'data.bin'), FULL);
  srv = teardown.own(await startFaultServer({ LIFEBOAT_LEASE_MS: String(LEASE), LIFEBOAT_RUNNER_POOLS: tgt.name }));
  runner = teardown.own(await startFaultRunner(srv, 'faulty', [src.name]));
  const targetId = await addLoopbackTarget(srv, w, [runner.nodeId]);
  const j = await srv.api('POST', '/jobs', {
    name: 'app',
    targetId,
    nodeId: runner.nodeId,
    mode: 'dataset',
    source: app(),
    keepLast: 3,
    pruneTarget: true,
  });
  expect(j.status, JSON.stringify(j.body)).toBe(201);
  jobId = j.body.id;
}, 180_000);

afterAll(() => teardown.run(), 120_000);

describe('kill matrix: backup', () => {
  it('first backup: a full send', async () => {
    const e = await backupOk();
    expect(e.bytesDone).toBeGreaterThanOrEqual(FULL);
  }, 120_000);

  for (const checkpoint of ['after-snapshot', 'mid-transfer', 'after-receive', 'during-pruning']) {
    it(`SIGKILL at ${checkpoint}: interrupted within the lease; the next run sends only the delta; nothing lost`, async () => {
      await writeRandom(join(appDir(), `delta-${checkpoint}.bin`), DELTA);
      const dataSha = sha(join(appDir(), 'data.bin'));
      const before = await snapshotGuids(tgt.name);
      const dead = await crashAt(checkpoint, runJob);
      // nothing that was on the target is gone (a crash never destroys; pruning removed at most one)
      const mid = await snapshotGuids(tgt.name);
      const lost = [...before.keys()].filter((k) => !mid.has(k));
      expect(lost.length).toBeLessThanOrEqual(checkpoint === 'during-pruning' ? 1 : 0);
      // the killed run's send → ssh stream does not pass through the runner: it may finish on its own.
      // Wait for it; then the target holds that snapshot complete (source GUID) or nothing of it.
      await srv.waitFor('orphaned transfer processes to end', async () => (await pidsMatching('zfs', tgt.name)).length === 0, 30_000, 200);
      const srcGuids = await snapshotGuids(app());
      const after = await snapshotGuids(tgt.name);
      for (const [n, g] of after) {
        const sg = srcGuids.get(`${app()}@${n.split('@')[1]}`);
        if (sg !== undefined || !before.has(n)) expect(sg, n).toBe(g); // (older ones may be pruned on the source)
      }
      const deadSnap = [...after.keys()].find((n) => !before.has(n)) ?? null;
      if (checkpoint === 'mid-transfer') {
        // zfs-fuse has no `recv -s`: no resume token, nothing partial (a cut stream is restarted whole)
        const node = (await srv.api('GET', '/nodes')).body.items.find((n) => n.id === runner.nodeId)!;
        expect(node.capabilities?.resumableRecv).toBe(false);
      }
      if (checkpoint === 'after-snapshot') expect(deadSnap).toBeNull();
      if (checkpoint === 'after-receive' || checkpoint === 'during-pruning') expect(deadSnap, `${dead.id}`).not.toBeNull();
      const e = await backupOk();
      expect(e.generation).toBe(1);
      expect(e.bytesDone).toBeGreaterThan(0);
      expect(e.bytesDone).toBeLessThan(FULL / 2); // no full re-send
      if (deadSnap) {
        // complete on the target (GUID checked above) and a member of the job's generation
        // (identity by GUID; membership by the lifeboat:job/generation properties, set or inherited)
        expect((await zfs('get', '-H', '-o', 'value', 'lifeboat:job', deadSnap)).trim()).toBe(String(jobId));
        expect((await zfs('get', '-H', '-o', 'value', 'lifeboat:generation', deadSnap)).trim()).toBe('1');
        const gens = (await srv.api('GET', `/jobs/${jobId}/generations`)).body;
        expect(gens[0].snapshots.map((x) => x.name)).toContain(deadSnap.split('@')[1]);
      } else {
        expect(['after-snapshot', 'mid-transfer']).toContain(checkpoint);
        expect(e.bytesDone).toBeGreaterThanOrEqual(DELTA); // nothing arrived: the whole increment again (a clean restart)
      }
      await intact(dataSha);
      // the new snapshot is on the target with the source's GUID
      const s = await snapshotGuids(app());
      const t = await snapshotGuids(tgt.name);
      expect(t.get(`${tgt.name}/backups/j${jobId}/g1/${app()}@${e.snapshot}`)).toBe(s.get(`${app()}@${e.snapshot}`));
    }, 180_000);
  }

  it('after the pruning crash, the next prune completes: Keep Last holds on both sides', async () => {
    const jobSnaps = async (root: string) =>
      (await zfs('get', '-H', '-r', '-o', 'name,value', 'lifeboat:job', root))
        .split('\n')
        .filter((l) => l.includes('@') && l.endsWith(`\t${jobId}`));
    expect((await jobSnaps(app())).length).toBeLessThanOrEqual(3);
    expect((await jobSnaps(`${tgt.name}/backups/j${jobId}/g1`)).length).toBeLessThanOrEqual(3);
  });
});

describe('kill matrix: restore', () => {
  let snapshot: string;
  let snapshotSha: string;

  it('SIGKILL during restore staging: interrupted; the next restore removes the dead staging and succeeds', async () => {
    const gens = (await srv.api('GET', `/jobs/${jobId}/generations`)).body;
    snapshot = gens[0].snapshots[0].name; // the newest (older ones are pruned by Keep Last as backups go on)
    const before = sha(join(appDir(), 'data.bin'));
    writeFileSync(join(appDir(), 'data.bin'), 'changed after the backups');
    const restore = async () => {
      const r = await srv.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      return r.body.eventId as number;
    };
    const dead = await crashAt('restore-staging', restore);
    // the live dataset was not touched; the dead event's staging is there, marked
    expect(readFileSync(join(appDir(), 'data.bin'), 'utf8')).toBe('changed after the backups');
    const staging = (await listAll(src.name)).filter((n) => /lb-staging/.test(n) && !n.includes('@'));
    expect(staging.length).toBeGreaterThan(0);
    expect((await zfs('get', '-H', '-o', 'value', 'lifeboat:staging', staging[0])).trim()).toBe(String(dead.id));
    const e = await srv.waitEvent(await restore());
    const log = await eventLog(srv.api, e.id);
    expect(e.status, `${e.error}\n${log}`).toBe('success');
    expect(log).toMatch(new RegExp(`removed.*staging.*${dead.id}|staging.*${dead.id}.*removed|removed leftover staging`));
    snapshotSha = before;
    await intact(snapshotSha);
  }, 180_000);

  it('the next backup forks a new generation and sends only the delta', async () => {
    const e = await backupOk();
    expect(e.generation).toBe(2);
    expect(e.bytesDone).toBeLessThan(FULL / 2);
  }, 120_000);

  it('SIGKILL between the two renames of the swap: the next restore renames the set-aside copy back and succeeds', async () => {
    writeFileSync(join(appDir(), 'data.bin'), 'changed again');
    const restore = async () => {
      const r = await srv.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      return r.body.eventId as number;
    };
    const dead = await crashAt('between-swap-renames', restore, { sessionOpen: false });
    // the crash left the live dataset renamed aside: nothing is lost, it is under its set-aside name
    const names = await listAll(src.name);
    expect(names).toContain(`${app()}-lb-old-${dead.id}`);
    expect(names).not.toContain(app());
    const e = await srv.waitEvent(await restore());
    const log = await eventLog(srv.api, e.id);
    expect(e.status, `${e.error}\n${log}`).toBe('success');
    expect(log).toMatch(new RegExp(`recovered ${app()}`));
    await intact(snapshotSha);
    const b = await backupOk();
    expect(b.generation).toBe(3);
    expect(b.bytesDone).toBeLessThan(FULL / 2);
  }, 180_000);
});
