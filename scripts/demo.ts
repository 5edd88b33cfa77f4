// npm run demo: against the running system (npm start), create two file-backed zfs-fuse pools,
// a loopback sshd target and a job, validate, Run Now, and follow the backup to the end; then
// prove it restores: a file changed after the backup comes back by an in-place job restore, and
// an out-of-band restore lands the backup in a new dataset. Prints the UI links of the events.
// npm run demo -- --teardown: stop the demo sshd (by its PID file) and destroy the demo pools.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { z } from '@hono/zod-openapi';
import type * as contract from '../functions/src/contract/api.ts';

const root = new URL('..', import.meta.url).pathname;
const dataDir = resolve(process.env.LIFEBOAT_DATA_DIR || join(root, 'data'));
const demoDir = join(dataDir, 'demo');
const statePath = join(demoDir, 'state.json');
const server = (process.env.LIFEBOAT_URL || `http://127.0.0.1:${process.env.LIFEBOAT_PORT || 8480}`).replace(/\/+$/, '');
const say = (m: string) => console.log(`[demo] ${m}`);
const started = Date.now();
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });

interface DemoState {
  pools: string[];
  sshdPidFile: string;
  port: number;
}

function teardown() {
  if (!existsSync(statePath)) {
    say('nothing to tear down');
    return;
  }
  const st: DemoState = JSON.parse(readFileSync(statePath, 'utf8'));
  if (existsSync(st.sshdPidFile)) {
    const pid = Number(readFileSync(st.sshdPidFile, 'utf8').trim());
    try {
      process.kill(pid, 'SIGTERM');
      say(`stopped demo sshd (pid ${pid})`);
    } catch {
      /* gone */
    }
  }
  const left: string[] = [];
  for (const p of st.pools) {
    // zfs-fuse answers "pool is busy" for a moment after the last use of a dataset: a few tries
    let r = spawnSync('zpool', ['destroy', '-f', p], { encoding: 'utf8' });
    for (let i = 0; i < 10 && r.status !== 0 && /busy/.test(r.stderr); i++) {
      spawnSync('sleep', ['1']);
      r = spawnSync('zpool', ['destroy', '-f', p], { encoding: 'utf8' });
    }
    say(r.status === 0 ? `destroyed pool ${p}` : `pool ${p}: ${r.stderr.trim()}`);
    if (r.status !== 0 && !/no such pool/.test(r.stderr)) left.push(p);
  }
  if (left.length) {
    // the pools' files and mountpoints are in the demo dir: it stays until they are gone
    writeFileSync(statePath, JSON.stringify({ ...st, pools: left }));
    say(`kept ${demoDir}: pool(s) ${left.join(', ')} still use it; run the teardown again`);
    return;
  }
  rmSync(demoDir, { recursive: true, force: true });
  say('the demo target and job stay in the UI; disable and delete them there if you like');
}

type LbEvent = z.infer<typeof contract.Event>;

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as AddressInfo;
      s.close(() => res(a.port));
    });
  });
}

