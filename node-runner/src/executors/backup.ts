// Dataset backup (docs/zfs.md): preflight → atomic snapshot → send each dataset to the
// job's generation on the target (full only for datasets new to it, else incremental from the
// newest GUID-common snapshot) → verify GUIDs, tag and hold the new base on both sides →
// prune (Keep Last) → catalog. The transfer and the checks after it: backup-send.ts.
//
// Target layout: <backupRoot>/j<jobId>/g<generation>/<full source path>.
// Not mounting received data: `<backupRoot>/j<jobId>` is created with mountpoint=none and
// readonly=on, and every received dataset inherits both. A full stream is sent without -p/-R, so
// it carries no mountpoint of its own, and a receive under a mountpoint=none parent never mounts
// anything. This is what works on zfs-fuse 0.7, which has no `recv -u`/`-o`/`-x` (checked there:
// after `zfs recv`, `mounted` is "no" and `readonly` is "on", inherited). Where `recv -u` exists it
// is passed as well.
import * as layout from '../../../protocol/src/layout.ts';
import { excludeListError, excluder } from '../../../protocol/src/exclude.ts';
import { SshSession } from '../ssh/index.ts';
import {
  LocalHost,
  Zfs,
  isSameOrDescendant,
  isValidDatasetName,
  USER_PROP_EVENT,
  USER_PROP_GENERATION,
  USER_PROP_JOB,
  USER_PROP_SOURCE,
  type DatasetInfo,
  type ZfsCapabilities,
} from '../zfs/index.ts';
import { readCatalog } from './browse.ts';
import { planStream } from './stream-options.ts';
import { settleBackupReceives } from './resume.ts';
import { decideGeneration, planDatasets } from './backup-plan.ts';
import { sendAll, type DatasetPlan, type Link } from './backup-send.ts';
import { pickSnapshotName, snapshotSources } from './backup-snapshot.ts';
import { pruneAfterBackup, retentionOf } from './backup-prune.ts';
import { dropOldGenerations } from './backup-generations.ts';
import { planBookmarkPrune } from './backup-holds.ts';
import { ExecError, type BackupParams, type BackupResult, type ExecContext, type Phase } from './types.ts';
import { asExecError } from '../core/errors.ts';
import type { BackupGuest } from '../guests/types.ts';

export type { BackupGuest };

export type RunBackupParams = BackupParams & { guest?: BackupGuest | null };

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const poolOf = (ds: string) => ds.split('/')[0];
const parentOf = (ds: string) => ds.slice(0, ds.lastIndexOf('/'));

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new ExecError('cancelled', 'backup cancelled');
}

export async function runBackup(params: RunBackupParams, ctx: ExecContext): Promise<BackupResult> {
  try {
    return await backup(params, ctx);
  } catch (e) {
    const err = asExecError(e);
    if (ctx.signal.aborted && err.errorClass !== 'cancelled') throw new ExecError('cancelled', `backup cancelled: ${err.message}`);
    throw err;
  }
}

