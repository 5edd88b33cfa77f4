// Guest metadata as ZFS user properties: encoding, chunking past the property length limit,
// parsing from raw properties and from the catalog's parsed object; a real zfs set/get round trip.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestMetadataProps, parseGuestMetadata, GUEST_PROP_MAX_BYTES } from '../../node-runner/src/guests/metadata.ts';
import { catalogFromTree } from '../../node-runner/src/executors/browse.ts';
import { LocalHost, Zfs } from '../../node-runner/src/zfs/index.ts';
import type { DatasetInfo } from '../../node-runner/src/zfs/zfs.ts';
import { createPool, zfs, type TestPool } from '../helpers/zfs.ts';

const vm = {
  kind: 'vm' as const,
  id: '101',
  name: 'web',
  roots: ['tank/vm/web', 'fast/vm/web-data'],
  network: { interfaces: [{ type: 'virtio-net', mac: '58:9c:fc:00:00:01', switch: 'public' }] },
  provider: 'vm-bhyve',
};

/** A received backup dataset as the runner lists it on a target (job 1, generation 1). */
const backupDataset: DatasetInfo = {
  name: 'b/j1/g1/zroot/x',
  type: 'filesystem',
  guid: '1',
  used: 0,
  referenced: 0,
  origin: null,
  job: 1,
  generation: 1,
  source: 'zroot/x',
  props: {},
  snapshots: [],
  bookmarks: [],
};
/** What GET /targets/:id/datasets would carry for a dataset with these properties. */
const viaCatalog = (props: Record<string, string>) => catalogFromTree([backupDataset], new Map([['b/j1/g1/zroot/x', props]]))[0].guest;

describe('guestMetadataProps', () => {
  it('writes kind, id (CT ID / RID), name, provider, roots, pools, base pool and network as JSON values', () => {
    const p = guestMetadataProps(vm);
    expect(p).toEqual({
      'lifeboat:guest:kind': '"vm"',
      'lifeboat:guest:id': '"101"',
      'lifeboat:guest:name': '"web"',
      'lifeboat:guest:provider': '"vm-bhyve"',
      'lifeboat:guest:roots': '["tank/vm/web","fast/vm/web-data"]',
      'lifeboat:guest:pools': '["tank","fast"]',
      'lifeboat:guest:basepool': '"tank"',
      'lifeboat:guest:network': JSON.stringify(vm.network),
    });
    // property names are valid ZFS user property names (lowercase, contain ':')
    for (const k of Object.keys(p)) expect(k).toMatch(/^[a-z0-9:._-]+$/);
  });

  it('round-trips through raw properties and through the browse catalog (ids stay strings)', () => {
    const j = {
      kind: 'jail' as const,
      id: '007',
      name: '123',
      roots: ['zroot/jails/a'],
      network: { 'ip4.addr': ['10.0.0.5/24'], vnet: true },
      config: { 'exec.start': ['/bin/sh /etc/rc'], 'mount.devfs': true },
    };
    const raw = guestMetadataProps(j);
    const expected = {
      kind: 'jail',
      id: '007',
      name: '123',
      provider: null,
      roots: ['zroot/jails/a'],
      pools: ['zroot'],
      basePool: 'zroot',
      network: j.network,
      config: j.config,
    };
    expect(parseGuestMetadata(raw)).toEqual(expected);
    expect(viaCatalog(raw)).toEqual(expected);
  });

  it('splits a network value longer than the property limit into chunks and joins them again', () => {
    const big = {
      interfaces: Array.from({ length: 400 }, (_, i) => ({
        type: 'virtio-net',
        mac: `58:9c:fc:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        note: 'ünïcödé "quoted" \\ 😀',
      })),
    };
    const p = guestMetadataProps({ ...vm, network: big });
    expect(p['lifeboat:guest:network']).toBeUndefined();
    const n = Number(JSON.parse(p['lifeboat:guest:network:chunks']));
    expect(n).toBeGreaterThan(2);
    for (const [, v] of Object.entries(p)) expect(Buffer.byteLength(v)).toBeLessThanOrEqual(GUEST_PROP_MAX_BYTES);
    expect(parseGuestMetadata(p)!.network).toEqual(big);
    expect(viaCatalog(p)!.network).toEqual(big);
  });

  it('parses hand-set or older plain values and rejects what is not a guest', () => {
    expect(parseGuestMetadata({ 'lifeboat:guest:kind': 'vm', 'lifeboat:guest:name': 'web', 'lifeboat:guest:id': '101' })).toEqual({
      kind: 'vm',
      id: '101',
      name: 'web',
      provider: null,
      roots: [],
      pools: [],
      basePool: null,
      network: null,
      config: null,
    });
    expect(parseGuestMetadata({ kind: 'vm', name: 'web', id: 101 })!.id).toBe('101');
    expect(parseGuestMetadata({ kind: 'container', id: '1' })).toBeNull();
    expect(parseGuestMetadata({ kind: 'vm' })).toBeNull();
    expect(parseGuestMetadata(null)).toBeNull();
    // a broken chunk set gives no network rather than garbage
    expect(parseGuestMetadata({ kind: 'vm', id: '1', 'network:chunks': 2, 'network:0': '{"a"' })!.network).toBeNull();
  });
});

describe('guest metadata on real ZFS (zfs-fuse)', () => {
  let pool: TestPool;
  beforeAll(async () => {
    pool = await createPool('lbgm', { mounted: false });
  }, 120_000);
  afterAll(async () => {
    await pool?.destroy();
  }, 120_000);

  it('zfs set accepts every property (chunks included) and zfs get returns them intact', async () => {
    const ds = `${pool.name}/g`;
    await zfs('create', ds);
    const big = {
      interfaces: Array.from({ length: 300 }, (_, i) => ({
        mac: `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
        ip4: [`10.0.${i >> 8}.${i & 255}/24`],
      })),
    };
    const props = guestMetadataProps({ ...vm, roots: [`${pool.name}/vm/web`, 'other/web-data'], network: big });
    await new Zfs(new LocalHost()).set(ds, props);
    const out = await zfs('get', '-Hp', '-s', 'local', '-o', 'property,value', 'all', ds);
    const raw: Record<string, string> = {};
    for (const line of out.split('\n')) {
      const [k, v] = line.split('\t');
      if (k?.startsWith('lifeboat:guest')) raw[k] = v;
    }
    expect(raw).toEqual(props);
    expect(parseGuestMetadata(raw)).toMatchObject({
      kind: 'vm',
      id: '101',
      pools: [pool.name, 'other'],
      basePool: pool.name,
      network: big,
    });
  }, 120_000);
});
