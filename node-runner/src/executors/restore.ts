// Restore (docs/zfs.md: restores): receive the chosen snapshot of every dataset of the tree
// from the target into a staging dataset beside the destination, verify every GUID, then swap:
// rename the live dataset aside, rename staging into place, destroy the set-aside copy only after
// success. Any failure before that renames everything back and removes the staging datasets.
//
// Local layout during a restore of `<parent>/<name>` by event E:
//   <parent>/.lb-staging-E-<name>          container created with lifeboat:staging=E, mountpoint=none
//   <parent>/.lb-staging-E-<name>/<name>   the received root (children below it), never mounted
//   <parent>/<name>-lb-old-E               the live tree, set aside (lifeboat:set-aside=E, set right
//                                          before the rename) until success, then destroyed (checked)
// The container is created (with its property, atomically) before anything is received, so every
// staging dataset carries lifeboat:staging from its first moment, and nothing is mounted over live
// paths. Local datasets under the destination that the snapshot does not have (a non-recursive
// job's children, children created since) are moved into the restored tree, never destroyed.
// Leftovers of other restore events beside a destination are found by property: when the server
// says their event is over (ctx.eventStatus) staging is destroyed and a set-aside original whose
// destination is missing is renamed back; otherwise they are reported and left alone. Full streams are sent without -p, so received datasets carry no readonly/mountpoint of
// their own; after the swap `readonly` is inherited (writable unless the parent says otherwise), a
// locally set `mountpoint`/`canmount` of the replaced dataset is carried over, and every dataset of
// the restored tree is mounted explicitly (zfs-fuse mounts neither renamed nor moved children).
//
// zfs-fuse: renaming a mounted dataset answers "dataset is busy", so the live tree is unmounted
// first (deepest first) and mounted again on rollback. There is no `recv -u` there; the staging
// container's mountpoint=none keeps received data unmounted.
//
// Only the target is read (catalog, `zfs send`); nothing on the target is changed.
import { FINISHED_STATUSES } from '../../../protocol/src/events.ts';
import { mkdir } from 'node:fs/promises';
import { SshSession } from '../ssh/index.ts';
import {
  LocalHost, Zfs, isSameOrDescendant, isValidDatasetName, isValidSnapshotName, killChild, waitExitDrained, oneLine, recvArgv, sendArgv,
  USER_PROP_EVENT, USER_PROP_GENERATION, USER_PROP_JOB,
  type SnapshotInfo, type ZfsCapabilities,
} from '../zfs/index.ts';
import { parseSendEstimate } from '../zfs/parse.ts';
import { TransferProgress } from './progress.ts';
import { jobIsRecursive, jobRoot, PROP, setAsideNameFor, setAsideOriginal, stagingNameFor } from '../../../protocol/src/layout.ts';
import { asExecError } from '../core/errors.ts';
import { ExecError, type ExecContext, type TargetSpec } from './types.ts';
import type { JobRestoreParams, OobRestoreParams, RestoreGuest, RestoreResult, RestoredDataset } from './restore-types.ts';

export const USER_PROP_STAGING = PROP.staging;
export const USER_PROP_SET_ASIDE = PROP.setAside;
export { setAsideNameFor, stagingNameFor };

/** Properties of a replaced dataset carried over to its restored counterpart when set locally. */
const CARRY_PROPS = ['mountpoint', 'canmount'];

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const parentOf = (ds: string) => ds.slice(0, ds.lastIndexOf('/'));
const baseOf = (ds: string) => ds.slice(ds.lastIndexOf('/') + 1);
const relParent = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
const join = (root: string, rel: string) => (rel ? `${root}/${rel}` : root);
const depth = (ds: string) => ds.split('/').length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));



// ------------------------------------------------------------------------------------------------
// exported entry points

export async function runJobRestore(params: JobRestoreParams, ctx: ExecContext): Promise<RestoreResult> {
  const { job } = params;
  if (job.mode !== 'dataset' && !params.guest?.roots?.length) {
    throw new ExecError('internal', `${job.mode} job ${job.id}: the guest's dataset roots were not provided`);
  }
  const roots = params.guest?.roots?.length ? [...params.guest.roots].sort(cmp) : [job.source];
  return guard(ctx, 'restore', () => restore({
    kind: 'job', target: params.target, jobId: job.id, guid: params.guid, snapshot: params.snapshot, hint: params.dataset,
    generation: params.generation, roots, recursive: jobIsRecursive(job),
    overwrite: true, guestCreateOnly: false, guest: params.guest ?? null, oobGuest: null,
  }, ctx));
}

export async function runOobRestore(params: OobRestoreParams, ctx: ExecContext): Promise<RestoreResult> {
  return guard(ctx, 'out-of-band restore', () => restore({
    kind: 'oob', target: params.target, jobId: params.sourceJobId ?? null, guid: params.guid, snapshot: params.snapshot,
    hint: params.snapshotDataset || params.dataset, generation: params.generation ?? null, roots: null, destination: params.destination,
    recursive: true, overwrite: params.overwrite === true, guestCreateOnly: params.guest != null, guest: null,
    oobGuest: params.guest ? { metadata: params.guest, restoreNetwork: params.restoreNetwork === true, newGuestId: params.newGuestId ?? null, registered: false } : null,
  }, ctx));
}

