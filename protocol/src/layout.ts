// The target layout and naming (docs/zfs.md), written once for both halves and the UI: where a
// job's data lives on a backup target, what its snapshots are called, and the user properties
// Lifeboat tags datasets and snapshots with. Pure.

/** ZFS user properties Lifeboat sets (values read back from a target are untrusted). */
export const PROP = {
  job: 'lifeboat:job',
  generation: 'lifeboat:generation',
  event: 'lifeboat:event',
  source: 'lifeboat:source',
  /** a restore's staging dataset: the event that made it */
  staging: 'lifeboat:staging',
  /** a live dataset renamed aside by a restore: the event that did it */
  setAside: 'lifeboat:set-aside',
  /** a set-aside copy kept on purpose after its restore succeeded ("keep the replaced dataset"): the event */
  kept: 'lifeboat:kept',
  /** prefix of guest metadata: `lifeboat:guest:<key>` */
  guest: 'lifeboat:guest',
} as const;

/** `<backupRoot>/j<jobId>`: everything of one job on a target. */
export const jobRoot = (backupRoot: string, jobId: number) => `${backupRoot}/j${jobId}`;
/** `<backupRoot>/j<jobId>/g<generation>` */
export const generationRoot = (backupRoot: string, jobId: number, generation: number) => `${jobRoot(backupRoot, jobId)}/g${generation}`;
/** `<backupRoot>/j<jobId>/g<generation>/<full source path>`: a source dataset's copy. */
export const targetPath = (backupRoot: string, jobId: number, generation: number, source: string) =>
  `${generationRoot(backupRoot, jobId, generation)}/${source}`;

/**
 * A dataset below a job root, read back as `g<generation>[/<source>]`, or null when it is not one
 * (`rel` is the name relative to the job root, without the leading slash).
 */
export function parseInJobRoot(rel: string): { generation: number; source: string | null } | null {
  const m = /^g(\d+)(?:\/(.+))?$/.exec(rel);
  return m ? { generation: Number(m[1]), source: m[2] ?? null } : null;
}

/**
 * The layout part at the end of a dataset name: `…/j<job>[/g<generation>[/<source>]]`, for labels.
 * (A backup root may itself contain `j<n>` components; the last match wins, so this is for display.)
 */
export function parseTargetPath(dataset: string): { jobId: number; generation: number | null; source: string | null } | null {
  const m = /(?:^|\/)j(\d+)(?:\/g(\d+)(?:\/(.+))?)?$/.exec(dataset);
  return m ? { jobId: Number(m[1]), generation: m[2] ? Number(m[2]) : null, source: m[3] ?? null } : null;
}

/** `lb_j<jobId>_<UTC yyyymmddThhmmssZ>` */
export function snapshotNameFor(jobId: number, at: Date): string {
  const stamp = at.toISOString().slice(0, 19).replace(/[-:]/g, '') + 'Z'; // 2026-11-28T16:41:40.123Z → 20261128T164140Z
  return `lb_j${jobId}_${stamp}`;
}

/**
 * The user hold a job puts on the newest snapshot common to source and target, on both sides
 * (docs/zfs.md, "Holds"): neither a hand `zfs destroy` nor another tool's prune can break the chain.
 */
export const holdTag = (jobId: number) => `lifeboat-j${jobId}`;

/** A job's datasets are its source and every child when recursive; a VM is always all of its datasets. */
export const jobIsRecursive = (job: { mode: string; recursive: boolean }) => job.recursive || job.mode === 'vm';

/** A restore's staging container for `destination`: `<parent>/.lb-staging-<event>-<name>` (docs/zfs.md). */
export const stagingNameFor = (destination: string, eventId: number) =>
  `${destination.slice(0, destination.lastIndexOf('/'))}/.lb-staging-${eventId}-${destination.slice(destination.lastIndexOf('/') + 1)}`;
/** Where a restore sets the live `destination` aside: `<destination>-lb-old-<event>`. */
export const setAsideNameFor = (destination: string, eventId: number) => `${destination}-lb-old-${eventId}`;
/** The dataset a set-aside name stands for (its event when given, any event otherwise), or null when it is not one. */
export function setAsideOriginal(name: string, eventId?: number | string): string | null {
  const m = (eventId === undefined ? /^(.+)-lb-old-\d+$/ : new RegExp(`^(.+)-lb-old-${eventId}$`)).exec(name);
  return m ? m[1] : null;
}

/**
 * What a node's dataset is to Lifeboat, when it is not the operator's own data: a received backup
 * copy (`backup`: carries `lifeboat:job`, this node is some job's target), or a restore's leftover
 * (`staging`, `set-aside`; docs/zfs.md, "Restores"). The source picker hides all three.
 */
export const DATASET_ROLES = ['backup', 'staging', 'set-aside'] as const;
export type DatasetRole = (typeof DATASET_ROLES)[number];

/**
 * A dataset's role from its `lifeboat:*` properties as `zfs get` prints them (inherited values
 * included, so a copy's children and a staging container's contents count too); null: the
 * operator's own.
 */
export function datasetRole(props: Record<string, string | null | undefined>): DatasetRole | null {
  const set = (p: string) => {
    const v = props[p];
    return v != null && v !== '' && v !== '-';
  };
  if (set(PROP.staging)) return 'staging';
  if (set(PROP.setAside)) return 'set-aside';
  if (set(PROP.job)) return 'backup';
  return null;
}

/**
 * A restore leftover recognised by its name alone (stagingNameFor, setAsideNameFor, at any level
 * of the path): all that is known from an older runner, whose inventory carries no roles.
 */
export function roleFromName(name: string): DatasetRole | null {
  const parts = name.split('/');
  if (parts.some((p) => p.startsWith('.lb-staging-'))) return 'staging';
  if (parts.some((p) => /-lb-old-\d+$/.test(p))) return 'set-aside';
  return null;
}
