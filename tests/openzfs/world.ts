// The OpenZFS tier's world: the real Node server on this host (file DB), a runner inside the
// OpenZFS VM (the node), and the same VM's sshd as the backup target (a second pool there), reached
// by the runner over 127.0.0.1:22 in the guest. Pools, keys, runners and the server are unique to
// the test file and removed afterwards (docs/testing.md).
import { expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openzfsVm, type GuestPool, type GuestRunner, type OpenZfsVm } from '../helpers/openzfs-vm.ts';
import { eventLog, sleep, startFaultServer, type FaultServer } from '../faults/fixture.ts';
import { isFinished, type FinishedEvent } from '../helpers/api.ts';

export const MiB = 1 << 20;

/**
 * The `zfs allow` list the README gives a non-root target user, exactly: backups, prune, restores,
 * out-of-band restores and re-pins are tested with nothing more.
 */
export const TARGET_PERMISSIONS = 'create,mount,canmount,mountpoint,readonly,receive,userprop,clone,promote,send,destroy,hold,release';

export interface OzWorld {
  vm: OpenZfsVm;
  srv: FaultServer;
  runner: GuestRunner;
  src: GuestPool;
  tgt: GuestPool;
  backupRoot: string;
  targetId: number;
  user: 'root' | 'lbtarget';
  /** The target's private key (OpenSSH text), for hand-typed pipes in benchmarks. */
  privateKey: string;
  /** Create a job on the guest node; returns its id. */
  job(body: Record<string, unknown>): Promise<number>;
  /** Run Now (one second after the last, snapshot names have one-second resolution); the event id. */
  run(jobId: number): Promise<number>;
  /** Run Now and expect success; the finished event. */
  backupOk(jobId: number): Promise<FinishedEvent>;
  /** Target path of a source dataset in a job's generation. */
  targetPath(jobId: number, generation: number, source: string): string;
  close(): Promise<void>;
}

export async function startWorld(opts: {
  prefix: string;
  user?: 'root' | 'lbtarget';
  srcMiB?: number;
  tgtMiB?: number;
  leaseMs?: number;
  crashAt?: string;
  runnerEnv?: Record<string, string>;
}): Promise<OzWorld> {
  const user = opts.user ?? 'root';
  const vm = await openzfsVm();
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    await vm.installRunner();
    const src = await vm.createPool(`${opts.prefix}s`, { mounted: true, sizeMiB: opts.srcMiB ?? 256 });
    cleanups.push(() => src.destroy());
    const tgt = await vm.createPool(`${opts.prefix}t`, { mounted: false, sizeMiB: opts.tgtMiB ?? 384 });
    cleanups.push(() => tgt.destroy());
    const backupRoot = `${tgt.name}/backups`;
    await vm.zfs('create', '-o', 'mountpoint=none', backupRoot);
    if (user !== 'root') await vm.zfs('allow', '-u', user, TARGET_PERMISSIONS, backupRoot);

    // the target's key: made here, authorized in the guest the way the README says (restrict …)
    const keyDir = mkdtempSync(join(tmpdir(), 'lb-oz-key-'));
    cleanups.push(async () => rmSync(keyDir, { recursive: true, force: true }));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-openzfs-test', '-f', join(keyDir, 'id')]);
    const pub = `restrict ${readFileSync(join(keyDir, 'id.pub'), 'utf8').trim()}`;
    await vm.addAuthorizedKey(user, pub);
    cleanups.push(() => vm.removeAuthorizedKey(user, pub));

    const srv = await startFaultServer({ LIFEBOAT_LEASE_MS: String(opts.leaseMs ?? 30_000), LIFEBOAT_LOCAL_RUNNER: '0' });
    cleanups.push(() => srv.stop());
    const runner = await vm.startRunner(srv, `${opts.prefix}-node`, [src.name], { crashAt: opts.crashAt, env: opts.runnerEnv });
    cleanups.push(() => runner.stop());

    const t = await srv.api('POST', '/targets', {
      name: `${opts.prefix}-vm`,
      sshHost: '127.0.0.1',
      sshPort: 22,
      sshUser: user,
      sshPrivateKey: readFileSync(join(keyDir, 'id'), 'utf8'),
      backupRoot,
      createBackupRoot: false,
    });
    expect(t.status, JSON.stringify(t.body)).toBe(201);
    const v = await srv.api('POST', `/targets/${t.body.id}/validate`, { nodeId: runner.nodeId });
    const ve = await srv.waitEvent(v.body.eventId, 180_000);
    expect(ve.status, `${ve.error}\n${await eventLog(srv.api, ve.id)}`).toBe('success');
    const fingerprint = (await srv.api('GET', `/targets/${t.body.id}`)).body.pendingHostKeyFingerprint;
    expect((await srv.api('POST', `/targets/${t.body.id}/host-key/confirm`, { fingerprint })).status).toBe(200);

    let lastRun = 0;
    const world: OzWorld = {
      vm,
      srv,
      runner,
      src,
      tgt,
      backupRoot,
      targetId: t.body.id,
      user,
      privateKey: readFileSync(join(keyDir, 'id'), 'utf8'),
      async job(body) {
        if ((body.mode ?? 'dataset') === 'dataset') {
          // the node reports its datasets every few seconds: a job's source must have been reported
          await srv.waitFor(
            `${body.source} in the node's inventory`,
            async () => (await srv.api('GET', `/nodes/${runner.nodeId}`)).body.datasets?.some((d) => d.name === body.source),
            120_000,
            250,
          );
        }
        const j = await srv.api('POST', '/jobs', { targetId: t.body.id, nodeId: runner.nodeId, mode: 'dataset', ...body });
        expect(j.status, JSON.stringify(j.body)).toBe(201);
        return j.body.id;
      },
      async run(jobId) {
        const wait = lastRun + 1100 - Date.now();
        if (wait > 0) await sleep(wait);
        lastRun = Date.now();
        const r = await srv.api('POST', `/jobs/${jobId}/run`);
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        return r.body.eventId;
      },
      async backupOk(jobId) {
        const e = await srv.waitEvent(await world.run(jobId), 300_000);
        expect(e.status, `${e.error}\n${await eventLog(srv.api, e.id)}`).toBe('success');
        if (!isFinished(e)) throw new Error(`event ${e.id} succeeded without startedAt/finishedAt: ${JSON.stringify(e)}`);
        return e;
      },
      targetPath: (jobId, generation, source) => `${backupRoot}/j${jobId}/g${generation}/${source}`,
      async close() {
        for (const c of cleanups.reverse()) await c().catch((e) => console.error(`cleanup: ${(e as Error).message}`));
        await vm.close();
      },
    };
    return world;
  } catch (e) {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await vm.close();
    throw e;
  }
}