async function guard<T>(ctx: ExecContext, what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const err = asExecError(e);
    if (ctx.signal.aborted && err.errorClass !== 'cancelled') throw new ExecError('cancelled', `${what} cancelled: ${err.message}`);
    throw err;
  }
}

/**
 * Staging and set-aside datasets left by earlier restores directly under `parent` (found by their
 * `lifeboat:staging` / `lifeboat:set-aside` property, never by name). For reporting.
 */
export async function findRestoreLeftovers(zfs: Zfs, parent: string): Promise<{ dataset: string; property: string; eventId: string }[]> {
  const t = await getWithSource(zfs, [parent], [USER_PROP_STAGING, USER_PROP_SET_ASIDE], { depth: 1 });
  const out: { dataset: string; property: string; eventId: string }[] = [];
  for (const [name, props] of t) {
    if (name === parent || name.includes('@')) continue;
    for (const p of [USER_PROP_STAGING, USER_PROP_SET_ASIDE]) {
      const v = props[p];
      if (v && v.value !== null && v.source === 'local') out.push({ dataset: name, property: p, eventId: v.value });
    }
  }
  return out.sort((a, b) => cmp(a.dataset, b.dataset));
}

// ------------------------------------------------------------------------------------------------
// the restore

interface RestoreSpec {
  kind: 'job' | 'oob';
  target: TargetSpec;
  jobId: number | null;
  guid: string;
  snapshot: string;
  hint: string;
  generation: number | null;
  /** job restore: the local roots (= their source paths on the target); oob: null */
  roots: string[] | null;
  destination?: string;
  recursive: boolean;
  overwrite: boolean;
  guestCreateOnly: boolean;
  guest: RestoreGuest | null;
  oobGuest: RestoreResult['guest'];
}

interface Item { rel: string; snap: SnapshotInfo }

interface LiveDataset { rel: string; name: string; guid: string; props: Record<string, { value: string | null; source: string }> }

interface Unit {
  destination: string;
  parent: string;
  container: string;        // staging container (lifeboat:staging=E)
  stagingRoot: string;      // container/<name>
  setAside: string;
  items: Item[];            // parents first; rel '' is the root
  live: LiveDataset[] | null; // the existing destination tree (parents first), null when it does not exist
  containerGuid: string | null;
  createdParents: { name: string; guid: string }[];
}

