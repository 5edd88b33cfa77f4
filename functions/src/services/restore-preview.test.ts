// The out-of-band restore preview (restore-preview.ts): what the runner will
// register, decided by the same allow-lists (protocol/src/guest-config.ts). Table tests, no I/O.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../lib/errors.ts';
import {
  catalogGuest,
  checkNetworkInput,
  inheritedMountpoint,
  pickProvider,
  previewGuestRestore,
  type CatalogGuest,
  type GuestPreviewInput,
} from './restore-preview.ts';

const jail: CatalogGuest = {
  kind: 'jail',
  id: '7',
  name: 'www',
  provider: 'jail',
  roots: ['tank/jails/www'],
  network: { 'ip4.addr': ['192.0.2.7/24'], 'exec.poststart': ['id'] },
  config: { 'host.hostname': ['www.example.org'], 'exec.prestart': ['id'] },
};
const vm: CatalogGuest = {
  kind: 'vm',
  id: 'web',
  name: 'web',
  provider: 'vm-bhyve',
  roots: ['tank/vm/web'],
  network: { interfaces: [{ type: 'virtio-net', switch: 'public', mac: '58:9c:fc:00:00:01' }] },
  config: null,
};
const input = (o: Partial<GuestPreviewInput>): GuestPreviewInput => ({
  meta: jail,
  newGuestId: null,
  restoreNetwork: false,
  network: null,
  destination: 'tank/jails/www8',
  destinationPath: '/jails/www8',
  nodeProviders: ['jail'],
  ...o,
});

describe('previewGuestRestore', () => {
  it("a jail: the jail.conf.d file, without network unless asked, with the backup's network when asked, with yours over it", () => {
    const none = previewGuestRestore(input({ newGuestId: 'www8' }));
    expect(none).toMatchObject({
      kind: 'jail',
      id: 'www8',
      name: 'www',
      sourceId: '7',
      network: 'none',
      provider: 'jail',
      file: 'jail.conf.d/www8.conf',
      dropped: ['exec.prestart'],
    });
    expect(none.text).toBe(
      [
        '# www8: registered by lifeboat-runner (restored from jail 7); network configuration not restored',
        'www8 {',
        '\texec.start = "/bin/sh /etc/rc";',
        '\texec.stop = "/bin/sh /etc/rc.shutdown";',
        '\texec.clean;',
        '\tmount.devfs;',
        '\thost.hostname = www.example.org;',
        '\tpath = /jails/www8;',
        '}',
        '',
      ].join('\n'),
    );
    const backup = previewGuestRestore(input({ newGuestId: 'www8', restoreNetwork: true }));
    expect(backup).toMatchObject({ network: 'backup', dropped: ['exec.prestart', 'exec.poststart'] });
    expect(backup.text).toContain('\tip4.addr = 192.0.2.7/24;');
    const yours = previewGuestRestore(
      input({ newGuestId: 'www8', restoreNetwork: false, network: { 'ip4.addr': ['198.51.100.9/24'], vnet: 'new' } }),
    );
    expect(yours).toMatchObject({ network: 'yours' });
    expect(yours.text).toContain('\tip4.addr = 198.51.100.9/24;');
    expect(yours.text).toContain('\tvnet = new;');
    expect(yours.text).not.toContain('192.0.2.7');
  });

  it('a jail whose destination mountpoint is not known says so and shows where it goes', () => {
    const p = previewGuestRestore(input({ destinationPath: null }));
    expect(p.text).toContain('path = "<mountpoint of tank/jails/www8>";');
    expect(p.notes.join(' ')).toMatch(/path is the mountpoint tank\/jails\/www8 will have/);
  });

  it("a VM on vm-bhyve: the networkN_* lines that replace the restored conf's", () => {
    const p = previewGuestRestore(
      input({ meta: vm, newGuestId: 'web2', restoreNetwork: true, destination: 'tank/vm/web2', nodeProviders: ['vm-bhyve', 'manifest'] }),
    );
    expect(p).toMatchObject({
      kind: 'vm',
      id: 'web2',
      name: 'web2',
      provider: 'vm-bhyve',
      file: '<vm datastore>/web2/web2.conf',
      network: 'backup',
    });
    expect(p.text).toBe('network0_type="virtio-net"\nnetwork0_switch="public"\nnetwork0_mac="58:9c:fc:00:00:01"');
    expect(p.notes.join(' ')).toMatch(/new uuid/);
    const off = previewGuestRestore(input({ meta: vm, restoreNetwork: false, nodeProviders: ['vm-bhyve'] }));
    expect(off).toMatchObject({ network: 'none', text: '' });
  });

  it('the manifest provider: the entry as it is appended', () => {
    const p = previewGuestRestore(input({ nodeProviders: ['manifest'], newGuestId: '8', network: { 'ip4.addr': ['198.51.100.9/24'] } }));
    expect(p).toMatchObject({ provider: 'manifest', network: 'yours', id: '8', name: 'www' });
    expect(JSON.parse(p.text!)).toEqual({
      kind: 'jail',
      id: '8',
      name: 'www',
      roots: ['tank/jails/www8'],
      network: { 'ip4.addr': ['198.51.100.9/24'] },
      config: jail.config,
    });
  });

  it.each([
    ['no provider for the kind', { nodeProviders: ['vm-bhyve'] }, /no guest provider on this node can register a jail/],
    ['a node that never reported its providers', { nodeProviders: null }, /has not reported its guest providers/],
    [
      'backup metadata that does not fit',
      { meta: { ...jail, config: { 'host.hostname': ['x"; exec.start = "id'] } } },
      /the restore would fail: .*host\.hostname/,
    ],
  ] as [string, Partial<GuestPreviewInput>, RegExp][])('%s: no file, a note saying why', (_, o, note) => {
    const p = previewGuestRestore(input(o));
    expect(p.text).toBeNull();
    expect(p.notes.join(' ')).toMatch(note);
  });
});

