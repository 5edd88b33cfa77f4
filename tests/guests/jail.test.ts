// FreeBSD jail provider against the stand-in jls/jail/service commands (tests/standins, on PATH only
// here) and real zfs-fuse datasets mounted at the jails' paths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { previewGuestRestore } from '../../functions/src/services/restore-preview.ts';
import { parseJailConf, formatJailBlock } from '../../node-runner/src/guests/jailconf.ts';
import { JailProvider, parseJls, splitJlsLine } from '../../node-runner/src/guests/jail.ts';
import { GuestError, readGuests } from '../../node-runner/src/guests/index.ts';
import { createPool, run, zfs, snapshotGuids, testContext, type TestPool } from '../helpers/zfs.ts';
import { pinnedTarget, startWorld, Teardown } from '../helpers/world.ts';
import { runGuestBackup } from '../../node-runner/src/executors/guest-backup.ts';
import type { TargetSpec } from '../../node-runner/src/executors/types.ts';

const STANDINS = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'standins');
let dir: string;
let pool: TestPool;
let jailConf: string;
let confD: string;
const saved = { PATH: process.env.PATH, STATE: process.env.LIFEBOAT_STANDIN_STATE, CONF: process.env.LIFEBOAT_STANDIN_JAIL_CONF };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lb-jails-'));
  await mkdir(join(dir, 'state'));
  jailConf = join(dir, 'etc', 'jail.conf');
  confD = join(dir, 'etc', 'jail.conf.d');
  await mkdir(confD, { recursive: true });
  process.env.PATH = `${STANDINS}:${saved.PATH}`;
  process.env.LIFEBOAT_STANDIN_STATE = join(dir, 'state');
  process.env.LIFEBOAT_STANDIN_JAIL_CONF = jailConf;
  pool = await createPool('lbgj', { mounted: true });
  await zfs('create', `${pool.name}/jails`);
  await zfs('create', `${pool.name}/jails/www`);
  await zfs('create', `${pool.name}/jails/db`);
  await zfs('create', `${pool.name}/jdata`);
  const jroot = join(pool.mountpoint!, 'jails');
  await writeFile(
    jailConf,
    `# global defaults
exec.start = "/bin/sh /etc/rc";
exec.stop = "/bin/sh /etc/rc.shutdown";
exec.clean;
mount.devfs;
path = "${jroot}/$name";

www {
  host.hostname = "www.example.org";
  ip4.addr = 10.0.0.5, 10.0.0.6;   // two addresses
  zfs.dataset = "${pool.name}/jdata";
}
/* a jail without a dataset of its own */
nodata { path = "/nonexistent/nodata"; }
`,
  );
  await writeFile(
    join(confD, 'db.conf'),
    `db {\n\tpath = "${jroot}/db";\n\thost.hostname = db.example.org;\n\tvnet;\n\tvnet.interface = "epair5b";\n}\n`,
  );
}, 120_000);