async function restore(spec: RestoreSpec, ctx: ExecContext): Promise<RestoreResult> {
  const E = ctx.eventId;
  const signal = ctx.signal;
  ctx.progress({ phase: 'preparing' });
  if (!/^\d+$/.test(spec.guid)) throw new ExecError('internal', `invalid snapshot GUID ${JSON.stringify(spec.guid)}`);
  if (!isValidDatasetName(spec.target.backupRoot)) throw new ExecError('internal', `invalid backup root ${JSON.stringify(spec.target.backupRoot)}`);
  const local = new Zfs(new LocalHost(), signal);
  const safe = new Zfs(new LocalHost()); // for rollback and cleanup: must work after an abort
  const lcaps = await local.capabilities();

  const session = await SshSession.open(spec.target, { signal });
  const units: Unit[] = [];
  const result: RestoreResult = {
    snapshot: '', guid: spec.guid, generation: spec.generation, bytesReceived: 0, datasets: [],
    replaced: [], preserved: [], setAsideKept: [], leftovers: [], guest: spec.oobGuest,
  };
  try {
    const remote = new Zfs(session, signal);
    const rcaps = await remote.capabilities();
    if (!(await remote.exists(spec.target.backupRoot))) {
      throw new ExecError('target-not-ready', `backup root ${spec.target.backupRoot} does not exist on the target`);
    }

    // ---- locate the snapshot tree on the target (by GUID; names only to find the children) ----------
    const located = await locate(remote, spec);
    result.snapshot = located.name;
    result.generation = located.generation ?? spec.generation;
    if (spec.generation !== null && located.generation !== null && located.generation !== spec.generation) {
      ctx.log(`warning: snapshot ${located.name} (GUID ${spec.guid}) is tagged generation ${located.generation} on the target, not ${spec.generation}`);
    }

    // ---- leftovers of earlier restores beside the destinations: cleaned when their event is over, else reported
    const destinations = located.groups.map((g) => g.destination);
    for (const destination of destinations) {
      if (!isValidDatasetName(destination)) throw new ExecError('source-state', `invalid destination dataset ${JSON.stringify(destination)}`);
      if (!destination.includes('/')) throw new ExecError('source-state', `cannot restore onto the pool root ${destination}; choose a dataset below it`);
    }
    for (const p of new Set(destinations.map(parentOf))) {
      if (await local.exists(p)) await handleLeftovers(local, safe, p, destinations, E, ctx, result);
    }

    // ---- plan each destination ---------------------------------------------------------------------
    for (const g of located.groups) {
      const destination = g.destination;
      await checkNotTargetTree(local, remote, destination, spec.target.backupRoot);
      const exists = await local.exists(destination);
      if (exists && spec.guestCreateOnly) throw new ExecError('source-state', `${destination} exists: guest restores never overwrite an existing dataset`);
      if (exists && !spec.overwrite) throw new ExecError('source-state', `${destination} exists; restoring over it needs overwrite`);
      if (exists) {
        const type = (await local.get([destination], ['type'])).get(destination)?.type;
        if (type !== 'filesystem' && type !== 'volume') throw new ExecError('source-state', `${destination} is a ${type ?? 'dataset of unknown type'}; only filesystems and volumes are restored`);
      }
      const u: Unit = {
        destination, parent: parentOf(destination), container: stagingNameFor(destination, E),
        stagingRoot: `${stagingNameFor(destination, E)}/${baseOf(destination)}`, setAside: setAsideNameFor(destination, E),
        items: g.items, live: exists ? await readLive(local, destination) : null, containerGuid: null, createdParents: [],
      };
      for (const it of u.items) {
        if (it.rel && !isValidDatasetName(join(destination, it.rel))) throw new ExecError('zfs', `unusable child dataset name ${JSON.stringify(it.rel)} on the target`);
      }
      for (const n of [u.container, u.setAside]) {
        if (await local.exists(n)) {
          // a leftover of this very event (a retry after a crash): only ours, checked, is removed
          const own = await isOwnStaging(safe, n, E);
          if (n === u.container && own) { await destroyStaging(safe, u.container, E, null); ctx.log(`removed leftover staging ${n} of this event`); continue; }
          throw new ExecError('source-state', `${n} already exists${own ? '' : ' and is not a staging dataset of this event'}; not touching it`);
        }
      }
      units.push(u);
    }

    // ---- staging ---------------------------------------------------------------------------------
    for (const u of units) {
      u.createdParents = await local.ensureDataset(u.parent, {}, { mountable: true, missingPool: 'source-state' });
      for (const c of u.createdParents) ctx.log(`created parent dataset ${c.name}`);
      await local.create(u.container, { mountpoint: 'none', [USER_PROP_STAGING]: String(E) }, false);
      u.containerGuid = (await local.get([u.container], ['guid'])).get(u.container)?.guid ?? null;
    }
    // Encrypted backups are held as ciphertext (raw sends): they are sent back raw (`send -w`) and
    // land encrypted, with the source's key format; the key is loaded by the user afterwards.
    const raw = new Set<string>();
    if (rcaps.encryption) {
      const all = units.flatMap((u) => u.items.map((it) => it.snap.dataset));
      const enc = await remote.get(all, ['encryption']);
      for (const [n, p] of enc) if (p.encryption && p.encryption !== 'off') raw.add(n);
      if (raw.size) ctx.log(`raw receive of the encrypted backup(s) ${[...raw].join(', ')}: they land encrypted, load their key to mount them`);
    }
    let total = 0;
    for (const u of units) for (const it of u.items) total += await restoreEstimate(remote, rcaps, it.snap, raw.has(it.snap.dataset));
    if (signal.aborted) throw new ExecError('cancelled', 'restore cancelled');
    const progress = new TransferProgress(ctx, total, 5000, 'restore-staging');
    progress.start();
    try {
      for (const u of units) {
        for (const it of u.items) {
          if (signal.aborted) throw new ExecError('cancelled', 'restore cancelled');
          const to = join(u.stagingRoot, it.rel);
          if (it.rel && !(await local.exists(parentOf(to)))) throw new ExecError('zfs', `the snapshot tree on the target has a gap: no ${located.name} for the parent of ${it.snap.dataset}`);
          ctx.log(`receiving ${it.snap.full} → ${to}`);
          const before = progress.bytesDone;
          await transfer(session, lcaps, it.snap.full, raw.has(it.snap.dataset), to, progress, signal);
          result.datasets.push({ source: it.snap.full, destination: join(u.destination, it.rel), guid: it.snap.guid, bytes: progress.bytesDone - before });
        }
      }
    } finally {
      progress.stop();
    }
    result.bytesReceived = result.datasets.reduce((n, d) => n + d.bytes, 0);

    // ---- verify every GUID, and that staging holds exactly what was received ----------------------
    for (const u of units) {
      const got = await local.tree(u.container, true);
      const expect = new Set([u.container, ...u.items.map((i) => join(u.stagingRoot, i.rel))]);
      for (const d of got) if (!expect.has(d.name)) throw new ExecError('zfs', `unexpected dataset ${d.name} in staging`);
      for (const it of u.items) {
        const ds = join(u.stagingRoot, it.rel);
        const s = got.find((d) => d.name === ds)?.snapshots.find((x) => x.name === located.name);
        if (!s) throw new ExecError('zfs', `${ds}@${located.name} is missing after the receive`);
        if (s.guid !== it.snap.guid) throw new ExecError('zfs', `GUID mismatch after receive: ${ds}@${located.name} has ${s.guid}, the target's ${it.snap.full} has ${it.snap.guid}`);
        if (spec.kind === 'job' && spec.jobId !== null) {
          // the restored snapshot stays this job's (for Keep Last and as the next backup's base)
          const tags: Record<string, string> = { [USER_PROP_JOB]: String(spec.jobId) };
          if (it.snap.generation !== null) tags[USER_PROP_GENERATION] = String(it.snap.generation);
          if (it.snap.event !== null) tags[USER_PROP_EVENT] = String(it.snap.event);
          await local.set(`${ds}@${located.name}`, tags);
        }
      }
    }
    ctx.log(`staged and verified ${result.datasets.length} dataset(s), ${result.bytesReceived} bytes; GUIDs equal the target's`);
    ctx.checkpoint?.('after-staging');
    if (signal.aborted) throw new ExecError('cancelled', 'restore cancelled');
  } catch (e) {
    await session.close().catch(() => undefined);
    await cleanupStaging(safe, units, E, ctx);
    throw e;
  }
  await session.close().catch(() => undefined);

  // ---- swap (not interruptible: it completes or rolls back) ------------------------------------------
  ctx.progress({ phase: 'swapping' });
  const undo: { what: string; f: () => Promise<void> }[] = [];
  let guestWasRunning = false;
  try {
    if (spec.guest?.stop) {
      ctx.progress({ phase: 'stopping-guest' });
      guestWasRunning = await spec.guest.stop();
      ctx.progress({ phase: 'swapping' });
    }
    for (const u of units) {
      const preserved = await swapUnit(safe, u, E, undo, ctx);
      result.preserved.push(...preserved);
      if (u.live) result.replaced.push(u.destination);
    }
    ctx.checkpoint?.('after-swap');
  } catch (e) {
    const err = asExecError(e);
    const failures: string[] = [];
    for (const step of undo.reverse()) {
      try { await step.f(); } catch (ue) { failures.push(`${step.what}: ${asExecError(ue).message}`); }
    }
    if (guestWasRunning && spec.guest?.start) {
      try { ctx.progress({ phase: 'starting-guest' }); await spec.guest.start(); } catch (ge) { failures.push(`starting the guest: ${asExecError(ge).message}`); }
    }
    if (failures.length) {
      const msg = `${err.message}; ROLLBACK INCOMPLETE: ${failures.join('; ')} — staging datasets (lifeboat:staging=${E}) and set-aside copies (lifeboat:set-aside=${E}) were kept for inspection`;
      ctx.log(msg);
      throw new ExecError(err.errorClass, msg);
    }
    ctx.log(`swap failed (${err.message}); rolled back, the original datasets are in place`);
    await cleanupStaging(safe, units, E, ctx);
    throw err;
  }
  if (guestWasRunning && spec.guest?.start) {
    ctx.progress({ phase: 'starting-guest' });
    try { await spec.guest.start(); } catch (e) { ctx.log(`warning: starting the guest again failed: ${asExecError(e).message}`); }
  }

  // ---- finalize: destroy the set-aside copies (checked) and the empty staging containers -------------
  ctx.progress({ phase: 'finalizing' });
  for (const u of units) {
    if (u.live) {
      try {
        await destroySetAside(safe, u, E);
        ctx.log(`destroyed the set-aside copy ${u.setAside}`);
      } catch (e) {
        result.setAsideKept.push(u.setAside);
        ctx.log(`warning: the set-aside copy ${u.setAside} was kept (${asExecError(e).message}); it carries ${USER_PROP_SET_ASIDE}=${E}`);
        // it may still carry the replaced dataset's own mountpoint: keep it from mounting over the restored one
        await safe.set(u.setAside, { mountpoint: 'none' }).catch(() => undefined);
      }
    }
    try {
      await destroyStaging(safe, u.container, E, u.containerGuid);
    } catch (e) {
      result.leftovers.push(u.container);
      ctx.log(`warning: staging container ${u.container} was kept (${asExecError(e).message})`);
    }
  }
  if (spec.oobGuest) {
    ctx.log(`guest metadata restored with the datasets; registering the guest${spec.oobGuest.restoreNetwork ? ' and applying its network config' : ''} is left to the guest provider`);
  }
  ctx.log(`restored ${result.snapshot} (GUID ${result.guid}) onto ${units.map((u) => u.destination).join(', ')}`);
  return result;
}

