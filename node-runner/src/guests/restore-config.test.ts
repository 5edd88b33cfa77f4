// The allow-lists a guest restore applies to the target's metadata (protocol/src/guest-config.ts), as the runner applies them (node-runner/src/guests/restore-config.ts: a misfit is a GuestError).
import { describe, expect, it } from 'vitest';
import { checkManifestMetadata, jailParamsFromMetadata, vmNicSettingsFromMetadata, VM_BHYVE_NAME } from './restore-config.ts';
import { formatJailBlock, parseJailConf } from './jailconf.ts';

describe('jailParamsFromMetadata', () => {
  it('keeps the allow-listed settings and network, drops commands, fstab, paths and anything unknown', () => {
    const { params, dropped } = jailParamsFromMetadata(
      {
        'host.hostname': ['www.example.org'],
        'mount.devfs': true,
        devfs_ruleset: ['5'],
        'allow.raw_sockets': true,
        'allow.mount.zfs': ['1'],
        enforce_statfs: 1,
        persist: true,
        'exec.start': ['/bin/sh /etc/rc'],
        'exec.prestart': ['touch /tmp/pwned'],
        'exec.created': ['id'],
        'mount.fstab': ['/etc/fstab.www'],
        path: ['/'],
        'zfs.dataset': ['tank/other'],
        $evil: ['x'],
        'exec.poststart': ['sh'],
        mount: ['x'],
      },
      {
        'ip4.addr': ['em0|192.0.2.5/24', '192.0.2.6'],
        'ip6.addr': ['2001:db8::5/64'],
        vnet: true,
        'vnet.interface': ['epair5b'],
        bogus: ['x'],
      },
    );
    expect(Object.fromEntries(params)).toEqual({
      'host.hostname': ['www.example.org'],
      'mount.devfs': true,
      devfs_ruleset: ['5'],
      'allow.raw_sockets': true,
      'allow.mount.zfs': ['1'],
      enforce_statfs: ['1'],
      persist: true,
      'ip4.addr': ['em0|192.0.2.5/24', '192.0.2.6'],
      'ip6.addr': ['2001:db8::5/64'],
      vnet: true,
      'vnet.interface': ['epair5b'],
    });
    expect(dropped.sort()).toEqual([
      '$evil',
      'bogus',
      'exec.created',
      'exec.poststart',
      'exec.prestart',
      'exec.start',
      'mount',
      'mount.fstab',
      'path',
      'zfs.dataset',
    ]);
  });

  it.each([
    ['a host name that ends the statement', { 'host.hostname': ['x"; exec.start = "id'] }, null],
    ['a host name with a line break', { 'host.hostname': ['a\nexec.start = id;'] }, null],
    ['two host names', { 'host.hostname': ['a', 'b'] }, null],
    ['a ruleset that is not a number', { devfs_ruleset: ['5; exec.start=id'] }, null],
    ['enforce_statfs out of range', { enforce_statfs: ['7'] }, null],
    ['an allow.* that is not a boolean', { 'allow.raw_sockets': ['yes please'] }, null],
    ['an object value', { 'host.hostname': { a: 1 } }, null],
    ['an address that is not one', null, { 'ip4.addr': ['10.0.0.1; exec.start = "id"'] }],
    ['an interface name with a space', null, { interface: ['em0 x'] }],
    ['vnet = yes', null, { vnet: ['yes'] }],
  ])('refuses %s, naming the parameter', (_n, config, network) => {
    expect(() => jailParamsFromMetadata(config as Record<string, unknown> | null, network as Record<string, unknown> | null)).toThrow(
      /metadata from the target: .* is not .*nothing was registered/,
    );
  });

  it('what it keeps, written and read back, is exactly those parameters (no statement smuggled in)', () => {
    const nasty = { 'host.hostname': ['www.example.org'], 'allow.mount': true, 'exec.start': ['x'] };
    const { params } = jailParamsFromMetadata(nasty, { 'ip4.addr': ['192.0.2.1'] });
    const [def] = parseJailConf(formatJailBlock('www2', params), 'www2.conf');
    expect([...def.params.keys()].sort()).toEqual(['allow.mount', 'host.hostname', 'ip4.addr', 'name']);
  });

  it('formatJailBlock refuses a parameter name that could end the statement', () => {
    expect(() => formatJailBlock('j', { 'a = b; exec.start': ['x'] })).toThrow(/not a jail parameter name/);
    expect(() => formatJailBlock('j', { '* {': true })).toThrow(/not a jail parameter name/);
  });
});

describe('vmNicSettingsFromMetadata', () => {
  it('keeps type, switch, mac, device and span per interface; names the rest', () => {
    expect(
      vmNicSettingsFromMetadata({
        interfaces: [
          { type: 'virtio-net', switch: 'public', mac: '58:9c:fc:00:00:01', slot: 7 },
          { type: 'e1000', device: 'tap3' },
        ],
        extra: 1,
      }),
    ).toEqual({
      settings: {
        network0_type: 'virtio-net',
        network0_switch: 'public',
        network0_mac: '58:9c:fc:00:00:01',
        network1_type: 'e1000',
        network1_device: 'tap3',
      },
      dropped: ['extra', 'interfaces[0].slot'],
    });
    expect(vmNicSettingsFromMetadata(null)).toEqual({ settings: {}, dropped: [] });
  });
  it.each([
    ['a switch with a line break', { interfaces: [{ switch: 'public"\nloader="grub' }] }],
    ['a switch with $( )', { interfaces: [{ switch: '$(id)' }] }],
    ['a bad MAC', { interfaces: [{ mac: 'zz:00:00:00:00:00' }] }],
    ['an unknown type', { interfaces: [{ type: 'virtio-net; rm -rf /' }] }],
    ['interfaces that are not a list', { interfaces: 'x' }],
    ['an interface that is not an object', { interfaces: ['x'] }],
  ])('refuses %s', (_n, network) => {
    expect(() => vmNicSettingsFromMetadata(network as Record<string, unknown>)).toThrow(/nothing was registered/);
  });
  it('vm-bhyve names: no path separators, no dot-dot, no leading dash', () => {
    for (const ok of ['web', 'web-2', 'a.b_c', 'db01']) expect(VM_BHYVE_NAME.test(ok)).toBe(true);
    for (const bad of ['../../../etc/rc', '..', 'a/b', '-x', 'x-', 'a b', '', 'a'.repeat(49)]) expect(VM_BHYVE_NAME.test(bad)).toBe(false);
  });
});

describe('checkManifestMetadata', () => {
  it('accepts ordinary ids, names and metadata', () => {
    expect(() => checkManifestMetadata('101', 'web (restored)', { mac: '58:9c:fc:00:00:01' }, null)).not.toThrow();
  });
  it.each([
    ['an id with a slash', '../101', 'web', null, null],
    ['a name that is an option', '101', '--exec=/bin/sh', null, null],
    ['a name with a line break', '101', 'web\nx', null, null],
    ['huge network metadata', '101', 'web', { blob: 'x'.repeat(20_000) }, null],
    ['huge config metadata', '101', 'web', null, { blob: 'x'.repeat(20_000) }],
  ])('refuses %s', (_n, id, name, network, config) => {
    expect(() => checkManifestMetadata(id, name, network, config)).toThrow(/guest/);
  });
});