afterAll(async () => {
  process.env.PATH = saved.PATH;
  if (saved.STATE === undefined) delete process.env.LIFEBOAT_STANDIN_STATE;
  else process.env.LIFEBOAT_STANDIN_STATE = saved.STATE;
  if (saved.CONF === undefined) delete process.env.LIFEBOAT_STANDIN_JAIL_CONF;
  else process.env.LIFEBOAT_STANDIN_JAIL_CONF = saved.CONF;
  await pool?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('jail.conf parser', () => {
  it('globals, wildcards, variables, +=, lists, flags, comments, quoting', () => {
    const defs = parseJailConf(
      `
      # comment
      $base = "/jails";
      exec.start = "/bin/sh /etc/rc";
      path = "$base/\${name}";
      * { allow.raw_sockets; }
      web* { exec.prestart += "echo pre"; }
      web1 {
        $ip = 10.1.1.1;
        ip4.addr = $ip, "10.1.1.2";
        exec.prestart += "echo mine";
        host.hostname = 'lit$eral';
        nopersist;
        /* block comment ; { } */
        exec.poststop = "echo \\"quoted\\" \\$HOME";
      }
      "db" { path = /srv/db; }
    `,
      '/etc/jail.conf',
    );
    expect(defs.map((d) => d.name)).toEqual(['web1', 'db']);
    const w = defs[0].params;
    expect(w.get('path')).toEqual(['/jails/web1']);
    expect(w.get('ip4.addr')).toEqual(['10.1.1.1', '10.1.1.2']);
    expect(w.get('exec.prestart')).toEqual(['echo pre', 'echo mine']);
    expect(w.get('allow.raw_sockets')).toBe(true);
    expect(w.get('persist')).toEqual(['false']);
    expect(w.get('host.hostname')).toEqual(['lit$eral']);
    expect(w.get('exec.poststop')).toEqual(['echo "quoted" $HOME']);
    expect(defs[1].params.get('path')).toEqual(['/srv/db']);
    expect(() => parseJailConf('web { path = "/x" ', 'f')).toThrow(/f:1: (missing "}"|unterminated|expected)/);
  });

  it('formatJailBlock writes what the parser reads back', () => {
    const params = new Map<string, string[] | true>([
      ['path', ['/j/a b']],
      ['ip4.addr', ['10.0.0.1', '10.0.0.2']],
      ['mount.devfs', true],
      ['exec.start', ['/bin/sh /etc/rc']],
      ['x.y', ['a"b$c']],
    ]);
    const text = formatJailBlock('a', params);
    const back = parseJailConf(text, 'x')[0].params;
    back.delete('name');
    expect(back).toEqual(params);
  });
});

describe('stand-in formats', () => {
  it('jls prints the default table and -q parameter lines like FreeBSD jls(8)', async () => {
    await run('jail', ['-f', jailConf, '-c', 'www']);
    const table = (await run('jls', [])).stdout;
    expect(table.split('\n')[0]).toBe('   JID  IP Address      Hostname                      Path');
    expect(table.split('\n')[1]).toBe(`     1  10.0.0.5        www.example.org               ${pool.mountpoint}/jails/www`);
    expect(splitJlsLine(`1 "a b" 'c"d' "" x`)).toEqual(['1', 'a b', 'c"d', '', 'x']);
    expect(parseJls((await run('jls', ['-q', 'jid', 'name', 'path'])).stdout)).toEqual([
      { jid: 1, name: 'www', path: `${pool.mountpoint}/jails/www` },
    ]);
    expect(await run('jls', ['-j', 'nope'])).toMatchObject({ code: 1, stderr: 'jls: jail "nope" not found\n' });
    expect((await run('service', ['jail', 'stop', 'www'])).stdout).toBe('Stopping jails: www.example.org.\n');
    expect((await run('service', ['jail', 'stop', 'www'])).stdout).toBe('Stopping jails:.\n');
  });
});

describe('jail provider', () => {
  const prov = () => new JailProvider({ jailConf, stopTimeoutMs: 5000, startTimeoutMs: 5000 });

  it('lists jails from jail.conf and jail.conf.d (which does not inherit jail.conf globals) with roots, network and running state', async () => {
    const list = await prov().list();
    expect(list.map((g) => g.id).sort()).toEqual(['db', 'nodata', 'www']);
    const www = list.find((g) => g.id === 'www')!;
    expect(www).toMatchObject({
      kind: 'jail',
      name: 'www',
      roots: [`${pool.name}/jails/www`, `${pool.name}/jdata`],
      running: false,
      provider: 'jail',
      network: { 'ip4.addr': ['10.0.0.5', '10.0.0.6'] },
    });
    expect(www.config).toMatchObject({ 'exec.start': ['/bin/sh /etc/rc'], 'mount.devfs': true, 'host.hostname': ['www.example.org'] });
    expect(list.find((g) => g.id === 'db')).toMatchObject({
      roots: [`${pool.name}/jails/db`],
      network: { vnet: true, 'vnet.interface': ['epair5b'] },
    });
    // no dataset → not in the inventory
    const inv = await readGuests({ jailConf });
    expect(inv.map((g) => g.id).sort()).toEqual(['db', 'www']);
  });

  it('stops and starts with service jail, checked with jls', async () => {
    const p = prov();
    await p.start('www');
    expect(await p.isRunning('www')).toBe(true);
    await p.start('db'); // defined in jail.conf.d
    expect((await p.get('db'))!.running).toBe(true);
    await p.stop('www');
    expect(await p.isRunning('www')).toBe(false);
    await p.stop('db');
  });

  it('a jail that does not start or stop is an error with what the tools printed', async () => {
    const p = prov();
    await writeFile(join(dir, 'state', 'fail-create-www'), '');
    const e1 = await p.start('www').catch((e) => e);
    expect(e1).toBeInstanceOf(GuestError);
    expect(e1.code).toBe('start-failed');
    expect(e1.message).toMatch(/cannot start jail {2}"www.example.org".*\/bin\/sh \/etc\/rc: failed/);
    await rm(join(dir, 'state', 'fail-create-www'));
    await p.start('www');
    await writeFile(join(dir, 'state', 'fail-remove-www'), '');
    const e2 = await p.stop('www').catch((e) => e);
    expect(e2.code).toBe('stop-failed');
    expect(e2.message).toMatch(/still runs after `service jail stop www`.*rc\.shutdown: failed/);
    await rm(join(dir, 'state', 'fail-remove-www'));
    await p.stop('www');
    await expect(p.start('ghost')).rejects.toMatchObject({ code: 'not-found' });
  }, 60_000);

  it('registers a restored jail under a new name in jail.conf.d; refuses an existing one; applies network', async () => {
    const p = prov();
    await zfs('create', '-o', `mountpoint=${pool.mountpoint}/restored/www2`, `${pool.name}/restored`);
    const www = (await p.get('www'))!;
    const err = await p.register({ kind: 'jail', id: 'db', name: 'db', roots: [`${pool.name}/restored`], network: null }).catch((e) => e);
    expect(err.code).toBe('exists');
    expect(await readFile(join(confD, 'db.conf'), 'utf8')).toContain('epair5b');
    const g = await p.register({
      kind: 'jail',
      id: 'www2',
      name: 'www2',
      roots: [`${pool.name}/restored`],
      network: null,
      config: www.config,
      sourceId: 'www',
    });
    expect(g).toMatchObject({ id: 'www2', roots: [`${pool.name}/restored`], network: null, running: false });
    const text = await readFile(join(confD, 'www2.conf'), 'utf8');
    expect(text).toMatch(/^# www2: registered by lifeboat-runner \(restored from jail www\); network configuration not restored/);
    expect(text).toContain(`path = ${pool.mountpoint}/restored/www2;`);
    expect(text).not.toContain('ip4.addr');
    await p.start('www2');
    expect(await p.isRunning('www2')).toBe(true);
    await p.stop('www2');
    // with a network: written, and read back as the jail's network
    await p.register({
      kind: 'jail',
      id: 'www5',
      name: 'www5',
      roots: [`${pool.name}/restored`],
      network: { 'ip4.addr': ['10.0.0.7/24'], bogus: ['x'] },
      config: www.config,
      sourceId: 'www',
    });
    const g2 = (await p.get('www5'))!;
    expect(g2.network).toEqual({ 'ip4.addr': ['10.0.0.7/24'] });
    expect(g2.config).toMatchObject({ 'exec.start': ['/bin/sh /etc/rc'] });
    await expect(p.checkRegister({ kind: 'jail', id: 'bad name', name: 'x', roots: [], network: null })).rejects.toMatchObject({
      code: 'invalid',
    });
  });

  it('hostile metadata: exec.* and mount.fstab never reach jail.conf.d; values that would add statements are refused with nothing written', async () => {
    const p = prov();
    await zfs('create', '-o', `mountpoint=${pool.mountpoint}/restored3/www3`, `${pool.name}/restored3`);
    const canary = join(dir, 'canary');
    const hostile = {
      'exec.prestart': [`touch ${canary}`],
      'exec.created': [`touch ${canary}`],
      'exec.poststart': [`touch ${canary}`],
      'exec.start': [`touch ${canary}`],
      'mount.fstab': ['/etc/fstab'],
      'host.hostname': ['www3.example.org'],
      'allow.raw_sockets': true,
    };
    // a value that would close the quote and add a statement, a parameter name that is a block: refused first
    for (const [config, network] of [
      [{ 'host.hostname': [`x"; exec.start = "touch ${canary}`] }, null],
      [{ devfs_ruleset: ['4; exec.start = x'] }, null],
      [null, { 'ip4.addr': ['10.0.0.1\n* { exec.start = "id"; }'] }],
    ] as [Record<string, unknown> | null, Record<string, unknown> | null][]) {
      await expect(p.checkRegister({ kind: 'jail', id: 'www3', name: 'www3', roots: [], network, config })).rejects.toMatchObject({
        code: 'invalid',
      });
      await expect(
        p.register({ kind: 'jail', id: 'www3', name: 'www3', roots: [`${pool.name}/restored3`], network, config }),
      ).rejects.toMatchObject({ code: 'invalid' });
      expect(existsSync(join(confD, 'www3.conf'))).toBe(false);
    }
    const logs: string[] = [];
    await p.register({
      kind: 'jail',
      id: 'www3',
      name: 'www3',
      roots: [`${pool.name}/restored3`],
      network: { 'ip4.addr': ['10.0.0.9/24'], 'exec.start': ['x'] },
      config: hostile,
      sourceId: 'www"\n* { exec.start = "id"; }',
      log: (l) => logs.push(l),
    });
    const text = await readFile(join(confD, 'www3.conf'), 'utf8');
    const [def] = parseJailConf(text, 'www3.conf');
    expect(Object.fromEntries(def.params)).toEqual({
      name: ['www3'],
      'exec.start': ['/bin/sh /etc/rc'],
      'exec.stop': ['/bin/sh /etc/rc.shutdown'],
      'exec.clean': true,
      'mount.devfs': true,
      'host.hostname': ['www3.example.org'],
      'allow.raw_sockets': true,
      'ip4.addr': ['10.0.0.9/24'],
      path: [`${pool.mountpoint}/restored3/www3`],
    });
    expect(text).not.toContain(canary);
    expect(parseJailConf(text, 'www3.conf').map((d) => d.name)).toEqual(['www3']); // no block smuggled in through the comment
    expect(logs.join('\n')).toMatch(/not taken from the target's metadata .*exec\.prestart.*mount\.fstab/);
    // the control plane's preview of this restore is the file, byte for byte (same allow-list, same writer)
    const preview = previewGuestRestore({
      meta: {
        kind: 'jail',
        id: 'www"\n* { exec.start = "id"; }',
        name: 'www',
        provider: 'jail',
        roots: ['tank/jails/www'],
        network: { 'ip4.addr': ['10.0.0.9/24'], 'exec.start': ['x'] },
        config: hostile,
      },
      newGuestId: 'www3',
      restoreNetwork: true,
      network: null,
      destination: `${pool.name}/restored3`,
      destinationPath: `${pool.mountpoint}/restored3/www3`,
      nodeProviders: ['jail'],
    });
    expect(preview).toMatchObject({ provider: 'jail', file: 'jail.conf.d/www3.conf', network: 'backup' });
    expect(preview.text).toBe(text);
  });
});

describe('jail backup with Stop Before Backup (stand-in service/jls, real zfs-fuse and sshd)', () => {
  let target: TargetSpec;
  const teardown = new Teardown();
  beforeAll(async () => {
    target = await pinnedTarget(await startWorld(teardown, { tgt: { prefix: 'lbgjt', mounted: false } }, { createBackupRoot: true }), {
      name: 't',
    });
  }, 120_000);
  afterAll(() => teardown.run(), 120_000);

  it('stops the running jail around one snapshot of its path dataset and zfs.dataset, starts it before the transfer', async () => {
    const p = new JailProvider({ jailConf, stopTimeoutMs: 5000, startTimeoutMs: 5000 });
    await p.start('www');
    const jidBefore = parseJls((await run('jls', ['-q', 'jid', 'name', 'path'])).stdout).find((j) => j.name === 'www')!.jid;
    const t = testContext(31);
    const phases: string[] = [];
    t.onProgress = (r) => {
      if (phases.at(-1) !== r.phase) phases.push(r.phase);
    };
    const res = await runGuestBackup(
      {
        target,
        job: {
          id: 31,
          name: 'www',
          mode: 'jail',
          source: 'www',
          recursive: false,
          keepLast: 0,
          pruneTarget: false,
          stopBeforeBackup: true,
          sendDecrypted: false,
        },
        generation: 1,
        nextGeneration: 2,
        forkFrom: null,
      },
      t.ctx,
      [p],
    );
    expect(phases.slice(0, 5)).toEqual(['preparing', 'stopping-guest', 'snapshotting', 'starting-guest', 'transferring']);
    expect(res.datasets.map((d) => d.source).sort()).toEqual([`${pool.name}/jails/www`, `${pool.name}/jdata`]);
    // restarted: running again, under a new JID
    const jidAfter = parseJls((await run('jls', ['-q', 'jid', 'name', 'path'])).stdout).find((j) => j.name === 'www')?.jid;
    expect(jidAfter).toBeGreaterThan(jidBefore);
    const onTarget = await snapshotGuids(`${target.backupRoot}/j31`);
    expect(onTarget.get(`${target.backupRoot}/j31/g1/${pool.name}/jails/www@${res.snapshot}`)).toBe(
      (await snapshotGuids(`${pool.name}/jails/www`)).get(`${pool.name}/jails/www@${res.snapshot}`),
    );
    expect(t.logs.join('\n')).toMatch(
      /stopping jail www \(www\)[\s\S]*jail www \(www\) stopped[\s\S]*starting jail www[\s\S]*jail www \(www\) started/,
    );
    await p.stop('www');
  }, 120_000);
});