const FINISHED = new Set<string>(FINISHED_STATUSES);

/**
 * Leftovers of other restore events directly under `parent` (by property, never by name alone).
 * When the server says their event is over: a staging container is destroyed (ownership checked);
 * a set-aside copy of one of `destinations` whose destination is missing (a crash between the two
 * swap renames) is renamed back into place; a live dataset marked but never renamed is unmarked.
 * Everything else is reported and left alone; a set-aside copy of a missing destination that
 * cannot be recovered stops the restore (restoring would bury the original further).
 */
async function handleLeftovers(local: Zfs, safe: Zfs, parent: string, destinations: string[], E: number, ctx: ExecContext, result: RestoreResult): Promise<void> {
  const found = (await findRestoreLeftovers(local, parent)).filter((l) => l.eventId !== String(E));
  if (!found.length) return;
  const ids = [...new Set(found.map((l) => Number(l.eventId)).filter((n) => Number.isSafeInteger(n) && n > 0))];
  let status = new Map<number, string>();
  if (ctx.eventStatus && ids.length) {
    try { status = await ctx.eventStatus(ids); } catch (e) { ctx.log(`warning: could not ask the server about events ${ids.join(', ')}: ${asExecError(e).message}`); }
  }
  for (const l of found) {
    const X = Number(l.eventId);
    const st = status.get(X);
    const over = st !== undefined && FINISHED.has(st);
    try {
      if (over && l.property === USER_PROP_STAGING) {
        if (await destroyStaging(safe, l.dataset, X, null)) { ctx.log(`removed leftover staging ${l.dataset} of ${st} restore event ${X}`); continue; }
      }
      if (over && l.property === USER_PROP_SET_ASIDE) {
        const original = setAsideOriginal(l.dataset, X);
        if (original === null) {
          // marked right before its rename aside, which never happened: it is the live dataset
          await safe.run(['inherit', USER_PROP_SET_ASIDE, l.dataset], `zfs inherit ${l.dataset}`);
          ctx.log(`cleared the set-aside mark of ${st} restore event ${X} from ${l.dataset} (it was never renamed)`);
          continue;
        }
        if (destinations.includes(original) && !(await local.exists(original))) {
          await runRetryBusy(safe, ['rename', l.dataset, original], `zfs rename ${l.dataset} ${original}`);
          await safe.run(['inherit', USER_PROP_SET_ASIDE, original], `zfs inherit ${original}`);
          await mountTree(safe, original);
          ctx.log(`recovered ${original}: ${st} restore event ${X} had set it aside as ${l.dataset} and stopped before renaming anything into place`);
          continue;
        }
      }
    } catch (e) {
      ctx.log(`warning: could not clean up ${l.dataset}: ${asExecError(e).message}`);
    }
    if (l.property === USER_PROP_SET_ASIDE) {
      const original = setAsideOriginal(l.dataset) ?? l.dataset;
      if (destinations.includes(original) && !(await local.exists(original))) {
        throw new ExecError('source-state', `${l.dataset} holds ${original} as set aside by restore event ${X} (${st ?? 'status unknown'}), and ${original} is missing; resolve that first`);
      }
    }
    result.leftovers.push(l.dataset);
    ctx.log(`warning: ${l.dataset} is a leftover of restore event ${X} (${l.property}, event ${st ?? 'unknown to the server'}); not touched`);
  }
}