/** One call to the API; `T` is the response body's shape (docs: GET /api/v1/openapi.json). */
async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const token = process.env.LIFEBOAT_ADMIN_TOKEN || readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const res = await fetch(`${server}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data: unknown = await res.json();
  if (!res.ok)
    throw new Error(`${method} ${path}: ${res.status} ${(data as { error?: { message?: string } } | null)?.error?.message ?? ''}`);
  return data as T;
}

async function until<T>(what: string, f: () => Promise<T | null>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await f();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function setup() {
  if (existsSync(statePath)) {
    say(`a demo is already set up (${statePath}); run with --teardown first`);
    return;
  }
  await fetch(`${server}/api/v1/health`).catch(() => {
    throw new Error(`no Lifeboat server at ${server}: start it with npm start`);
  });
  const prov = spawnSync('bash', [join(root, 'scripts/provision-test-host.sh')], { stdio: 'inherit' });
  if (prov.status !== 0) throw new Error('could not provision zfs-fuse and OpenSSH');
  mkdirSync(demoDir, { recursive: true, mode: 0o700 });
  const tag = randomBytes(2).toString('hex');
  const srcPool = `lbdemo${tag}src`,
    tgtPool = `lbdemo${tag}tgt`;
  const pools: string[] = [];
  const port = await freePort();
  const sshdPidFile = join(demoDir, 'sshd.pid');
  writeFileSync(statePath, JSON.stringify({ pools, sshdPidFile, port }));
  for (const [pool, mnt] of [
    [srcPool, join(demoDir, 'src')],
    [tgtPool, 'none'],
  ] as const) {
    const vdev = join(demoDir, `${pool}.img`);
    writeFileSync(vdev, '');
    sh('truncate', ['-s', '256M', vdev]);
    if (mnt !== 'none') mkdirSync(mnt, { recursive: true });
    sh('zpool', ['create', '-m', mnt, pool, vdev]);
    pools.push(pool);
    writeFileSync(statePath, JSON.stringify({ pools, sshdPidFile, port }));
  }
  sh('zfs', ['create', `${srcPool}/projects`]);
  for (let i = 0; i < 8; i++) writeFileSync(join(demoDir, 'src', 'projects', `file${i}.bin`), randomBytes(1 << 20));
  writeFileSync(join(demoDir, 'src', 'projects', 'README.txt'), 'Lifeboat demo data\n');
  say(`pools ${srcPool} (source, 8 MiB in ${srcPool}/projects) and ${tgtPool} (target) on files in ${demoDir}`);

  // A loopback sshd as the backup target, with its own host key and an authorized throwaway key.
  const kg = (f: string) => sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-demo', '-f', f]);
  kg(join(demoDir, 'host_key'));
  kg(join(demoDir, 'client_key'));
  writeFileSync(join(demoDir, 'authorized_keys'), readFileSync(join(demoDir, 'client_key.pub')), { mode: 0o600 });
  writeFileSync(
    join(demoDir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(demoDir, 'host_key')}`,
      `PidFile ${sshdPidFile}`,
      `AuthorizedKeysFile ${join(demoDir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'MaxSessions 50',
      'MaxStartups 50',
    ].join('\n') + '\n',
  );
  mkdirSync('/run/sshd', { recursive: true });
  spawn('/usr/sbin/sshd', ['-f', join(demoDir, 'sshd_config')], { stdio: 'ignore', detached: true }).unref();
  await until(
    'the demo sshd',
    () =>
      new Promise<boolean | null>((r) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          r(true);
        });
        s.once('error', () => r(null));
      }),
    15_000,
  );
  say(`sshd on 127.0.0.1:${port} (pid file ${sshdPidFile})`);

  const nodes = (await api<{ items: z.infer<typeof contract.NodeSummary>[] }>('GET', '/nodes')).items;
  if (!nodes.length) throw new Error('no node has joined: is the server running with its local runner (LIFEBOAT_LOCAL_RUNNER=1)?');
  const node = nodes[0];
  // (no wait for the node's next inventory: creating the job asks the node for a fresh one when
  // the source is not in the last report, services/jobs.ts)
  // The demo made the target's host key, so it names its fingerprint: the validation pins that key
  // and no other, without the confirmation an admin gives in the UI (README, "Adding a target").
  const hostKeyFingerprint = sh('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(demoDir, 'host_key.pub')]).split(/\s+/)[1];
  const target = await api<z.infer<typeof contract.Target>>('POST', '/targets', {
    name: `demo-target-${tag}`,
    expectedHostKeyFingerprint: hostKeyFingerprint,
    sshHost: '127.0.0.1',
    sshPort: port,
    sshUser: 'root',
    sshPrivateKey: readFileSync(join(demoDir, 'client_key'), 'utf8'),
    backupRoot: `${tgtPool}/backups`,
    createBackupRoot: true,
    description: 'loopback sshd made by npm run demo',
  });
  const v = await api<z.infer<typeof contract.Accepted>>('POST', `/targets/${target.id}/validate`, { nodeId: node.id });
  const ve = await until(
    'validation',
    async () => {
      const e = await api<LbEvent>('GET', `/events/${v.eventId}`);
      return ['queued', 'running'].includes(e.status) ? null : e;
    },
    60_000,
  );
  if (ve.status !== 'success') throw new Error(`validation failed: ${ve.error}`);
  say(`target "${target.name}" validated; host key ${hostKeyFingerprint} pinned`);
  const job = await api<z.infer<typeof contract.Job>>('POST', '/jobs', {
    name: `demo-projects-${tag}`,
    targetId: target.id,
    nodeId: node.id,
    mode: 'dataset',
    source: `${srcPool}/projects`,
    schedule: '*/15 * * * *',
    keepLast: 4,
    pruneTarget: true,
  });
  const run = await api<z.infer<typeof contract.Accepted>>('POST', `/jobs/${job.id}/run`);
  say(`job "${job.name}" created (every 15 minutes, keep 4); Run Now → event ${run.eventId}`);
  const done = await follow('the backup', run.eventId);
  if (done.status !== 'success') throw new Error(`backup ${done.status}: ${done.error}`);
  say(`backup finished: ${(done.bytesDone / 1048576).toFixed(1)} MiB sent, snapshot ${done.snapshot}`);

  // ---- restore in place: a file changed after the backup comes back with its backed-up content
  const file = join(demoDir, 'src', 'projects', 'README.txt');
  const backedUp = readFileSync(file, 'utf8');
  writeFileSync(file, 'changed after the backup\n');
  say(`changed ${file} after the backup; restoring the job in place from snapshot ${done.snapshot}`);
  const restore = await api<z.infer<typeof contract.Accepted>>('POST', `/jobs/${job.id}/restore`, {
    generation: done.generation,
    snapshot: done.snapshot,
  });
  const restored = await follow('the in-place restore', restore.eventId);
  if (restored.status !== 'success') throw new Error(`restore ${restored.status}: ${restored.error}`);
  const now = readFileSync(file, 'utf8');
  if (now !== backedUp) throw new Error(`after the restore ${file} holds ${JSON.stringify(now)}, not the backed-up content`);
  say(`restored in place: ${file} has its backed-up content again`);

  // ---- restore out of band: the backup as a new dataset beside the source
  const catalog = (await api<{ items: z.infer<typeof contract.CatalogItem>[] }>('GET', `/targets/${target.id}/datasets`)).items;
  const item = catalog.find((i) => i.jobId === job.id && i.source === `${srcPool}/projects`);
  const gen = item?.generations.find((g) => g.generation === done.generation);
  if (!item || !gen) throw new Error(`the target's catalog lists no backup of ${srcPool}/projects`);
  const destination = `${srcPool}/projects-restored`;
  const oob = await api<z.infer<typeof contract.Accepted>>('POST', '/restores', {
    targetId: target.id,
    nodeId: node.id,
    dataset: gen.dataset,
    generation: gen.generation,
    snapshot: done.snapshot,
    destination,
  });
  const landed = await follow('the out-of-band restore', oob.eventId);
  if (landed.status !== 'success') throw new Error(`out-of-band restore ${landed.status}: ${landed.error}`);
  const copy = join(sh('zfs', ['get', '-H', '-o', 'value', 'mountpoint', destination]).trim(), 'README.txt');
  if (readFileSync(copy, 'utf8') !== backedUp) throw new Error(`${copy} does not hold the backed-up content`);
  say(`restored out of band: ${destination} (mounted at ${dirname(copy)}) holds the backup`);

  const link = (id: number) => `${server}/backups/events?open=${id}`;
  say(`the backup:              ${link(run.eventId)}`);
  say(`the in-place restore:    ${link(restore.eventId)}`);
  say(`the out-of-band restore: ${link(oob.eventId)}`);
  say(`demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s. Tear down with: npm run demo -- --teardown`);
}

/** Wait for an event to end, printing its progress when it changes. */
function follow(what: string, id: number): Promise<LbEvent> {
  let last = '';
  return until(
    what,
    async () => {
      const e = await api<LbEvent>('GET', `/events/${id}`);
      const line =
        e.status === 'running'
          ? `  ${e.phase ?? ''} ${(e.bytesDone / 1048576).toFixed(1)} MiB${e.bytesTotal ? ` of ${(e.bytesTotal / 1048576).toFixed(1)} MiB` : ''}`
          : '';
      if (line && line !== last) say(line);
      last = line;
      return ['queued', 'running'].includes(e.status) ? null : e;
    },
    120_000,
  );
}

if (process.argv.includes('--teardown')) teardown();
else
  await setup().catch((e) => {
    console.error(`[demo] ${e.message}`);
    process.exit(1);
  });
