// What this node has: ZFS version and capabilities, pools, datasets (guests come with the providers).
import type { RunnerRoutes } from './core/api.ts';
import { execArgv } from './core/process.ts';
import { LocalHost, Zfs } from './zfs/zfs.ts';
import { parseListH } from './zfs/parse.ts';
import { LIFEBOAT_VERSION } from '../../protocol/src/version.ts';
import { PROP, datasetRole, type DatasetRole } from '../../protocol/src/layout.ts';
import { providersFromConfig, readGuests } from './guests/index.ts';
import type { GuestsConfig } from './guests/types.ts';

/** What a node reports (POST /runner/inventory; the client checks it against the contract). */
export interface Inventory {
  zfsVersion: string | null;
  capabilities: Record<string, boolean>;
  pools: string[];
  /** Each pool's root dataset: used and available bytes (what is left for data). */
  poolSpace: { name: string; usedBytes: number; availableBytes: number }[];
  runnerVersion: string;
  /** Who would register a restored guest here (server-side restore preview). */
  guestProviders: NonNullable<RunnerRoutes['/runner/inventory']['req']['guestProviders']>;
  /** `role`: a received backup copy or a restore's leftover (protocol/src/layout.ts), hidden from the source picker. */
  datasets: {
    name: string;
    usedBytes: number | null;
    referencedBytes: number | null;
    mountpoint: string | null;
    role: DatasetRole | null;
  }[];
  guests: NonNullable<RunnerRoutes['/runner/inventory']['req']['guests']>;
}

/** `onlyPools`: report just these pools (a node that shares a ZFS host with others, or tests). */
export async function readInventory(
  onlyPools?: string[],
  guests: GuestsConfig = {},
  log: (m: string) => void = () => {},
): Promise<Inventory> {
  const zfs = new Zfs(new LocalHost());
  const caps = await zfs.capabilities();
  const pools = await execArgv(['zpool', 'list', '-H', '-o', 'name']);
  const poolNames = (pools.code === 0 ? parseListH(pools.stdout).map((r) => r[0]) : []).filter(
    (p) => !onlyPools?.length || onlyPools.includes(p),
  );
  const datasets: Inventory['datasets'] = [];
  const poolSpace: Inventory['poolSpace'] = [];
  if (poolNames.length) {
    // a pool exported or destroyed since `zpool list` (or a dataset since) is left out, not a failed report;
    // the `lifeboat:*` marks (inherited ones too) say which datasets are backup copies or restore leftovers
    const table = await zfs.get(
      poolNames,
      ['type', 'used', 'referenced', 'mountpoint', 'available', PROP.job, PROP.staging, PROP.setAside],
      {
        recursive: true,
        skipMissing: true,
      },
    );
    const n = (v: string | null | undefined) => (v != null && /^\d+$/.test(v) ? Number(v) : null);
    for (const [name, props] of table) {
      if (props.type !== 'filesystem' && props.type !== 'volume') continue;
      datasets.push({
        name,
        usedBytes: n(props.used),
        referencedBytes: n(props.referenced),
        mountpoint: props.mountpoint ?? null,
        role: datasetRole(props),
      });
      // a pool's free space as zfs sees it: its root dataset's `available` (`zpool list -p` is not in zfs-fuse)
      const used = n(props.used);
      const available = n(props.available);
      if (poolNames.includes(name) && used !== null && available !== null)
        poolSpace.push({ name, usedBytes: used, availableBytes: available });
    }
  }
  const capabilities: Record<string, boolean> = {};
  for (const [k, v] of Object.entries(caps)) if (typeof v === 'boolean') capabilities[k] = v;
  return {
    zfsVersion: caps.version ?? (caps.flavor === 'zfs-fuse' ? 'zfs-fuse 0.7' : null),
    capabilities,
    pools: poolNames.filter((p) => datasets.some((d) => d.name === p)),
    poolSpace,
    runnerVersion: LIFEBOAT_VERSION,
    guestProviders: providersFromConfig(guests).map((p) => p.name),
    datasets,
    guests: await readGuests(guests, log),
  };
}