// ------------------------------------------------------------------------------------------------
// locating the snapshot tree on the target

interface Located {
  name: string;
  generation: number | null;
  groups: { destination: string; items: Item[] }[];
}

async function locate(remote: Zfs, spec: RestoreSpec): Promise<Located> {
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

// ------------------------------------------------------------------------------------------------
// local helpers

type SourcedProps = Map<string, Record<string, { value: string | null; source: string }>>;

/** `zfs get -Hp -o name,property,value,source` (value null for "-" with source "-"). */
async function getWithSource(z: Zfs, names: string[], props: string[], opts: { recursive?: boolean; depth?: number } = {}): Promise<SourcedProps> {
  const args = ['get', '-Hp'];
  if (opts.recursive) args.push('-r');
  if (opts.depth !== undefined) args.push('-d', String(opts.depth));
  args.push('-o', 'name,property,value,source', props.join(','), ...names);
  const out = await z.run(args, `zfs get ${names.join(' ')}`);
  const t: SourcedProps = new Map();
  for (const line of out.split('\n')) {
    const parts = line.split('\t');
    if (parts.length < 4) continue;
    const [name, prop] = parts;
    const source = parts[parts.length - 1];
    const value = parts.slice(2, -1).join('\t');
    let row = t.get(name);
    if (!row) { row = {}; t.set(name, row); }
    row[prop] = { value: value === '-' && source === '-' ? null : value, source };
  }
  return t;
}

async function readLive(z: Zfs, destination: string): Promise<LiveDataset[]> {
  const t = await getWithSource(z, [destination], ['type', 'guid', ...CARRY_PROPS], { recursive: true });
  const out: LiveDataset[] = [];
  for (const [name, props] of t) {
    if (name.includes('@') || props.type?.value !== 'filesystem' && props.type?.value !== 'volume') continue;
    out.push({ rel: name === destination ? '' : name.slice(destination.length + 1), name, guid: props.guid?.value ?? '', props });
  }
  return out.sort((a, b) => depth(a.name) - depth(b.name) || cmp(a.name, b.name));
}

async function isOwnStaging(z: Zfs, name: string, E: number): Promise<boolean> {
  const p = (await getWithSource(z, [name], [USER_PROP_STAGING])).get(name)?.[USER_PROP_STAGING];
  return p?.source === 'local' && p.value === String(E);
}

/** Refuse a destination inside the target's backup root when the target is this very host and pool. */
async function checkNotTargetTree(local: Zfs, remote: Zfs, destination: string, backupRoot: string): Promise<void> {
  if (!isSameOrDescendant(destination, backupRoot) && !isSameOrDescendant(backupRoot, destination)) return;
  if (!(await local.exists(backupRoot))) return;
  const lguid = (await local.get([backupRoot], ['guid'])).get(backupRoot)?.guid;
  const rguid = (await remote.get([backupRoot], ['guid'])).get(backupRoot)?.guid;
  if (lguid && lguid === rguid) throw new ExecError('source-state', `destination ${destination} and the backup root ${backupRoot} are the same dataset tree`);
}

/** Run a zfs command, retrying a few times when zfs-fuse answers "busy". */
async function runRetryBusy(z: Zfs, args: string[], what: string): Promise<void> {
  for (let i = 0; ; i++) {
    try { await z.run(args, what); return; } catch (e) {
      if (i < 5 && e instanceof ExecError && /busy/i.test(e.message)) { await sleep(250 * (i + 1)); continue; }
      throw e;
    }
  }
}

/** Unmount every mounted filesystem of `root`'s tree, deepest first; returns them (for remounting). */
async function unmountTree(z: Zfs, root: string): Promise<string[]> {
  const t = await z.get([root], ['mounted'], { recursive: true });
  const mounted = [...t].filter(([n, p]) => !n.includes('@') && p.mounted === 'yes').map(([n]) => n)
    .sort((a, b) => depth(b) - depth(a) || cmp(b, a));
  const done: string[] = [];
  for (const n of mounted) {
    try { await runRetryBusy(z, ['unmount', n], `zfs unmount ${n}`); done.push(n); } catch (e) {
      if (/not currently mounted/i.test((e as Error).message)) continue;
      await mountList(z, done.reverse()).catch(() => undefined); // leave it as it was
      throw new ExecError('source-state', `cannot unmount ${n} (in use?): ${(e as Error).message}`);
    }
  }
  return done.reverse();
}

/**
 * Mount every filesystem of `root`'s tree that should be (parents first), creating mount
 * directories. An encrypted one whose key is not loaded is left unmounted and named in the log.
 */
async function mountTree(z: Zfs, root: string, ctx?: ExecContext): Promise<void> {
  const encryption = (await z.capabilities()).encryption;
  const t = await z.get([root], ['type', 'mountpoint', 'canmount', 'mounted', ...(encryption ? ['keystatus', 'encryptionroot'] : [])], { recursive: true });
  const rows = [...t].filter(([n, p]) => !n.includes('@') && p.type === 'filesystem').sort((a, b) => depth(a[0]) - depth(b[0]) || cmp(a[0], b[0]));
  for (const [n, p] of rows) {
    if (p.mounted === 'yes' || p.canmount !== 'on' || !p.mountpoint?.startsWith('/')) continue;
    if (p.keystatus === 'unavailable') {
      ctx?.log(`${n} is encrypted and its key is not loaded: not mounted (zfs load-key ${p.encryptionroot ?? n}, then zfs mount ${n})`);
      continue;
    }
    await mkdir(p.mountpoint, { recursive: true }).catch(() => undefined);
    try { await runRetryBusy(z, ['mount', n], `zfs mount ${n}`); } catch (e) {
      if (/already mounted/i.test((e as Error).message)) continue;
      throw e;
    }
  }
}

async function mountList(z: Zfs, names: string[]): Promise<void> {
  for (const n of names) {
    try { await z.run(['mount', n], `zfs mount ${n}`); } catch (e) {
      if (!/already mounted/i.test((e as Error).message)) throw e;
    }
  }
}

/**
 * Swap one destination: unmount, rename the live tree aside, rename staging into place, move local
 * datasets the snapshot does not have into the restored tree, fix properties, mount. Every step
 * pushes its inverse onto `undo`. Returns the preserved (moved) datasets.
 */
async function swapUnit(z: Zfs, u: Unit, E: number, undo: { what: string; f: () => Promise<void> }[], ctx: ExecContext): Promise<string[]> {
  const d = u.destination;
  const restoredRels = new Set(u.items.map((i) => i.rel));
  const preserved: string[] = [];
  if (u.live) {
    // re-check what is about to be set aside, right before
    const guid = (await z.get([d], ['guid'])).get(d)?.guid;
    if (guid !== u.live[0].guid) throw new ExecError('source-state', `${d} changed since the restore started (GUID ${guid ?? 'none'}, was ${u.live[0].guid})`);
    u.live = await readLive(z, d); // children created during the transfer are moved over too
    const mounted = await unmountTree(z, d);
    undo.push({ what: `mounting ${d} again`, f: () => mountList(z, mounted) });
    // marked before the rename, so a crash never leaves an unmarked set-aside copy
    await z.set(d, { [USER_PROP_SET_ASIDE]: String(E) });
    undo.push({ what: `clearing ${USER_PROP_SET_ASIDE} on ${d}`, f: () => z.run(['inherit', USER_PROP_SET_ASIDE, d], `zfs inherit ${d}`).then(() => undefined) });
    await runRetryBusy(z, ['rename', d, u.setAside], `zfs rename ${d} ${u.setAside}`);
    undo.push({ what: `renaming ${u.setAside} back to ${d}`, f: () => runRetryBusy(z, ['rename', u.setAside, d], `zfs rename ${u.setAside} ${d}`) });
    ctx.log(`set aside ${d} → ${u.setAside}`);
    ctx.checkpoint?.('between-swap-renames');
  } else if (await z.exists(d)) {
    throw new ExecError('source-state', `${d} appeared while the restore was staging; not replacing it`);
  }

  // staging → place (re-check it is ours and what was verified)
  const sp = await getWithSource(z, [u.stagingRoot], ['guid', USER_PROP_STAGING]);
  const row = sp.get(u.stagingRoot);
  if (row?.[USER_PROP_STAGING]?.value !== String(E)) throw new ExecError('internal', `${u.stagingRoot} is not this event's staging dataset`);
  const snapGuid = (await z.get([`${u.stagingRoot}@${u.items[0].snap.name}`], ['guid'])).get(`${u.stagingRoot}@${u.items[0].snap.name}`)?.guid;
  if (snapGuid !== u.items[0].snap.guid) throw new ExecError('zfs', `${u.stagingRoot}@${u.items[0].snap.name} changed before the swap`);
  await runRetryBusy(z, ['rename', u.stagingRoot, d], `zfs rename ${u.stagingRoot} ${d}`);
  undo.push({
    what: `moving the restored ${d} back to ${u.stagingRoot}`,
    f: async () => {
      await unmountTree(z, d);
      // carried-over properties would mount it inside staging; staging stays unmounted
      for (const it of u.items) for (const p of CARRY_PROPS) await z.run(['inherit', p, join(d, it.rel)], `zfs inherit ${p}`).catch(() => undefined);
      await runRetryBusy(z, ['rename', d, u.stagingRoot], `zfs rename ${d} ${u.stagingRoot}`);
    },
  });
  ctx.log(`renamed ${u.stagingRoot} → ${d}`);

  // local datasets the snapshot does not have: move them over unchanged (never destroyed by a restore)
  if (u.live) {
    const moved: string[] = [];
    for (const l of u.live) {
      if (l.rel === '' || restoredRels.has(l.rel) || moved.some((m) => isSameOrDescendant(l.rel, m))) continue;
      if (!restoredRels.has(relParent(l.rel)) && !moved.some((m) => isSameOrDescendant(relParent(l.rel), m))) continue;
      const from = join(u.setAside, l.rel);
      const to = join(d, l.rel);
      await runRetryBusy(z, ['rename', from, to], `zfs rename ${from} ${to}`);
      undo.push({ what: `moving ${to} back to ${from}`, f: async () => { await unmountTree(z, to); await runRetryBusy(z, ['rename', to, from], `zfs rename ${to} ${from}`); } });
      moved.push(l.rel);
      preserved.push(to);
      ctx.log(`kept ${to}: not in the restored snapshot, moved over unchanged`);
    }
  }

  // properties: writable, and mounted where the replaced dataset was
  const liveByRel = new Map((u.live ?? []).map((l) => [l.rel, l]));
  for (const it of u.items) {
    const ds = join(d, it.rel);
    await z.run(['inherit', 'readonly', ds], `zfs inherit readonly ${ds}`);
    const l = liveByRel.get(it.rel);
    for (const p of CARRY_PROPS) {
      const v = l?.props[p];
      if (v && v.source === 'local' && v.value !== null) await z.set(ds, { [p]: v.value });
    }
  }
  await mountTree(z, d, ctx);
  return preserved;
}

/** Destroy a staging container after checking its ownership (lifeboat:staging=E, local) and GUID. */
async function destroyStaging(z: Zfs, container: string, E: number, expectGuid: string | null): Promise<boolean> {
  if (!(await z.exists(container))) return false;
  const t = await getWithSource(z, [container], ['guid', USER_PROP_STAGING], { recursive: true });
  const own = t.get(container);
  if (own?.[USER_PROP_STAGING]?.source !== 'local' || own[USER_PROP_STAGING].value !== String(E)) {
    throw new ExecError('internal', `${container} is not this event's staging dataset; not destroying it`);
  }
  if (expectGuid !== null && own.guid?.value !== expectGuid) throw new ExecError('internal', `${container} changed (GUID); not destroying it`);
  for (const [n, p] of t) {
    if (p[USER_PROP_STAGING]?.value !== String(E)) throw new ExecError('internal', `${n} inside ${container} is not marked as this event's staging; not destroying`);
  }
  try { await unmountTree(z, container); } catch { /* staging is never mounted; destroy reports real problems */ }
  await runRetryBusy(z, ['destroy', '-r', container], `zfs destroy -r ${container}`);
  return true;
}

async function cleanupStaging(z: Zfs, units: Unit[], E: number, ctx: ExecContext): Promise<void> {
  for (const u of units) {
    // A receive killed a moment ago (cancel) can keep the dataset busy briefly on zfs-fuse: retry a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        if (await destroyStaging(z, u.container, E, u.containerGuid)) ctx.log(`removed staging ${u.container}`);
        break;
      } catch (e) {
        if (attempt < 5) { await new Promise((r) => setTimeout(r, 500 * attempt)); continue; }
        ctx.log(`warning: staging ${u.container} was kept (${asExecError(e).message}); it carries ${USER_PROP_STAGING}=${E}`);
        break;
      }
    }
    // parents this restore created, if still empty and unchanged
    for (const c of [...u.createdParents].reverse()) {
      try {
        const kids = await z.listDatasets(c.name, true);
        const guid = (await z.get([c.name], ['guid'])).get(c.name)?.guid;
        if (kids.length !== 1 || guid !== c.guid) break;
        await unmountTree(z, c.name).catch(() => undefined);
        await z.run(['destroy', c.name], `zfs destroy ${c.name}`);
      } catch { break; }
    }
  }
}

