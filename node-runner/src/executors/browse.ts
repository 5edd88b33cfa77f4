// Read a target's catalog under its backup root: datasets, lifeboat:* properties, snapshots.
import { jobRoot } from '../../../protocol/src/layout.ts';
import { SshSession } from '../ssh/index.ts';
import { Zfs, type DatasetInfo } from '../zfs/index.ts';
import { parseGetHp } from '../zfs/parse.ts';
import { ExecError, type CatalogDataset, type ExecContext, type TargetSpec } from './types.ts';
import { GUEST_PROP, parseGuestMetadata } from '../guests/metadata.ts';

const GUEST_PROP_PREFIX = GUEST_PROP;

export function catalogFromTree(tree: DatasetInfo[], guestProps: Map<string, Record<string, string | null>> = new Map()): CatalogDataset[] {
  return tree
    .filter((d) => d.source !== null && d.job !== null) // received backup datasets, not the j<id>/g<n> scaffolding
    .map((d) => ({
      dataset: d.name,
      jobId: d.job,
      generation: d.generation,
      source: d.source,
      // chunked values rejoined, basePool and pools filled in (guests/metadata.ts)
      guest: parseGuestMetadata(guestProps.get(d.name) ?? {}) as Record<string, unknown> | null,
      snapshots: d.snapshots.map((s) => ({
        name: s.name,
        guid: s.guid,
        createtxg: s.createtxg.toString(),
        createdAt: new Date(s.creation * 1000).toISOString(),
        usedBytes: s.used,
        referencedBytes: s.referenced,
        jobId: s.job,
        generation: s.generation,
      })),
    }));
}

/**
 * Catalog of `root` (or of one job's subtree `root/j<jobId>`) through an open zfs adapter.
 * `guestMetadata: false` (a dataset job's own catalog) skips reading the `lifeboat:guest*`
 * properties, which only guest jobs set: one `zfs get all` less per run.
 */
export async function readCatalog(
  zfs: Zfs,
  backupRoot: string,
  jobId?: number,
  opts: { guestMetadata?: boolean } = {},
): Promise<CatalogDataset[]> {
  const base = jobId === undefined ? backupRoot : jobRoot(backupRoot, jobId);
  const tree = await zfs.treeIfExists(base, true);
  if (!tree.length) {
    if (jobId === undefined) throw new ExecError('target-not-ready', `backup root ${backupRoot} does not exist on ${zfs.host.label}`);
    return [];
  }
  if (opts.guestMetadata === false) return catalogFromTree(tree, new Map());
  // guest metadata: every locally set / received property, filtered to lifeboat:guest*
  const local = parseGetHp(
    await zfs.run(['get', '-Hp', '-r', '-s', 'local,received', '-o', 'name,property,value', 'all', base], `zfs get all ${base}`),
  );
  const guest = new Map<string, Record<string, string | null>>();
  for (const [name, props] of local) {
    if (name.includes('@') || name.includes('#')) continue;
    const g = Object.fromEntries(Object.entries(props).filter(([k]) => k.startsWith(GUEST_PROP_PREFIX)));
    if (Object.keys(g).length) guest.set(name, g);
  }
  return catalogFromTree(tree, guest);
}

/** Browse a target: connect with the pinned host key and read the whole catalog under its backup root. */
export async function browseTarget(target: TargetSpec, ctx: ExecContext): Promise<CatalogDataset[]> {
  ctx.progress({ phase: 'preparing' });
  const session = await SshSession.open(target, { signal: ctx.signal, onConnectRetry: (l) => ctx.log(l, 'warn') });
  try {
    const zfs = new Zfs(session, ctx.signal);
    await zfs.capabilities();
    const items = await readCatalog(zfs, target.backupRoot);
    ctx.log(
      `catalog of ${target.backupRoot}: ${items.length} dataset(s), ${items.reduce((n, d) => n + d.snapshots.length, 0)} snapshot(s)`,
    );
    return items;
  } finally {
    await session.close();
  }
}
