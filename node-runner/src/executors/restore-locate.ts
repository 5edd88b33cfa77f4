// Where the chosen snapshot tree is on the target (restore.ts): found by GUID under the job root (or
// the whole backup root), grouped by local destination, parents first. Reads the target only.
import { jobRoot } from '../../../protocol/src/layout.ts';
import { Zfs, isSameOrDescendant, isValidSnapshotName, type SnapshotInfo } from '../zfs/index.ts';
import { cmp, depth } from './restore-local.ts';
import type { Item, RestoreSpec } from './restore-types.ts';
import { ExecError } from './types.ts';
export interface Located {
  name: string;
  generation: number | null;
  groups: { destination: string; items: Item[] }[];
}

export async function locate(remote: Zfs, spec: RestoreSpec): Promise<Located> {
  const backupRoot = spec.target.backupRoot;
  let jobId = spec.jobId;
  const jobRootOf = (j: number) => jobRoot(backupRoot, j);
  let searchRoot = jobId !== null && (await remote.exists(jobRootOf(jobId))) ? jobRootOf(jobId) : backupRoot;
  if (spec.kind === 'job' && searchRoot === backupRoot) throw new ExecError('source-state', `${jobRootOf(jobId!)} does not exist on the target`);
  let tree = await remote.tree(searchRoot, true);
  let snaps = tree.flatMap((d) => d.snapshots);
  const matches = snaps.filter((s) => s.guid === spec.guid);
  const root = matches.find((s) => s.dataset === spec.hint) ?? matches[0];
  if (!root) throw new ExecError('source-state', `no snapshot with GUID ${spec.guid} under ${searchRoot} on the target (pruned or moved?)`);
  if (spec.kind === 'job' && root.job !== spec.jobId) {
    throw new ExecError('source-state', `${root.full} (GUID ${spec.guid}) is not a snapshot of job ${spec.jobId} (lifeboat:job=${root.job ?? 'unset'})`);
  }
  if (!isValidSnapshotName(root.name)) throw new ExecError('zfs', `unusable snapshot name ${JSON.stringify(root.name)} on the target`);
  if (jobId === null && root.job !== null && searchRoot === backupRoot && (await remote.exists(jobRootOf(root.job)))) {
    jobId = root.job; // narrow to the job's subtree, where the layout gives each dataset's source path
    searchRoot = jobRootOf(jobId);
    tree = await remote.tree(searchRoot, true);
    snaps = tree.flatMap((d) => d.snapshots);
  }
  const layoutRoot = jobId !== null && isSameOrDescendant(root.dataset, jobRootOf(jobId)) ? jobRootOf(jobId) : null;
  // logical key of a target dataset: its source path under the job layout (j<id>/g<n>/<source>), else its path
  const keyOf = (ds: string): string | null => {
    if (!layoutRoot) return ds;
    const m = /^g\d+\/(.+)$/.exec(ds.slice(layoutRoot.length + 1));
    return m ? m[1] : null;
  };
  const candidates = snaps.filter((s) => s.name === root.name && s.guid !== '' &&
    (jobId === null || s.job === jobId) && (root.generation === null || s.generation === root.generation) && keyOf(s.dataset) !== null);
  const rootKey = keyOf(root.dataset);
  if (rootKey === null) throw new ExecError('zfs', `${root.dataset} is not laid out as <backupRoot>/j<job>/g<generation>/<source>`);

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
  return { name: root.name, generation: root.generation, groups };
}
