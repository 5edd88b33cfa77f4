// Where the chosen snapshot tree is on the target (restore.ts): found by GUID under the job root (or
// the whole backup root), grouped by local destination, parents first. Reads the target only:
// locate() does the reads, the decisions are pure functions over the listings, tested table-driven
// beside it (restore-locate.test.ts).
import { jobRoot } from '../../../protocol/src/layout.ts';
import { isSameOrDescendant, isValidSnapshotName, type DatasetInfo, type SnapshotInfo, type Zfs } from '../zfs/index.ts';
import { cmp, depth } from './restore-local.ts';
import type { Item, RestoreSpec } from './restore-types.ts';
import { ExecError } from './types.ts';

export interface Located {
  name: string;
  generation: number | null;
  groups: { destination: string; items: Item[] }[];
  /**
   * Snapshots named like the chosen one, in a group's tree, left out because their tags say another
   * job or generation (or none): restoring them would be a guess, so they are reported instead.
   */
  leftOut: string[];
}

/** What of a restore's spec locating reads. */
export type LocateSpec = Pick<RestoreSpec, 'kind' | 'jobId' | 'guid' | 'hint' | 'roots' | 'destination' | 'recursive'> & {
  target: Pick<RestoreSpec['target'], 'backupRoot'>;
};

/** Where to look: a job root (`jobId` set) or the whole backup root. */
export interface SearchScope {
  jobId: number | null;
  root: string;
}

/** The reads locate() does on the target. */
export type TargetReader = Pick<Zfs, 'exists' | 'tree'>;

/** locate()'s answer: the groups, and the listing they were found in (each dataset's whole snapshot chain, for incremental restores). */
export type LocatedTree = Located & { tree: DatasetInfo[] };

export async function locate(remote: TargetReader, spec: LocateSpec): Promise<LocatedTree> {
  const jobRootExists = spec.jobId !== null && (await remote.exists(jobRoot(spec.target.backupRoot, spec.jobId)));
  let scope = searchScope(spec, jobRootExists);
  let tree = await remote.tree(scope.root, true);
  const root = findRootSnapshot(spec, scope, tree);
  const narrowed = narrowedScope(spec, scope, root);
  if (narrowed && (await remote.exists(narrowed.root))) {
    scope = narrowed;
    tree = await remote.tree(scope.root, true);
  }
  return { ...groupSnapshotTree(spec, scope, tree, root), tree };
}

/** The job root when the spec names a job whose root exists, else the whole backup root (not allowed for a job restore). */
export function searchScope(spec: LocateSpec, jobRootExists: boolean): SearchScope {
  const backupRoot = spec.target.backupRoot;
  if (spec.jobId !== null && jobRootExists) return { jobId: spec.jobId, root: jobRoot(backupRoot, spec.jobId) };
  if (spec.kind === 'job') throw new ExecError('source-state', `${jobRoot(backupRoot, spec.jobId!)} does not exist on the target`);
  return { jobId: spec.jobId, root: backupRoot };
}

/**
 * The chosen snapshot in `tree` (the listing of `scope.root`) by GUID; the hint picks among several
 * with that GUID. A job restore accepts only a snapshot tagged with its job; the name must be usable.
 */
export function findRootSnapshot(spec: LocateSpec, scope: SearchScope, tree: DatasetInfo[]): SnapshotInfo {
  const matches = tree.flatMap((d) => d.snapshots).filter((s) => s.guid === spec.guid);
  const root = matches.find((s) => s.dataset === spec.hint) ?? matches[0];
  if (!root) throw new ExecError('source-state', `no snapshot with GUID ${spec.guid} under ${scope.root} on the target (pruned or moved?)`);
  if (spec.kind === 'job' && root.job !== spec.jobId) {
    throw new ExecError(
      'source-state',
      `${root.full} (GUID ${spec.guid}) is not a snapshot of job ${spec.jobId} (lifeboat:job=${root.job ?? 'unset'})`,
    );
  }
  if (!isValidSnapshotName(root.name)) throw new ExecError('zfs', `unusable snapshot name ${JSON.stringify(root.name)} on the target`);
  return root;
}

/**
 * After a search of the whole backup root without a job: the job root of the snapshot's job, to
 * search again when it exists (its layout gives each dataset's source path). Null: keep the scope.
 * The job tag is read from the target (untrusted): it counts only for a snapshot that lives under
 * that job's root, so a stray tag cannot point the search at another job's tree.
 */
