// Warm SSH connections between backups (issue 14 #7; node-runner/src/ssh/session.ts): a runner
// process keeps a successful backup's master (and remote shell) for the next run of the same
// connection identity. Real zfs-fuse pools, sshd, server and runner process; every assertion is on
// PIDs, event logs and sshd's accepted connections, never on time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSshd, type TestSshd } from '../helpers/sshd.ts';
import { createPool, writeRandom, zfs, type TestPool } from '../helpers/zfs.ts';
import {
  backupOk as backupOkOf,
  descendants,
  eventLog,
  processes,
  reapSsh,
  runJob,
  sleep,
  startFaultRunner,
  startFaultServer,
  type FaultRunner,
  type FaultServer,
} from '../faults/fixture.ts';

let srv: FaultServer;
let runner: FaultRunner;
let sshd: TestSshd;
let src: TestPool;
let tgt: TestPool;
let targetId: number;
let jobId: number;
let round = 0;
const app = () => `${src.name}/app`;
const undo: (() => Promise<unknown>)[] = [];

/** A backup with 64 KiB of new data; returns the event, its log and the master PID the log names. */
async function backup() {
  await writeRandom(join(src.mountpoint!, 'app', `f${++round}`), 64 << 10);
  const e = await backupOkOf(srv, jobId);
  const log = await eventLog(srv.api, e.id);
  const m = /ssh: (connected to|reusing the warm connection to) \S+ \(master pid (\d+)\)/.exec(log);
  expect(m, log).not.toBeNull();
  return { e, log, reused: m![1] !== 'connected to', pid: Number(m![2]) };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** ssh processes of this runner (their control socket lives in its state dir). */
async function runnerSsh(): Promise<{ pid: number; args: string }[]> {
  return (await processes()).filter((p) => p.args.startsWith('ssh ') && p.args.includes(runner.stateDir));
}

/** sshd's processes serving connections (not the listener). */
async function sshdSessions(): Promise<number[]> {
  const d = new Set(await descendants(sshd.pid));
  return (await processes()).filter((p) => d.has(p.pid) && p.args.startsWith('sshd')).map((p) => p.pid);
}

beforeAll(async () => {
  src = await createPool('lbms', { mounted: true, sizeMiB: 128 });
  undo.push(() => src.destroy());
  tgt = await createPool('lbmt', { mounted: false, sizeMiB: 128 });
  undo.push(() => tgt.destroy());
  sshd = await startSshd();
  undo.push(() => sshd.stop());
  undo.push(() => reapSsh(sshd.pid, sshd.port));
  await zfs('create', app());
  srv = await startFaultServer({ LIFEBOAT_RUNNER_POOLS: tgt.name });
  undo.push(() => srv.stop());
  runner = await startFaultRunner(srv, 'warm', [src.name]);
  undo.push(() => runner.stop());
  const t = await srv.api('POST', '/targets', {
    name: 'loopback',
    sshHost: '127.0.0.1',
    sshUser: sshd.user,
    sshPort: sshd.port,
    sshPrivateKey: sshd.clientKey,
    backupRoot: `${tgt.name}/backups`,
    createBackupRoot: true,
  });
  expect(t.status, JSON.stringify(t.body)).toBe(201);
  targetId = t.body.id;
  const v = await srv.api('POST', `/targets/${targetId}/validate`, { nodeId: runner.nodeId });
  expect((await srv.waitEvent(v.body.eventId)).status).toBe('success');
  const fingerprint = (await srv.api('GET', `/targets/${targetId}`)).body.pendingHostKeyFingerprint;
  expect((await srv.api('POST', `/targets/${targetId}/host-key/confirm`, { fingerprint })).status).toBe(200);
  const j = await srv.api('POST', '/jobs', {
    name: 'app',
    targetId,
    nodeId: runner.nodeId,
    mode: 'dataset',
    source: app(),
    keepLast: 2,
    pruneTarget: true,
  });
  expect(j.status, JSON.stringify(j.body)).toBe(201);
  jobId = j.body.id;
}, 180_000);

afterAll(async () => {
  for (let f = undo.pop(); f; f = undo.pop()) await f().catch(() => undefined);
}, 120_000);

describe('warm SSH connections', () => {
  let pid = 0;

  it('the next run reuses the master: same PID, no new SSH connection; between runs no key file is on disk', async () => {
    const first = await backup();
    expect(first.reused).toBe(false);
    pid = first.pid;
    expect(alive(pid)).toBe(true);
    const master = (await runnerSsh()).find((p) => p.pid === pid);
    expect(master?.args).toContain(' -M ');
    // idle: the dir keeps the socket and known_hosts, the private key is gone
    const dirs = readdirSync(join(runner.stateDir, 'ssh'));
    expect(dirs.length).toBe(1);
    expect(readdirSync(join(runner.stateDir, 'ssh', dirs[0])).sort()).toEqual(['cm', 'known_hosts']);
    sshd.resetAcceptedConnections();
    const second = await backup();
    expect(second.reused, second.log).toBe(true);
    expect(second.pid).toBe(pid);
    expect(sshd.acceptedConnections()).toBe(0);
    expect(second.e.bytesDone).toBeLessThan(1 << 20); // incremental, as before
  }, 120_000);

  it('a master whose connection died while idle is replaced: the run succeeds over a new one', async () => {
    for (const p of await sshdSessions()) process.kill(p, 'SIGKILL');
    await srv.waitFor('the dead master to exit', async () => !alive(pid), 15_000);
    const r = await backup();
    expect(r.reused, r.log).toBe(false);
    expect(r.pid).not.toBe(pid);
    pid = r.pid;
  }, 120_000);

  it('a master that no longer answers (connection hung) is not waited on: replaced after a short probe', async () => {
    const hung = await sshdSessions();
    expect(hung.length).toBeGreaterThan(0);
    for (const p of hung) process.kill(p, 'SIGSTOP');
    try {
      const r = await backup();
      expect(r.reused, r.log).toBe(false);
      expect(r.pid).not.toBe(pid);
      await srv.waitFor('the hung master to be stopped', async () => !alive(pid), 15_000);
      pid = r.pid;
    } finally {
      for (const p of hung) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  }, 120_000);

  it('a failed run does not keep its master: the next run connects anew', async () => {
    await zfs('rename', `${tgt.name}/backups`, `${tgt.name}/moved`);
    let failedPid: number;
    try {
      await sleep(1100);
      const e = await srv.waitEvent(await runJob(srv, jobId));
      expect(e.status).toBe('failed');
      const log = await eventLog(srv.api, e.id);
      failedPid = Number(/master pid (\d+)/.exec(log)?.[1]);
      expect(failedPid, log).toBe(pid); // it had taken the warm one
    } finally {
      await zfs('rename', `${tgt.name}/moved`, `${tgt.name}/backups`);
    }
    await srv.waitFor("the failed run's master to be stopped", async () => !alive(failedPid), 15_000);
    const r = await backup();
    expect(r.reused, r.log).toBe(false);
    pid = r.pid;
  }, 120_000);

  it('a target edit (another private key) gets a fresh master and closes the old one', async () => {
    appendFileSync(join(sshd.dir, 'authorized_keys'), readFileSync(join(sshd.dir, 'wrong.pub')));
    const p = await srv.api('PATCH', `/targets/${targetId}`, { sshPrivateKey: sshd.wrongClientKey });
    expect(p.status, JSON.stringify(p.body)).toBe(200);
    const r = await backup();
    expect(r.reused, r.log).toBe(false);
    expect(r.pid).not.toBe(pid);
    await srv.waitFor('the old master to be stopped', async () => !alive(pid), 15_000);
    pid = r.pid;
  }, 120_000);

  it('a different pinned host key gets a fresh master and closes the old one', async () => {
    await sshd.restartWithNewHostKey(); // the old connection's sshd process stays, and so would its master
    expect(alive(pid)).toBe(true);
    const reset = await srv.api('POST', `/targets/${targetId}/host-key/reset`, { nodeId: runner.nodeId });
    expect(reset.status, JSON.stringify(reset.body)).toBe(202);
    expect((await srv.waitEvent(reset.body.eventId)).status).toBe('success');
    const fingerprint = (await srv.api('GET', `/targets/${targetId}`)).body.pendingHostKeyFingerprint;
    expect((await srv.api('POST', `/targets/${targetId}/host-key/confirm`, { fingerprint })).status).toBe(200);
    const r = await backup();
    expect(r.reused, r.log).toBe(false);
    expect(r.pid).not.toBe(pid);
    await srv.waitFor('the old master to be stopped', async () => !alive(pid), 15_000);
    pid = r.pid;
  }, 120_000);

  it('runner stop closes the warm master by its PID: no ssh process of the runner is left', async () => {
    const before = await runnerSsh();
    expect(before.map((p) => p.pid)).toContain(pid);
    await runner.stop();
    expect(runner.output()).toMatch(new RegExp(`closed 1 warm SSH connection\\(s\\) \\(master pid ${pid}\\)`));
    for (const p of before) expect(alive(p.pid), p.args).toBe(false);
  }, 60_000);
});