describe("pickProvider (as the runner picks: native or manifest, the backup's first)", () => {
  it.each([
    [jail, ['jail', 'manifest'], 'jail'],
    [{ ...jail, provider: 'manifest' }, ['jail', 'manifest'], 'manifest'],
    [{ ...jail, provider: 'vm-bhyve' }, ['vm-bhyve', 'manifest'], 'manifest'], // a target cannot make a jail a VM
    [vm, ['jail'], null],
    [vm, ['manifest'], 'manifest'],
  ] as [CatalogGuest, string[], string | null][])('%# %o', (meta, providers, want) => {
    expect(pickProvider(meta, providers)).toBe(want);
  });
});

describe("checkNetworkInput (a user's own network: stricter than metadata)", () => {
  it.each([
    ['jail', { 'ip4.addr': ['198.51.100.9/24'], interface: ['em0'], ip6: 'disable' }, null],
    ['jail', { 'exec.start': ['id'] }, 'network.exec.start'],
    ['jail', { 'ip4.addr': ['10.0.0.1"; exec.start="id'] }, 'network.ip4.addr'],
    ['jail', { path: ['/'] }, 'network.path'],
    ['vm', { interfaces: [{ switch: 'public', mac: '58:9c:fc:00:00:02' }] }, null],
    ['vm', { interfaces: [{ switch: 'pub lic' }] }, 'network.interfaces.0.switch'],
    ['vm', { interfaces: [{ bootrom: 'x' }] }, 'network.interfaces[0].bootrom'],
    ['vm', { interfaces: 'em0' }, 'network.interfaces'],
    ['jail', { 'ip4.addr': ['x'.repeat(20_000)] }, 'network'], // larger than a manifest keeps: refused before its keys
  ] as ['jail' | 'vm', Record<string, unknown>, string | null][])('%s %o → %s', (kind, network, field) => {
    let err: unknown = null;
    try {
      checkNetworkInput(kind, network);
    } catch (e) {
      err = e;
    }
    if (field === null) expect(err).toBeNull();
    else {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(400);
      expect(Object.keys((err as ApiError).fields)).toEqual([field]);
    }
  });
});

describe('inheritedMountpoint', () => {
  const m = new Map<string, string | null>([
    ['tank', '/tank'],
    ['tank/jails', '/usr/jails'],
    ['tank/none', 'none'],
    ['tank/legacy', 'legacy'],
  ]);
  it.each([
    ['tank/jails/www8', '/usr/jails/www8'],
    ['tank/jails/a/b', '/usr/jails/a/b'],
    ['tank/other/x', '/tank/other/x'],
    ['tank/none/x', null],
    ['tank/legacy/x', null],
    ['other/x', null],
  ])('%s → %s', (ds, want) => expect(inheritedMountpoint(ds, m)).toBe(want));
});

describe('catalogGuest (the catalog column is untrusted)', () => {
  it.each([
    [null, null],
    [{ kind: 'zone', id: '1' }, null],
    [{ kind: 'jail' }, null],
    [
      { kind: 'jail', id: 7, name: 'www', roots: 'tank/www', network: ['x'], config: 'y' },
      { kind: 'jail', id: '7', name: 'www', provider: null, roots: ['tank/www'], network: null, config: null },
    ],
  ])('%o', (raw, want) => expect(catalogGuest(raw)).toEqual(want));
});