/** Destroy a set-aside copy: only when it is the tree this restore set aside (GUIDs) and marked by this event. */
async function destroySetAside(z: Zfs, u: Unit, E: number): Promise<void> {
  const t = await getWithSource(z, [u.setAside], ['type', 'guid', USER_PROP_SET_ASIDE], { recursive: true });
  const root = t.get(u.setAside);
  if (root?.[USER_PROP_SET_ASIDE]?.source !== 'local' || root[USER_PROP_SET_ASIDE].value !== String(E)) throw new ExecError('internal', `${u.setAside} is not marked as set aside by this event`);
  if (root.guid?.value !== u.live![0].guid) throw new ExecError('internal', `${u.setAside} is not the dataset that was set aside (GUID)`);
  const known = new Set(u.live!.map((l) => l.guid));
  for (const [n, p] of t) {
    if (n.includes('@')) continue;
    if (!known.has(p.guid?.value ?? '')) throw new ExecError('internal', `${n} was not part of the set-aside tree`);
  }
  await runRetryBusy(z, ['destroy', '-r', u.setAside], `zfs destroy -r ${u.setAside}`);
}

/** Stream size of a restore: `send -nvP` on the target where it exists, else the snapshot's referenced size. */
async function restoreEstimate(remote: Zfs, rcaps: ZfsCapabilities, snap: SnapshotInfo, raw: boolean): Promise<number> {
  if (rcaps.sendEstimate) {
    const res = await remote.host.exec(sendArgv({ snapshot: snap.full, raw }, { dryRun: true }));
    const n = res.code === 0 ? parseSendEstimate(res.stdout + '\n' + res.stderr) : null;
    if (n !== null) return n;
  }
  return snap.referenced;
}