/** Restore (job) and expect success; the finished event. */
export async function restoreOk(w: OzWorld, jobId: number, generation: number, snapshot: string, keepReplaced = false) {
  const r = await w.srv.api('POST', `/jobs/${jobId}/restore`, { generation, snapshot, keepReplaced });
  expect(r.status, JSON.stringify(r.body)).toBe(202);
  const e = await w.srv.waitEvent(r.body.eventId, 300_000);
  expect(e.status, `${e.error}\n${await eventLog(w.srv.api, e.id)}`).toBe('success');
  return e;
}

/** `zfs send -nvP` of a snapshot in the guest: the stream size OpenZFS estimates. */
/** Release `tag` from every held snapshot under `root` in the guest (what an operator does before a hand destroy). */
export async function releaseHolds(vm: OpenZfsVm, root: string, tag: string): Promise<void> {
  for (const line of (await vm.zfs('get', '-Hp', '-r', '-o', 'name,value', 'userrefs', root)).split('\n')) {
    const [name, refs] = line.split('\t');
    if (!name?.includes('@') || !(Number(refs) > 0)) continue;
    const r = await vm.exec(['zfs', 'release', tag, name]);
    if (r.code !== 0 && !/no such tag/.test(r.stderr)) throw new Error(`zfs release ${tag} ${name}: ${r.stderr.trim()}`);
  }
}

export async function sendEstimate(vm: OpenZfsVm, args: string[]): Promise<number> {
  const r = await vm.exec(['zfs', 'send', '-nvP', ...args]);
  const m = /^size\s+(\d+)/m.exec(r.stdout + r.stderr);
  if (r.code !== 0 || !m) throw new Error(`zfs send -nvP ${args.join(' ')}: ${r.stderr}`);
  return Number(m[1]);
}

/** Resume tokens under a dataset tree: dataset → token. */
export async function resumeTokens(vm: OpenZfsVm, root: string): Promise<Map<string, string>> {
  const out = await vm.zfs('get', '-H', '-r', '-o', 'name,value', 'receive_resume_token', root);
  const m = new Map<string, string>();
  for (const l of out.split('\n')) {
    const [n, v] = l.split('\t');
    if (n && v && v !== '-' && !n.includes('@')) m.set(n, v);
  }
  return m;
}

