// The manifest provider: validation, list/status, stop/start with real processes, register (new id,
// refusing an existing one without changing the file), a registration with its network, readGuests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GuestError, ManifestProvider, readGuests } from '../../node-runner/src/guests/index.ts';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'counter-guest.mjs');
let dir: string;
let state: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lb-manifest-'));
  state = join(dir, 'state');
  await mkdir(state);
});
afterAll(async () => {
  const pidFile = join(state, 'pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(await readFile(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await rm(dir, { recursive: true, force: true });
});

async function manifest(data: unknown, name = 'm.json'): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, JSON.stringify(data));
  return p;
}

describe('manifest provider', () => {
  it('rejects an invalid manifest with a message naming the field', async () => {
    const p = await manifest({ guests: [{ kind: 'vm', id: '1', name: 'a', roots: ['not a dataset!'] }] }, 'bad.json');
    await expect(new ManifestProvider(p).list()).rejects.toThrow(/guests\[0\]\.roots/);
    const q = await manifest(
      {
        guests: [
          { kind: 'vm', id: '1', name: 'a', roots: ['t/a'] },
          { kind: 'vm', id: '1', name: 'b', roots: ['t/b'] },
        ],
      },
      'dup.json',
    );
    await expect(new ManifestProvider(q).list()).rejects.toThrow(/duplicate vm id "1"/);
    expect(await new ManifestProvider(join(dir, 'missing.json')).list()).toEqual([]);
  });

  it('lists guests with their running state from the status command; stop and start a real process', async () => {
    const counter = join(dir, 'counter');
    const journal = join(dir, 'journal');
    const p = await manifest({
      defaults: { jail: { status: [process.execPath, FIXTURE, 'status', `${dir}/{id}`] } },
      guests: [
        {
          kind: 'vm',
          id: 'web',
          name: 'Web',
          roots: ['tank/vm/web'],
          network: { mac: '02:00:00:00:00:01' },
          stop: [process.execPath, FIXTURE, 'stop', state],
          start: [process.execPath, FIXTURE, 'start', state, counter, journal],
          status: [process.execPath, FIXTURE, 'status', state],
        },
        { kind: 'jail', id: 'state', name: 'uses defaults with {id}', roots: ['tank/jails/x'] },
        { kind: 'jail', id: 'j2', name: 'no status', roots: ['tank/jails/j2'] },
      ],
    });
    const prov = new ManifestProvider(p);
    expect((await prov.list()).map((g) => [g.id, g.running])).toEqual([
      ['web', false],
      ['state', false],
      ['j2', false],
    ]);
    await prov.start('web');
    expect(await prov.isRunning('web')).toBe(true);
    expect((await prov.get('state'))!.running).toBe(true); // {id} → the same state dir
    await prov.stop('web');
    expect(await prov.isRunning('web')).toBe(false);
    await expect(prov.stop('j2')).rejects.toMatchObject({ code: 'stop-failed' });
    await expect(prov.stop('nope')).rejects.toMatchObject({ code: 'not-found' });
    expect(await readGuests({ manifest: p })).toEqual([
      {
        kind: 'vm',
        id: 'web',
        name: 'Web',
        roots: ['tank/vm/web'],
        network: { mac: '02:00:00:00:00:01' },
        running: false,
        provider: 'manifest',
      },
      {
        kind: 'jail',
        id: 'state',
        name: 'uses defaults with {id}',
        roots: ['tank/jails/x'],
        network: null,
        running: false,
        provider: 'manifest',
      },
      { kind: 'jail', id: 'j2', name: 'no status', roots: ['tank/jails/j2'], network: null, running: false, provider: 'manifest' },
    ]);
  }, 60_000);

  it('readGuests skips a failing provider (logged) and reports the others', async () => {
    const p = await manifest({ guests: [{ kind: 'vm', id: 'a', name: 'A', roots: ['t/a'] }] }, 'inv.json');
    const logs: string[] = [];
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent-bin';
    try {
      const inv = await readGuests({ manifest: p, vmDir: join(dir, 'no-vm-dir') }, (l) => logs.push(l));
      expect(inv.map((g) => g.id)).toEqual(['a']);
    } finally {
      process.env.PATH = saved;
    }
    expect(logs.join('\n')).toMatch(/provider vm-bhyve failed: vm list failed/);
  });

  it('registers a restored guest under a new id, refuses an existing id without changing anything, applies network', async () => {
    const p = await manifest(
      { guests: [{ kind: 'vm', id: '101', name: 'web', roots: ['tank/vm/web'], network: { mac: 'a' } }] },
      'reg.json',
    );
    const prov = new ManifestProvider(p);
    const before = await readFile(p, 'utf8');
    const err = await prov.register({ kind: 'vm', id: '101', name: 'web', roots: ['tank/restored/web'], network: null }).catch((e) => e);
    expect(err).toBeInstanceOf(GuestError);
    expect(err.code).toBe('exists');
    expect(await readFile(p, 'utf8')).toBe(before);
    await expect(prov.checkRegister({ kind: 'vm', id: '101', name: 'x', roots: ['a/b'], network: null })).rejects.toMatchObject({
      code: 'exists',
    });

    const g = await prov.register({
      kind: 'vm',
      id: '102',
      name: 'web (restored)',
      roots: ['tank/restored/web'],
      network: null,
      sourceId: '101',
    });
    expect(g).toMatchObject({ kind: 'vm', id: '102', roots: ['tank/restored/web'], network: null, running: false, provider: 'manifest' });
    await prov.register({
      kind: 'vm',
      id: '103',
      name: 'web 3',
      roots: ['tank/restored/web3'],
      network: { mac: '02:00:00:00:01:02', ip4: ['10.0.0.9/24'] },
      sourceId: '101',
    });
    expect((await prov.get('103'))!.network).toEqual({ mac: '02:00:00:00:01:02', ip4: ['10.0.0.9/24'] });
    const saved = JSON.parse(await readFile(p, 'utf8'));
    expect(saved.guests.map((x: { id: string }) => x.id)).toEqual(['101', '102', '103']);
    // concurrent registers of the same id: exactly one wins
    const results = await Promise.allSettled(
      [1, 2, 3].map(() => prov.register({ kind: 'jail', id: 'j9', name: 'j9', roots: ['tank/j9'], network: null })),
    );
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
  });

  it('a jail and a VM with the same id are two guests: found, stopped, started and registered by (kind, id)', async () => {
    const { findGuest, guestForBackup } = await import('../../node-runner/src/guests/index.ts');
    const marks = join(dir, 'shared-id-marks');
    await mkdir(marks, { recursive: true });
    const touch = (what: string) => [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(join(marks, what))}, '')`];
    const p = await manifest(
      {
        guests: [
          {
            kind: 'jail',
            id: '101',
            name: 'jail-101',
            roots: ['tank/jails/101'],
            stop: touch('jail-stop'),
            start: touch('jail-start'),
            status: [process.execPath, '-e', 'process.exit(0)'],
          },
          {
            kind: 'vm',
            id: '101',
            name: 'vm-101',
            roots: ['tank/vm/101'],
            stop: touch('vm-stop'),
            start: touch('vm-start'),
            status: [process.execPath, '-e', `process.exit(require('fs').existsSync(${JSON.stringify(join(marks, 'vm-stop'))}) ? 1 : 0)`],
          },
        ],
      },
      'shared-id.json',
    );
    const prov = new ManifestProvider(p);
    const vm = await findGuest([prov], 'vm', '101');
    expect(vm?.guest).toMatchObject({ kind: 'vm', name: 'vm-101', roots: ['tank/vm/101'] });
    expect((await findGuest([prov], 'jail', '101'))?.guest.name).toBe('jail-101');
    const handle = guestForBackup(vm!.provider, vm!.guest);
    expect(await handle.stop!()).toBe(true);
    expect(existsSync(join(marks, 'vm-stop'))).toBe(true);
    expect(existsSync(join(marks, 'jail-stop'))).toBe(false);
    // a VM 102 may be registered next to a jail 102, not next to another VM 102
    await prov.register({ kind: 'jail', id: '102', name: 'j', roots: ['tank/j102'], network: null });
    await prov.register({ kind: 'vm', id: '102', name: 'v', roots: ['tank/v102'], network: null });
    await expect(prov.register({ kind: 'vm', id: '102', name: 'v2', roots: ['tank/v102b'], network: null })).rejects.toMatchObject({
      code: 'exists',
    });
  });

  it('two events registering at once (each with its own provider instance) both land in the one manifest', async () => {
    const p = await manifest({ guests: [] }, 'two-events.json');
    const ids = Array.from({ length: 8 }, (_, i) => `2${i}`);
    // every event builds its own providers (providersFromConfig), as the runner does
    await Promise.all(
      ids.map((id) => new ManifestProvider(p).register({ kind: 'vm', id, name: `vm ${id}`, roots: [`tank/r/${id}`], network: null })),
    );
    const saved = JSON.parse(await readFile(p, 'utf8'));
    expect(saved.guests.map((x: { id: string }) => x.id).sort()).toEqual(ids);
  });
});

describe('OOB guest restore helpers', () => {
  it('checks, then registers a restored guest from its metadata; new id; network only when asked', async () => {
    const { checkGuestRestore, registerRestoredGuest, parseGuestMetadata, guestMetadataProps } =
      await import('../../node-runner/src/guests/index.ts');
    const p = await manifest({ guests: [{ kind: 'vm', id: '101', name: 'web', roots: ['tank/vm/web'] }] }, 'oob.json');
    const providers = [new ManifestProvider(p)];
    const meta = parseGuestMetadata(
      guestMetadataProps({
        kind: 'vm',
        id: '101',
        name: 'web',
        roots: ['tank/vm/web', 'fast/web'],
        network: { mac: 'x' },
        provider: 'manifest',
      }),
    )!;
    await expect(checkGuestRestore(providers, meta, { roots: ['tank/r/web'], restoreNetwork: true })).rejects.toMatchObject({
      code: 'exists',
    });
    await checkGuestRestore(providers, meta, { newId: '102', roots: ['tank/r/web', 'fast/r/web'], restoreNetwork: false });
    const a = await registerRestoredGuest(providers, meta, { newId: '102', roots: ['tank/r/web', 'fast/r/web'], restoreNetwork: false });
    expect(a).toMatchObject({ id: '102', name: 'web', roots: ['tank/r/web', 'fast/r/web'], network: null });
    const b = await registerRestoredGuest(providers, meta, { newId: '103', roots: ['tank/r2/web'], restoreNetwork: true });
    expect(b).toMatchObject({ id: '103', network: { mac: 'x' } });
    // a jail restored onto a node with only a manifest goes to the manifest
    const jmeta = parseGuestMetadata({ kind: 'jail', id: 'www', name: 'www', provider: 'jail' })!;
    expect((await registerRestoredGuest(providers, jmeta, { newId: 'www2', roots: ['tank/r/www2'], restoreNetwork: false })).name).toBe(
      'www2',
    );
  });
});