/** `ssh … zfs send <snap>` piped in Node into local `zfs recv <to>`, counting bytes. Kills both on failure or abort. */
async function transfer(session: SshSession, lcaps: ZfsCapabilities, snap: string, raw: boolean, to: string, progress: TransferProgress, signal: AbortSignal): Promise<void> {
  const ac = new AbortController();
  if (signal.aborted) throw new ExecError('cancelled', 'restore cancelled');
  const local = new LocalHost();
  const send = session.spawn(sendArgv({ snapshot: snap, raw }), { stdin: 'ignore', stdout: 'pipe' }, ac.signal);
  // not resumable: a cut restore leaves nothing to resume (its staging is removed)
  const recv = local.spawn(recvArgv({ target: to, caps: lcaps, resumable: false }), { stdin: 'pipe', stdout: 'ignore' }, ac.signal);
  let sendErr = '';
  let recvErr = '';
  send.stderr?.on('data', (b: Buffer) => { if (sendErr.length < 8192) sendErr += b.toString('utf8'); });
  recv.stderr?.on('data', (b: Buffer) => { if (recvErr.length < 8192) recvErr += b.toString('utf8'); });
  send.on('error', (e) => { sendErr += e.message; });
  recv.on('error', (e) => { recvErr += e.message; });
  recv.stdin!.on('error', () => { /* EPIPE when recv dies first: its exit status tells why */ });
  send.stdout!.on('data', (c: Buffer) => progress.add(c.length));
  send.stdout!.pipe(recv.stdin!);
  // On abort or a failed side the rest of the stream is dropped here: left piped, a dead receiver
  // pauses it, and a paused stream never reads to the end that lets the ssh side finish.
  const drop = () => { send.stdout!.unpipe(); send.stdout!.destroy(); };
  const onAbort = () => { drop(); ac.abort(); };
  signal.addEventListener('abort', onAbort, { once: true });
  const sendExit = waitExitDrained(send).then((c) => { if (c !== 0) killChild(recv); return c; });
  const recvExit = waitExitDrained(recv).then((c) => { if (c !== 0) { drop(); killChild(send); } return c; });
  const [sc, rc] = await Promise.all([sendExit, recvExit]);
  signal.removeEventListener('abort', onAbort);
  if (signal.aborted) throw new ExecError('cancelled', `receive of ${snap} cancelled`);
  if (sc !== 0) {
    const cls = session.classify({ code: sc, stdout: '', stderr: sendErr }, 'zfs');
    throw new ExecError(cls, `zfs send ${snap} on the target failed (exit ${sc}): ${oneLine(sendErr) || oneLine(recvErr)}`);
  }
  if (rc !== 0) throw new ExecError('zfs', `zfs recv ${to} failed (exit ${rc}): ${oneLine(recvErr)}`);
}