async function backup(params: RunBackupParams, ctx: ExecContext): Promise<BackupResult> {
  const { target, job } = params;
  const signal = ctx.signal;
  const phase = (p: Phase) => ctx.progress({ phase: p });
  const roots = params.guest?.roots?.length ? [...params.guest.roots].sort(cmp) : [job.source];
  if (job.mode !== 'dataset' && !params.guest)
    throw new ExecError('internal', `${job.mode} job ${job.id}: the guest's dataset roots were not provided`);
  for (const r of [...roots, target.backupRoot]) {
    if (!isValidDatasetName(r)) throw new ExecError('internal', `invalid dataset name ${JSON.stringify(r)}`);
  }
  const recursive = layout.jobIsRecursive(job);
  // children left out of a recursive dataset job (protocol/src/exclude.ts): never snapshotted by
  // this run, never sent, never pruned
  const patterns = job.exclude ?? [];
  const badPatterns = excludeListError(patterns);
  if (badPatterns) throw new ExecError('internal', `job ${job.id}: exclude ${badPatterns[1]}`);
  if (patterns.length && !(job.mode === 'dataset' && recursive))
    throw new ExecError('internal', `job ${job.id}: exclude patterns apply only to recursive dataset jobs`);
  const leftOut = excluder(job.source, patterns);
  const jobRoot = layout.jobRoot(target.backupRoot, job.id);
  const genRoot = (g: number) => layout.generationRoot(target.backupRoot, job.id, g);
  const targetPath = (g: number, src: string) => layout.targetPath(target.backupRoot, job.id, g, src);

  // ---- 1. preflight --------------------------------------------------------------------------
  phase('preparing');
  const local = new Zfs(new LocalHost(), signal);
  let sourceProps: string[] = [];
  const readTree = async (z: Zfs) =>
    (await Promise.all(roots.map((r) => z.tree(r, recursive, sourceProps)))).flat().sort((a, b) => cmp(a.name, b.name));
  const readSource = async (z: Zfs) => (await readTree(z)).filter((d) => !leftOut(d.name));
  // The SSH connect (handshake, remote shell start) is the slow part of preparing: local checks and
  // listings run meanwhile. A local failure still wins (it is reported, the session closed). Where
  // the runner keeps connections warm, a connection of the same identity left by an earlier run is
  // taken instead (ssh/session.ts), and this one is kept for the next run when this run succeeds.
  const sessionP = SshSession.open(target, { signal, persistentShell: true, warm: true, onConnectRetry: (l) => ctx.log(l, 'warn') });
  sessionP.catch(() => {
    /* awaited below */
  });
  let lcaps: ZfsCapabilities;
  let srcBefore: DatasetInfo[];
  let excludedNow: string[]; // left-out datasets that exist now
  let localRootGuid: string | null; // the backup root's GUID if this host has a dataset of that name
  try {
    lcaps = await local.capabilities();
    if (lcaps.encryption) sourceProps = ['encryption'];
    const there = await local.existing(roots);
    for (const r of roots) {
      if (!there.has(r)) throw new ExecError('source-state', `source dataset ${r} does not exist`);
    }
    let tree: DatasetInfo[];
    [tree, localRootGuid] = await Promise.all([readTree(local), local.guidIfExists(target.backupRoot)]);
    srcBefore = tree.filter((d) => !leftOut(d.name));
    excludedNow = tree.filter((d) => leftOut(d.name)).map((d) => d.name);
  } catch (e) {
    await sessionP.then(
      (s) => s.close(),
      () => undefined,
    ); // leave no ssh process behind
    throw e;
  }
  const session = await sessionP;
  ctx.log(
    session.reused
      ? `ssh: reusing the warm connection to ${session.label} (master pid ${session.masterPid})`
      : `ssh: connected to ${session.label} (master pid ${session.masterPid})`,
  );
  const link: Link = { session, remote: new Zfs(session, signal), local, standby: session.spawnStandby(), received: false, landed: false };
  const scaffold: { name: string; guid: string }[] = [];
  let succeeded = false; // only a run that succeeded leaves its connection warm
  try {
    const rcaps = await link.remote.capabilities();
    const rootGuid = await link.remote.guidIfExists(target.backupRoot);
    if (!rootGuid) throw new ExecError('target-not-ready', `backup root ${target.backupRoot} does not exist on the target`);
    checkNotSameTree(localRootGuid, rootGuid, roots, target.backupRoot);

    const readTarget = () => link.remote.treeIfExists(jobRoot, true, rcaps.encryption ? ['encryption'] : []);
    const byName = (l: DatasetInfo[]) => new Map(l.map((d) => [d.name, d]));

    let tgt = byName(await readTarget());
    const jobRootInfo = tgt.get(jobRoot);
    if (jobRootInfo && jobRootInfo.job !== job.id) {
      throw new ExecError(
        'target-not-ready',
        `${jobRoot} exists on the target but is not owned by job ${job.id} (lifeboat:job=${jobRootInfo.job ?? 'unset'})`,
      );
    }
    // An earlier run cut off mid-stream: resume it where `recv -s` exists, else nothing is left (resume.ts).
    let resumedBytes = 0;
    if (rcaps.resumableRecv) {
      const gens = [genRoot(params.generation), genRoot(params.nextGeneration)].filter((g) => tgt.has(g));
      const resumed = await settleBackupReceives(link.remote, link.session, local, gens, job.id, ctx);
      resumedBytes = resumed.bytes;
      if (resumed.settled) tgt = byName(await readTarget());
    }

    // ---- generation: continue, fork (after a restore) or start over (backup-plan.ts) -------------
    const decided = decideGeneration({
      jobId: job.id,
      roots,
      backupRoot: target.backupRoot,
      generation: params.generation,
      nextGeneration: params.nextGeneration,
      forkFrom: params.forkFrom ?? null,
      catalogDatasets: params.catalogDatasets ?? null,
      sendDecrypted: !!job.sendDecrypted,
      source: srcBefore,
      target: tgt,
    });
    const { generation, newGeneration, fork } = decided;
    for (const n of decided.notes) ctx.log(n);
    if (newGeneration) ctx.log(newGeneration.reason);

    // ---- 2. atomic snapshot (backup-snapshot.ts) ---------------------------------------------------
    checkAborted(signal);
    const snapName = pickSnapshotName(job.id, ctx.now?.() ?? new Date(), [srcBefore, tgt.values()]);
    const snapProps = {
      [USER_PROP_JOB]: String(job.id),
      [USER_PROP_GENERATION]: String(generation),
      [USER_PROP_EVENT]: String(ctx.eventId),
    };
    await snapshotSources({
      local,
      caps: lcaps,
      roots,
      recursive,
      name: snapName,
      props: snapProps,
      leaveOut: excludedNow.length ? { included: srcBefore.map((d) => d.name), excluded: excludedNow } : null,
      jobId: job.id,
      guest: params.guest ?? null,
      stopGuest: !!job.stopBeforeBackup,
      phase,
      ctx,
    });
    ctx.checkpoint?.('after-snapshot');

    // ---- target scaffolding (removed again if this run fails before anything arrives) -----------
    // The source is listed meanwhile (one round trip each side instead of two in a row).
    const srcP = readSource(local);
    srcP.catch(() => {
      /* awaited below */
    });
    // Parents known to exist on the target (listed or made by this run): not listed again.
    const ensured = new Set<string>();
    const ensureParent = async (ds: string) => {
      if (ensured.has(parentOf(ds))) return;
      await link.remote.ensureDataset(parentOf(ds), {}, { into: scaffold });
      ensured.add(parentOf(ds));
    };
    if (!tgt.has(genRoot(generation))) {
      // the job root, the generation and the first root's parents, in one go
      const levelProps = (n: string): Record<string, string> =>
        n === jobRoot
          ? { mountpoint: 'none', readonly: 'on', [USER_PROP_JOB]: String(job.id) }
          : n === genRoot(generation)
            ? { [USER_PROP_JOB]: String(job.id), [USER_PROP_GENERATION]: String(generation) }
            : {};
      const first = parentOf(targetPath(generation, roots[0]));
      await link.remote.ensureDataset(first, levelProps, { into: scaffold });
      ensured.add(first);
    }

    // ---- fork the new generation from the restored snapshot ------------------------------------
    const src = (await srcP).filter((d) => d.snapshots.some((s) => s.name === snapName));
    if (fork) {
      await forkGeneration(link.remote, fork, src, tgt, job.id, generation, (d) => targetPath(generation, d), ensureParent, ctx);
      tgt = byName(await readTarget());
    }

    // ---- plan each dataset (parents first; backup-plan.ts) ----------------------------------------
    const planned = planDatasets({
      source: src,
      target: tgt,
      snapName,
      sendDecrypted: !!job.sendDecrypted,
      targetPathOf: (d) => targetPath(generation, d),
    });
    for (const w of planned.warnings) ctx.log(w, 'warn');
    const plans: DatasetPlan[] = planned.plans.map((p) => ({ ...p, estimate: 0 }));
    if (plans.some((p) => p.raw))
      ctx.log(
        `raw send (zfs send -w) of the encrypted dataset(s) ${plans
          .filter((p) => p.raw)
          .map((p) => p.source)
          .join(', ')}: the target receives ciphertext only`,
      );

    // ---- 3. transfer, 4. verify by GUID and tag ----------------------------------------------------
    checkAborted(signal);
    const stream = planStream({
      sender: lcaps,
      receiver: rcaps,
      compressed: job.compressedStream,
      jobLimit: job.bandwidthLimitKiBps,
      targetLimit: target.bandwidthLimitKiBps,
    });
    for (const n of stream.notes) ctx.log(n);
    const results = await sendAll({
      link,
      jobId: job.id,
      plans,
      src,
      targetBefore: tgt,
      lcaps,
      rcaps,
      target,
      snapName,
      snapProps,
      stream,
      // a dataset's own tags, given by a full receive (`recv -o`) where zfs can, else set after it
      datasetProps: (p): Record<string, string> =>
        p.base ? {} : { [USER_PROP_JOB]: String(job.id), [USER_PROP_GENERATION]: String(generation), [USER_PROP_SOURCE]: p.source },
      guestProps: params.guest?.properties && { props: params.guest.properties, roots },
      resumedBytes,
      ensureParent,
      ctx,
    });
    phase('finalizing');

    // ---- 5. prune (backup-prune.ts) -----------------------------------------------------------------
    let pruned: BackupResult['pruned'] = [];
    let sourceNow = src;
    const retention = retentionOf(job);
    if (retention.source || retention.target) {
      phase('pruning');
      sourceNow = await readSource(link.local);
      pruned = await pruneAfterBackup({
        job,
        generation,
        local: link.local,
        remote: link.remote,
        source: sourceNow,
        target: byName(await readTarget()),
        sourcePools: [...new Set(roots.map(poolOf))],
        targetPool: poolOf(target.backupRoot),
        genRoot: genRoot(generation),
        targetPathOf: (d) => targetPath(generation, d),
        now: Math.floor(Date.now() / 1000),
        ctx,
      });
    }

    // ---- bookmarks that are no incremental base any more (backup-holds.ts) -------------------------
    if (lcaps.bookmarks) {
      for (const d of src) {
        const onTarget = (tgt.get(targetPath(generation, d.name))?.snapshots ?? []).map((s) => s.guid);
        for (const b of planBookmarkPrune(job.id, d.bookmarks, onTarget)) {
          try {
            await link.local.destroyBookmarkChecked(b.full, b.guid);
            ctx.log(`destroyed bookmark ${b.full}: the target has no snapshot with its GUID any more`);
          } catch (e) {
            const err = asExecError(e);
            if (err.errorClass === 'cancelled') throw err;
            ctx.log(`kept bookmark ${b.full}: ${err.message}`);
          }
        }
      }
    }

    // ---- old generations the server chose (backup-generations.ts) ---------------------------------
    const droppedGenerations = params.dropGenerations?.length
      ? await dropOldGenerations(link.remote, {
          backupRoot: target.backupRoot,
          jobId: job.id,
          writing: [params.generation, params.nextGeneration],
          drops: params.dropGenerations,
          ctx,
        })
      : [];

    // ---- catalog ----------------------------------------------------------------------------------
    phase('finalizing');
    const catalog = await readCatalog(link.remote, target.backupRoot, job.id, { guestMetadata: job.mode !== 'dataset' });
    const bytesSent = resumedBytes + results.reduce((n, r) => n + r.bytes, 0);
    if (signal.aborted) ctx.log('cancel arrived after the data was safely on the target: the backup completed');
    ctx.log(
      `done: ${results.length} dataset(s), ${bytesSent} bytes${resumedBytes ? ` (${resumedBytes} of them resuming an interrupted receive)` : ''}, ${pruned.length} snapshot(s) pruned`,
    );
    const gone = new Set(pruned.filter((p) => p.side === 'source').map((p) => p.snapshot));
    const sourceSnapshots = sourceNow.map((d) => ({
      dataset: d.name,
      snapshots: d.snapshots
        .filter((s) => !gone.has(s.full))
        .map((s) => ({
          name: s.name,
          guid: s.guid,
          createtxg: String(s.createtxg),
          creation: s.creation,
          jobId: s.job,
          generation: s.generation,
          userrefs: s.userrefs,
        })),
    }));
    succeeded = true;
    return {
      snapshot: snapName,
      generation,
      newGeneration,
      bytesSent,
      datasets: results,
      pruned,
      catalog,
      sourceSnapshots,
      droppedGenerations,
    };
  } catch (e) {
    if (!link.received && scaffold.length) await removeEmptyScaffold(link.session, scaffold, ctx);
    if (link.landed) ctx.log('the data is on the target (GUID checked); what failed came after it');
    throw e;
  } finally {
    link.standby?.stdin?.end(); // unused: its `read` sees EOF and it exits
    await link.session.close({ keepWarm: succeeded });
  }
}