/** Bytes of the stream a partial receive holds (`bytes` of its resume token). */
export async function tokenBytes(vm: OpenZfsVm, token: string): Promise<number> {
  const r = await vm.exec(['zfs', 'send', '-nvP', '-t', token]);
  const m = /^\s*bytes\s*=\s*(0x[0-9a-f]+|\d+)/im.exec(r.stdout + r.stderr);
  if (!m) throw new Error(`no bytes in the resume token: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

/**
 * Every generation root of a job holds data: a snapshot, a partial receive (token), or a clone (a
 * generation whose snapshots a later fork's promote took over). None is scaffolding only.
 */
export async function noEmptyGenerations(w: OzWorld, jobId: number) {
  const jobRoot = `${w.backupRoot}/j${jobId}`;
  const gens = (await w.vm.zfs('list', '-H', '-o', 'name', '-d', '1', '-t', 'filesystem', jobRoot))
    .split('\n')
    .filter((n) => /\/g\d+$/.test(n));
  for (const g of gens) {
    const snaps = (await w.vm.zfs('list', '-H', '-o', 'name', '-r', '-t', 'snapshot', g)).split('\n').filter(Boolean);
    const clones = (await w.vm.zfs('list', '-H', '-o', 'origin', '-r', '-t', 'filesystem', g)).split('\n').filter((o) => o && o !== '-');
    const tokens = await resumeTokens(w.vm, g);
    expect(snaps.length + clones.length + tokens.size, `${g} is empty`).toBeGreaterThan(0);
  }
}

/** I/O counters of a guest process. */
export async function guestIo(vm: OpenZfsVm, pid: number): Promise<{ rchar: number; wchar: number } | null> {
  const r = await vm.exec(['cat', `/proc/${pid}/io`]);
  if (r.code !== 0) return null;
  return { rchar: Number(/rchar:\s*(\d+)/.exec(r.stdout)?.[1] ?? 0), wchar: Number(/wchar:\s*(\d+)/.exec(r.stdout)?.[1] ?? 0) };
}

/** The first guest process whose command line contains every part (polled). */
export async function waitGuestProcess(vm: OpenZfsVm, what: string, parts: string[], ms = 120_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const p = (await vm.processes()).find((x) => parts.every((s) => x.args.includes(s)));
    if (p) return p;
    await sleep(50);
  }
  throw new Error(`no ${what} process (${parts.join(' ')}) in the guest within ${ms} ms`);
}

/**
 * Cut a backup stream of `jobId` when the target's `zfs recv` has read `atBytes`: freeze the
 * node's `zfs send` (SIGSTOP), let the receiver drain what was sent, then kill the target's sshd
 * session that carries the stream (the runner's whole SSH connection drops, as on a network cut).
 * Returns what `zfs send` had written (what left the node).
 */
export async function cutStreamAt(w: OzWorld, jobId: number, atBytes: number): Promise<{ sent: number }> {
  const vm = w.vm;
  const recv = await waitGuestProcess(vm, 'target zfs recv', ['zfs recv', `${w.backupRoot}/j${jobId}/`]);
  const send = await waitGuestProcess(vm, 'node zfs send', ['zfs send', '@lb_j' + jobId + '_']);
  for (;;) {
    const io = await guestIo(vm, recv.pid);
    if (!io) throw new Error('the receive ended before the cut point');
    if (io.rchar >= atBytes) break;
    await sleep(20);
  }
  await vm.kill(send.pid, 'STOP');
  let sent: number;
  try {
    // drained: the receiver has read every byte zfs send wrote (its reads also count a few extra)
    for (;;) {
      const s = await guestIo(vm, send.pid);
      const r = await guestIo(vm, recv.pid);
      if (!s || !r) throw new Error('a side of the stream ended while frozen');
      sent = s.wchar;
      if (r.rchar >= s.wchar) break;
      await sleep(20);
    }
    // the sshd processes between the listener and the receive: the stream's connection
    const ps = await vm.processes();
    const byPid = new Map(ps.map((p) => [p.pid, p]));
    const chain: number[] = [];
    for (let p = byPid.get(recv.ppid); p && p.args.startsWith('sshd') && !/listener|-D/.test(p.args); p = byPid.get(p.ppid))
      chain.push(p.pid);
    expect(chain.length, ps.map((p) => `${p.pid} ${p.ppid} ${p.args}`).join('\n')).toBeGreaterThan(0);
    for (const pid of chain) await vm.kill(pid, 'KILL');
  } finally {
    await vm.kill(send.pid, 'CONT');
  }
  return { sent };
}
