// The OpenZFS tier's smoke test: the VM handle (tests/helpers/openzfs-vm.ts) against the real
// OpenZFS 2.3 guest, and a runner in the guest joined to a control plane on the host.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFaultServer, type FaultServer } from '../faults/fixture.ts';
import { openzfsVm, type GuestPool, type GuestRunner, type OpenZfsVm } from '../helpers/openzfs-vm.ts';
import { run } from '../helpers/zfs.ts';

let vm: OpenZfsVm;
beforeAll(async () => {
  vm = await openzfsVm();
});
afterAll(async () => {
  await vm?.close();
});

test('the guest runs the OpenZFS 2.3 kernel module (not zfs-fuse)', async () => {
  const version = await vm.zfs('version');
  expect(version).toMatch(/^zfs-2\.3\.\d+/m);
  expect(version).toMatch(/^zfs-kmod-2\.3\.\d+/m);
  expect((await vm.must(['cat', '/sys/module/zfs/version'])).trim()).toBe(vm.info.zfsVersion);
  expect((await vm.exec(['test', '-c', '/dev/zfs'])).code).toBe(0);
  expect((await vm.sh('command -v zfs-fuse')).code).not.toBe(0);
});

test('exec quotes every argument for the remote shell and feeds stdin', async () => {
  const r = await vm.exec(['printf', '%s|', 'a b', "it's", '$HOME', '`id`', '']);
  expect(r).toEqual({ code: 0, stdout: "a b|it's|$HOME|`id`||", stderr: '' });
  expect(await vm.must(['cat'], { input: 'from the host\n' })).toBe('from the host\n');
  expect((await vm.sh('exit 7')).code).toBe(7);
  await expect(vm.must(['false'])).rejects.toThrow(/false failed \(1\)/);
});

test('a pool on a sparse file vdev: create, write, snapshot, destroy', async () => {
  const pool = await vm.createPool('lbsmoke');
  try {
    expect((await vm.zpool('list', '-H', '-o', 'name')).split('\n')).toContain(pool.name);
    expect(pool.mountpoint).toBe(`/mnt/${pool.name}`);
    await vm.zfs('create', `${pool.name}/data`);
    const file = `${pool.mountpoint}/data/blob`;
    await vm.writeRandom(file, 1 << 20);
    expect((await vm.must(['stat', '-c', '%s', file])).trim()).toBe(String(1 << 20));
    const sum = await vm.sha256(file);
    expect(sum).toMatch(/^[0-9a-f]{64}$/);
    await vm.zfs('snapshot', `${pool.name}/data@s1`);
    const guids = await vm.snapshotGuids(pool.name);
    expect([...guids.keys()]).toEqual([`${pool.name}/data@s1`]);
    expect(guids.get(`${pool.name}/data@s1`)).toMatch(/^\d+$/);
    expect(await vm.listAll(pool.name)).toEqual([pool.name, `${pool.name}/data`, `${pool.name}/data@s1`]);
  } finally {
    await pool.destroy();
  }
  expect((await vm.zpool('list', '-H', '-o', 'name')).split('\n')).not.toContain(pool.name);
  expect((await vm.exec(['test', '-e', pool.file])).code).not.toBe(0);
});

test('a key a test makes logs in as lbtarget (shell sh) until it is removed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lb-ozvm-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-openzfs-test', '-f', join(dir, 'key')]);
    const pub = readFileSync(join(dir, 'key.pub'), 'utf8').trim();
    const asTarget = (cmd: string) =>
      run('ssh', [
        '-F',
        '/dev/null',
        '-i',
        join(dir, 'key'),
        '-p',
        String(vm.info.port),
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'BatchMode=yes',
        '-o',
        `UserKnownHostsFile=${vm.info.knownHosts}`,
        '-o',
        'StrictHostKeyChecking=yes',
        'lbtarget@127.0.0.1',
        cmd,
      ]);
    expect((await asTarget('true')).code).toBe(255);
    await vm.addAuthorizedKey('lbtarget', pub);
    await vm.addAuthorizedKey('lbtarget', pub); // once only
    expect((await vm.must(['grep', '-cxF', pub, '/home/lbtarget/.ssh/authorized_keys'])).trim()).toBe('1');
    const who = await asTarget('id -un; echo "$0"');
    expect(who.stdout.split('\n').slice(0, 2), who.stderr).toEqual(['lbtarget', 'sh']);
    await vm.removeAuthorizedKey('lbtarget', pub);
    expect((await asTarget('true')).code).toBe(255);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the runner bundle runs in the guest on this host's node binary", async () => {
  const { node, bundle } = await vm.installRunner();
  expect((await vm.must([node, '--version'])).trim()).toBe(process.version);
  const help = await vm.exec([node, bundle, '--help']);
  expect(help.code, help.stderr).toBe(0);
  expect(help.stdout).toMatch(/usage: lifeboat-runner/);
  await expect(vm.installRunner()).resolves.toEqual({ node, bundle }); // cached: a marker check
});

describe('a runner in the guest, the control plane on the host', () => {
  let srv: FaultServer;
  let pool: GuestPool;
  let runner: GuestRunner | undefined;
  beforeAll(async () => {
    srv = await startFaultServer({ LIFEBOAT_LOCAL_RUNNER: '0' });
    pool = await vm.createPool('lbsmokerun');
    await vm.zfs('create', `${pool.name}/data`);
  });
  afterAll(async () => {
    await runner?.stop();
    await pool?.destroy();
    await srv?.stop();
  });

  test('joins through the reverse tunnel and reports the pool and the OpenZFS capabilities', async () => {
    runner = await vm.startRunner(srv, 'ozvm-smoke', [pool.name]);
    const node = (await srv.api('GET', '/nodes')).body.items.find((n) => n.id === runner!.nodeId)!;
    expect(node.pools).toEqual([pool.name]);
    expect(node.zfsVersion).toMatch(/^zfs-2\.3\./);
    // every optional feature the runner detects is there on OpenZFS 2.3 (usage text parsed right)
    expect(Object.entries(node.capabilities!).filter(([, v]) => typeof v === 'boolean' && !v)).toEqual([]);
    const detail = (await srv.api('GET', `/nodes/${runner.nodeId}`)).body;
    expect(detail.datasets.map((d) => d.name)).toEqual([pool.name, `${pool.name}/data`]);

    // the runner is a guest process the tests can find and signal by PID
    const pid = runner.pid()!;
    const proc = (await vm.processes()).find((p) => p.pid === pid);
    expect(proc?.args).toContain('lifeboat-runner.mjs');
    expect(proc?.args).toContain(runner.stateDir);
  });

  test('a SIGKILLed runner reports SIGKILL; a restart keeps its node; stop ends it by SIGTERM', async () => {
    expect(runner, 'the runner of the previous test').toBeDefined();
    const r = runner!;
    await vm.kill(r.pid()!, 'KILL');
    expect(await r.exited()).toBe('SIGKILL');
    await r.restart();
    const nodes = (await srv.api('GET', '/nodes')).body.items.filter((n) => n.name === 'ozvm-smoke');
    expect(nodes.map((n) => n.id)).toEqual([r.nodeId]);
    await r.stop();
    expect(await r.exited()).toBe('0');
    expect((await vm.exec(['test', '-e', r.stateDir])).code).not.toBe(0);
    runner = undefined;
  });
});