/**
 * Clone + promote each dataset of the restored tree (`fork`, from the server) into the new
 * generation, owner and GUID re-checked right before; a dataset not in that tree gets a full send.
 */
async function forkGeneration(
  remote: Zfs,
  fork: NonNullable<ReturnType<typeof decideGeneration>['fork']>,
  src: DatasetInfo[],
  tgt: Map<string, DatasetInfo>,
  jobId: number,
  generation: number,
  targetPathOf: (source: string) => string,
  ensureParent: (ds: string) => Promise<void>,
  ctx: ExecContext,
): Promise<void> {
  for (const d of src) {
    const from = tgt.get(`${fork.fromDataset}/${d.name}`);
    const fromSnap = from?.snapshots.find((s) => s.name === fork.snapName);
    const srcSnap = d.snapshots.find((s) => fromSnap && s.guid === fromSnap.guid);
    if (!from || !fromSnap || !srcSnap) continue; // not in the restored tree: full send below
    const to = targetPathOf(d.name);
    if (tgt.has(to)) continue;
    // re-check owner and GUID right before cloning
    const chk = (await remote.get([fromSnap.full], ['guid', USER_PROP_JOB])).get(fromSnap.full);
    if (chk?.guid !== fromSnap.guid || chk?.[USER_PROP_JOB] !== String(jobId))
      throw new ExecError('zfs', `fork source ${fromSnap.full} changed on the target`);
    // canmount=off: a delegated (non-root) clone of a mountable filesystem exits 1 on Linux
    await ensureParent(to);
    await remote.clone(fromSnap.full, to, { canmount: 'off' });
    await remote.promote(to);
    await remote.set(to, { [USER_PROP_JOB]: String(jobId), [USER_PROP_GENERATION]: String(generation), [USER_PROP_SOURCE]: d.name });
    ctx.log(`forked ${fromSnap.full} → ${to} (clone + promote)`);
  }
}