export function narrowedScope(spec: LocateSpec, scope: SearchScope, root: SnapshotInfo): SearchScope | null {
  if (scope.jobId !== null || root.job === null || scope.root !== spec.target.backupRoot) return null;
  const narrowed = jobRoot(spec.target.backupRoot, root.job);
  return isSameOrDescendant(root.dataset, narrowed) ? { jobId: root.job, root: narrowed } : null;
}

/**
 * The snapshot tree of `root` in `tree` (the listing of `scope.root`), one group per destination
 * (each of spec.roots onto itself, else the root's tree onto spec.destination), parents first.
 * Members are the snapshots named like `root` (tagged with the scope's job and the root's generation,
 * where known) whose dataset's key is a group's or, recursive, below it. The key is the source path
 * under the job layout (not the generation: a promote moves snapshots into a later generation's
 * dataset), else the dataset name.
 */
export function groupSnapshotTree(spec: LocateSpec, scope: SearchScope, tree: DatasetInfo[], root: SnapshotInfo): Located {
  const jobId = scope.jobId;
  const layoutRoot =
    jobId !== null && isSameOrDescendant(root.dataset, jobRoot(spec.target.backupRoot, jobId))
      ? jobRoot(spec.target.backupRoot, jobId)
      : null;
  // logical key of a target dataset: its source path under the job layout (j<id>/g<n>/<source>), else its path
  const keyOf = (ds: string): string | null => {
    if (!layoutRoot) return ds;
    const m = /^g\d+\/(.+)$/.exec(ds.slice(layoutRoot.length + 1));
    return m ? m[1] : null;
  };
  const rootKey = keyOf(root.dataset);
  if (rootKey === null) throw new ExecError('zfs', `${root.dataset} is not laid out as <backupRoot>/j<job>/g<generation>/<source>`);
  const named = tree.flatMap((d) => d.snapshots).filter((s) => s.name === root.name && s.guid !== '' && keyOf(s.dataset) !== null);
  const tagged = (s: SnapshotInfo) => (jobId === null || s.job === jobId) && (root.generation === null || s.generation === root.generation);
  const candidates = named.filter(tagged);

  const groupRoots: { key: string; destination: string }[] = spec.roots
    ? spec.roots.map((r) => ({ key: r, destination: r }))
    : [{ key: rootKey, destination: spec.destination! }];
  if (spec.roots && !spec.roots.some((r) => isSameOrDescendant(rootKey, r))) {
    throw new ExecError('source-state', `${root.full} is a backup of ${rootKey}, not of ${spec.roots.join(', ')}`);
  }
  const groups: Located['groups'] = [];
  for (const g of groupRoots) {
    const byKey = new Map<string, SnapshotInfo>();
    for (const s of candidates) {
      const k = keyOf(s.dataset)!;
      if (!(k === g.key || (spec.recursive && k.startsWith(g.key + '/')))) continue;
      const prev = byKey.get(k);
      if (prev && prev.guid !== s.guid) {
        // two different snapshots with this name for one key: only the one chosen by GUID may win
        const keep = [prev, s].find((x) => x.full === root.full);
        if (!keep) throw new ExecError('zfs', `ambiguous: both ${prev.full} and ${s.full} are ${root.name} of ${k}`);
        byKey.set(k, keep);
        continue;
      }
      byKey.set(k, s);
    }
    if (g.key === rootKey) byKey.set(rootKey, root);
    if (!byKey.has(g.key)) throw new ExecError('source-state', `no snapshot ${root.name} of ${g.key} on the target`);
    const items = [...byKey.entries()].map(([k, snap]) => ({ rel: k === g.key ? '' : k.slice(g.key.length + 1), snap }));
    items.sort((a, b) => (a.rel === '' ? -1 : b.rel === '' ? 1 : depth(a.rel) - depth(b.rel) || cmp(a.rel, b.rel)));
    groups.push({ destination: g.destination, items });
  }
  const inGroup = (k: string) => groupRoots.some((g) => k === g.key || (spec.recursive && k.startsWith(g.key + '/')));
  const leftOut = named
    .filter((s) => !tagged(s) && s.full !== root.full && inGroup(keyOf(s.dataset)!))
    .map((s) => s.full)
    .sort();
  return { name: root.name, generation: root.generation, groups, leftOut };
}
