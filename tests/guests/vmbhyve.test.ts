// vm-bhyve provider against the stand-in `vm` command (tests/standins, on PATH only here) with
// vm_dir on a real zfs-fuse dataset (zfs:pool/vm), a VM with a custom zvol disk on another pool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  VmBhyveProvider,
  parseVmList,
  parseVmConf,
  updateVmConf,
  vmNetworkFromConf,
  vmNetworkToConf,
} from '../../node-runner/src/guests/vmbhyve.ts';
import { GuestError, readGuests, guestForBackup } from '../../node-runner/src/guests/index.ts';
import { createPool, run, zfs, type TestPool } from '../helpers/zfs.ts';

const STANDINS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'standins');
let dir: string;
let pool: TestPool;
let vmRoot: string;
const saved = { PATH: process.env.PATH, STATE: process.env.LIFEBOAT_STANDIN_STATE, VMDIR: process.env.LIFEBOAT_STANDIN_VM_DIR };
const state = (f: string) => join(dir, 'state', f);

const WEB_CONF = (extra = '') => `loader="uefi"
cpu=2
memory=2G
network0_type="virtio-net"
network0_switch="public"
network0_mac="58:9c:fc:0a:0b:0c"
network1_type="e1000"
network1_switch="backend"
disk0_type="virtio-blk"
disk0_name="disk0.img"
uuid="6b2f6c9a-0000-4000-8000-000000000001"
${extra}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lb-vms-'));
  await mkdir(join(dir, 'state'));
  pool = await createPool('lbgv', { mounted: true });
  await zfs('create', `${pool.name}/vm`);
  await zfs('create', `${pool.name}/vm/web`);
  await zfs('create', `${pool.name}/vm/db`);
  await zfs('create', `${pool.name}/vmdata`);
  vmRoot = join(pool.mountpoint!, 'vm');
  await mkdir(join(vmRoot, '.templates'));
  await writeFile(
    join(vmRoot, 'web', 'web.conf'),
    WEB_CONF(`disk1_type="virtio-blk"\ndisk1_dev="custom"\ndisk1_name="/dev/zvol/${pool.name}/vmdata/web-disk1"\n`),
  );
  await writeFile(join(vmRoot, 'db', 'db.conf'), 'loader="bhyveload"\ncpu=1\nmemory=512M\ndisk0_name="disk0"\ndisk0_dev="sparse-zvol"\n');
  await mkdir(join(vmRoot, 'notavm'));
  process.env.PATH = `${STANDINS}:${saved.PATH}`;
  process.env.LIFEBOAT_STANDIN_STATE = join(dir, 'state');
  process.env.LIFEBOAT_STANDIN_VM_DIR = `zfs:${pool.name}/vm`;
}, 120_000);

afterAll(async () => {
  process.env.PATH = saved.PATH;
  if (saved.STATE === undefined) delete process.env.LIFEBOAT_STANDIN_STATE;
  else process.env.LIFEBOAT_STANDIN_STATE = saved.STATE;
  if (saved.VMDIR === undefined) delete process.env.LIFEBOAT_STANDIN_VM_DIR;
  else process.env.LIFEBOAT_STANDIN_VM_DIR = saved.VMDIR;
  await pool?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

const prov = (stopTimeoutMs = 1500) => new VmBhyveProvider({ vmDir: `zfs:${pool.name}/vm`, stopTimeoutMs, startTimeoutMs: 3000 });

describe('vm-bhyve parsing', () => {
  it('parses `vm list` (column -t output) by header positions', () => {
    const out = [
      'NAME       DATASTORE  LOADER     CPU  MEMORY  VNC           AUTO     STATE',
      'alpine     default    grub       1    512M    -             No       Stopped',
      'c7         default    uefi       2    1G      0.0.0.0:5900  Yes [1]  Running (11120)',
      'winguest   default    uefi       2    4G      -             No       Locked (other-host)',
    ].join('\n');
    expect(parseVmList(out)).toEqual([
      {
        name: 'alpine',
        datastore: 'default',
        loader: 'grub',
        cpu: '1',
        memory: '512M',
        vnc: '-',
        auto: 'No',
        state: 'Stopped',
        running: false,
        pid: null,
      },
      {
        name: 'c7',
        datastore: 'default',
        loader: 'uefi',
        cpu: '2',
        memory: '1G',
        vnc: '0.0.0.0:5900',
        auto: 'Yes [1]',
        state: 'Running (11120)',
        running: true,
        pid: 11120,
      },
      {
        name: 'winguest',
        datastore: 'default',
        loader: 'uefi',
        cpu: '2',
        memory: '4G',
        vnc: '-',
        auto: 'No',
        state: 'Locked (other-host)',
        running: false,
        pid: null,
      },
    ]);
    expect(parseVmList('garbage')).toEqual([]);
  });

  it('reads and updates sysrc-style conf files, keeping other lines', () => {
    const text = '# my vm\nloader="uefi"\ncpu=2\nnetwork0_mac="aa"\n';
    expect(parseVmConf(text)).toEqual(
      new Map([
        ['loader', 'uefi'],
        ['cpu', '2'],
        ['network0_mac', 'aa'],
      ]),
    );
    expect(updateVmConf(text, { network0_mac: null, cpu: '4', network0_switch: 'p"ub$' })).toBe(
      '# my vm\nloader="uefi"\ncpu="4"\nnetwork0_switch="p\\"ub\\$"\n',
    );
    expect(parseVmConf('x="p\\"ub\\$"').get('x')).toBe('p"ub$');
  });
});

describe('stand-in vm', () => {
  it('prints vm list like vm-bhyve 1.5 (fields under their headers, two spaces apart)', async () => {
    const r = await run('vm', ['list']);
    expect(r.stdout).toBe(
      [
        'NAME  DATASTORE  LOADER     CPU  MEMORY  VNC  AUTO  STATE',
        'db    default    bhyveload  1    512M    -    No    Stopped',
        'web   default    uefi       2    2G      -    No    Stopped',
        '',
      ].join('\n'),
    );
    expect(await run('vm', ['stop', 'web'])).toMatchObject({
      code: 0,
      stderr: "/usr/local/sbin/vm: WARNING: web doesn't appear to be a running virtual machine\n",
    });
  });
});

describe('vm-bhyve provider', () => {
  it('lists VMs with roots (VM dataset + custom zvol disks), network interfaces and state', async () => {
    const list = await prov().list();
    expect(list.map((g) => g.id)).toEqual(['db', 'web']);
    const web = list[1];
    expect(web).toMatchObject({
      kind: 'vm',
      id: 'web',
      name: 'web',
      provider: 'vm-bhyve',
      running: false,
      roots: [`${pool.name}/vm/web`, `${pool.name}/vmdata/web-disk1`],
      network: {
        interfaces: [
          { type: 'virtio-net', switch: 'public', mac: '58:9c:fc:0a:0b:0c' },
          { type: 'e1000', switch: 'backend' },
        ],
      },
    });
    expect(guestForBackup(prov(), web).roots).toEqual([`${pool.name}/vm/web`, `${pool.name}/vmdata/web-disk1`]);
    expect((await readGuests({ vmDir: `zfs:${pool.name}/vm` })).map((g) => [g.id, g.running])).toEqual([
      ['db', false],
      ['web', false],
    ]);
  });

  it('starts; stops gracefully with vm stop', async () => {
    const p = prov();
    await p.start('web');
    expect(await p.isRunning('web')).toBe(true);
    await expect(p.start('web')).rejects.toMatchObject({
      code: 'start-failed',
      message: expect.stringMatching(/appears to be running already/),
    });
    await p.stop('web');
    expect(await p.isRunning('web')).toBe(false);
  });

  it('a guest ignoring the ACPI shutdown is powered off after the timeout', async () => {
    const p = prov(1000);
    await p.start('web');
    await writeFile(state('ignore-acpi-web'), '');
    const t0 = Date.now();
    await p.stop('web');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(await p.isRunning('web')).toBe(false);
    // poweroff failing too → stop-failed, still running
    await p.start('web');
    await writeFile(state('fail-poweroff-web'), '');
    const e = await p.stop('web').catch((x) => x);
    expect(e).toBeInstanceOf(GuestError);
    expect(e.code).toBe('stop-failed');
    expect(e.message).toMatch(/did not stop within 1 s of `vm stop`, and still runs after `vm poweroff -f`.*Could not power off vm: web/);
    expect(await p.isRunning('web')).toBe(true);
    await rm(state('fail-poweroff-web'));
    await rm(state('ignore-acpi-web'));
    await p.stop('web');
  }, 60_000);

  it("start failure is reported with vm-bhyve's message", async () => {
    await writeFile(state('fail-start-db'), '');
    const e = await prov()
      .start('db')
      .catch((x) => x);
    expect(e.code).toBe('start-failed');
    expect(e.message).toMatch(/incomplete virtual machine configuration/);
    await rm(state('fail-start-db'));
  });

  it('registers a restored VM under a new name (conf renamed, new uuid, network dropped, its network keys round-trip); refuses an existing name', async () => {
    const p = prov();
    // a restored copy of web, received at <vm dir>/web2
    await zfs('create', `${pool.name}/vm/web2`);
    await writeFile(join(vmRoot, 'web2', 'web.conf'), WEB_CONF());
    const err = await p
      .register({ kind: 'vm', id: 'db', name: 'db', roots: [`${pool.name}/vm/web2`], network: null, sourceId: 'web' })
      .catch((x) => x);
    expect(err.code).toBe('exists');
    expect(existsSync(join(vmRoot, 'web2', 'web.conf'))).toBe(true);
    const g = await p.register({
      kind: 'vm',
      id: 'web2',
      name: 'web2',
      roots: [`${pool.name}/vm/web2`],
      network: null,
      sourceId: 'web',
      sourceName: 'web',
    });
    expect(g).toMatchObject({ id: 'web2', roots: [`${pool.name}/vm/web2`], network: null, running: false });
    expect(existsSync(join(vmRoot, 'web2', 'web.conf'))).toBe(false);
    const conf = parseVmConf(await readFile(join(vmRoot, 'web2', 'web2.conf'), 'utf8'));
    expect(conf.get('uuid')).not.toBe('6b2f6c9a-0000-4000-8000-000000000001');
    expect(conf.get('cpu')).toBe('2');
    const web = (await p.get('web'))!;
    // the network keys round-trip through the conf writer and reader
    const text = await readFile(join(vmRoot, 'web2', 'web2.conf'), 'utf8');
    expect(vmNetworkFromConf(parseVmConf(updateVmConf(text, vmNetworkToConf(parseVmConf(text), web.network!).changes)))).toEqual(
      web.network,
    );
    // restoring under a directory that is not <vm dir>/<id> is refused
    await zfs('create', `${pool.name}/elsewhere`);
    await expect(
      p.register({ kind: 'vm', id: 'web3', name: 'web3', roots: [`${pool.name}/elsewhere`], network: null }),
    ).rejects.toMatchObject({ code: 'invalid' });
  });

  it('hostile metadata: a source name that is a path, a link out of the VM directory, injected conf lines — refused or ignored, nothing outside touched', async () => {
    const p = prov();
    await zfs('create', `${pool.name}/vm/web4`);
    const outside = join(dir, 'outside.conf'); // stands for /etc/rc.conf
    await writeFile(outside, 'keep me\n');
    const rel = `../../../../../../../../..${outside.replace(/\.conf$/, '')}`;
    for (const bad of [{ sourceName: rel }, { sourceId: rel }, { sourceName: 'web;x' }]) {
      const e = await p
        .register({ kind: 'vm', id: 'web4', name: 'web4', roots: [`${pool.name}/vm/web4`], network: null, ...bad })
        .catch((x) => x);
      expect(e.code, JSON.stringify(bad)).toBe('invalid');
      expect(e.message).toMatch(/not a valid vm-bhyve name/);
    }
    // a conf inside the restored directory that is a symlink to a file outside: not read, not removed
    const { symlink } = await import('node:fs/promises');
    await symlink(outside, join(vmRoot, 'web4', 'web.conf'));
    await expect(
      p.register({
        kind: 'vm',
        id: 'web4',
        name: 'web4',
        roots: [`${pool.name}/vm/web4`],
        network: null,
        sourceId: 'web',
        sourceName: 'web',
      }),
    ).rejects.toMatchObject({ code: 'invalid' });
    expect(await readFile(outside, 'utf8')).toBe('keep me\n');
    expect(existsSync(join(vmRoot, 'web4', 'web4.conf'))).toBe(false);
    // network values that would add lines to the conf (read by sh): refused before anything is written
    await rm(join(vmRoot, 'web4', 'web.conf'));
    await writeFile(join(vmRoot, 'web4', 'web.conf'), WEB_CONF());
    const inject = { interfaces: [{ type: 'virtio-net', switch: 'public"\nloader="grub' }] };
    await expect(
      p.checkRegister({ kind: 'vm', id: 'web4', name: 'web4', roots: [], network: inject, sourceName: 'web' }),
    ).rejects.toMatchObject({ code: 'invalid' });
    await expect(
      p.register({ kind: 'vm', id: 'web4', name: 'web4', roots: [`${pool.name}/vm/web4`], network: inject, sourceName: 'web' }),
    ).rejects.toMatchObject({ code: 'invalid' });
    expect(existsSync(join(vmRoot, 'web4', 'web4.conf'))).toBe(false);
    expect(existsSync(join(vmRoot, 'web4', 'web.conf'))).toBe(true);
    // allowed keys kept, unknown ones left out and named in the log
    const logs: string[] = [];
    await p.register({
      kind: 'vm',
      id: 'web4',
      name: 'web4',
      roots: [`${pool.name}/vm/web4`],
      network: { interfaces: [{ type: 'e1000', switch: 'lan', slot: '3' }] },
      sourceName: 'web',
      log: (l) => logs.push(l),
    });
    const conf = parseVmConf(await readFile(join(vmRoot, 'web4', 'web4.conf'), 'utf8'));
    expect([...conf.keys()].filter((k) => k.startsWith('network'))).toEqual(['network0_type', 'network0_switch']);
    expect(conf.get('loader')).toBe('uefi');
    expect(logs.join('\n')).toMatch(/not taken from the target's network metadata .*interfaces\[0\]\.slot/);
  });
});