/**
 * A run that failed before anything arrived leaves no empty datasets behind: what it created
 * (job root, generation root, parents) is destroyed again, deepest first, each only while its GUID
 * is the one created and it has no snapshot and no child. Best effort (the connection may be gone);
 * what stays is reused by the next run.
 */
async function removeEmptyScaffold(session: SshSession, created: { name: string; guid: string }[], ctx: ExecContext): Promise<void> {
  const z = new Zfs(session); // not the run's signal: this must also work after a cancel
  for (const c of [...created].reverse()) {
    try {
      const t = await z.get([c.name], ['guid'], { recursive: true });
      if (t.get(c.name)?.guid !== c.guid || t.size !== 1) break;
      await z.run(['destroy', c.name], `zfs destroy ${c.name}`);
      ctx.log(`removed ${c.name} again: this run created it and nothing arrived`);
    } catch (e) {
      ctx.log(`kept the empty ${c.name} (${(e as Error).message}); the next run uses it`);
      break;
    }
  }
}

/** Refuse when the target's backup root (GUID `rguid`) and a source root are the same dataset tree on this host. */
function checkNotSameTree(localGuid: string | null, rguid: string, roots: string[], backupRoot: string): void {
  if (localGuid !== rguid) return; // a different pool/host
  for (const r of roots) {
    if (isSameOrDescendant(r, backupRoot) || isSameOrDescendant(backupRoot, r)) {
      throw new ExecError('target-not-ready', `source ${r} and backup root ${backupRoot} are the same dataset tree`);
    }
  }
}
