// Restore (docs/zfs.md: restores): receive the chosen snapshot of every dataset of the tree
// from the target into a staging dataset beside the destination, verify every GUID, then swap:
// rename the live dataset aside, rename staging into place, destroy the set-aside copy only after
// success. Any failure before that renames everything back and removes the staging datasets.
// A job restore whose live destination still has an older snapshot of a dataset's chain (GUID)
// receives only the increment from it, as a clone of that live snapshot inside staging, promoted
// after the swap so the set-aside copy can go (restore-base.ts; docs/zfs.md "Incremental restores").
//
// Local layout during a restore of `<parent>/<name>` by event E:
//   <parent>/.lb-staging-E-<name>          container created with lifeboat:staging=E, mountpoint=none
//   <parent>/.lb-staging-E-<name>/<name>   the received root (children below it), never mounted
//   <parent>/<name>-lb-old-E               the live tree, set aside (lifeboat:set-aside=E, set right
//                                          before the rename) until success, then destroyed (checked),
//                                          or kept on request (lifeboat:kept=E)
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
//
// This file runs the steps; the parts: restore-locate.ts (the snapshot tree on the target, by
// GUID), restore-transfer.ts (the stream and its estimate), restore-swap.ts (swap, rollback, removal
// of staging and set-aside copies), restore-leftovers.ts (earlier restores' debris),
// restore-local.ts (local dataset helpers), restore-types.ts (params, results, the plan's types),
// restore-base.ts (full or incremental, per dataset).
import { PROP, jobIsRecursive, setAsideNameFor, stagingNameFor } from '../../../protocol/src/layout.ts';
import { asExecError } from '../core/errors.ts';
import { SshSession } from '../ssh/index.ts';
import {
  LocalHost,
  USER_PROP_EVENT,
  USER_PROP_GENERATION,
  USER_PROP_JOB,
  Zfs,
  isSameOrDescendant,
  isValidDatasetName,
} from '../zfs/index.ts';
import { TransferProgress } from './progress.ts';
import { handleLeftovers } from './restore-leftovers.ts';
import {
  USER_PROP_SET_ASIDE,
  USER_PROP_STAGING,
  baseOf,
  checkNotTargetTree,
  cmp,
  isOwnStaging,
  join,
  parentOf,
  readLive,
} from './restore-local.ts';
import { planItemBase } from './restore-base.ts';
import { locate, type LocatedTree } from './restore-locate.ts';
import { cleanupStaging, destroySetAside, destroyStaging, keepSetAside, promoteRestored, setAsideGuids, swapUnit } from './restore-swap.ts';
import { restoreEstimate, transfer } from './restore-transfer.ts';
import { planStream } from './stream-options.ts';
import type { JobRestoreParams, OobRestoreParams, RestoreResult, RestoreSpec, Unit } from './restore-types.ts';
import { ExecError, type ExecContext } from './types.ts';

export { USER_PROP_SET_ASIDE, USER_PROP_STAGING } from './restore-local.ts';
export { setAsideNameFor, stagingNameFor };
export { findRestoreLeftovers } from './restore-leftovers.ts';

// ------------------------------------------------------------------------------------------------
// exported entry points

export async function runJobRestore(params: JobRestoreParams, ctx: ExecContext): Promise<RestoreResult> {
  const { job } = params;
  if (job.mode !== 'dataset' && !params.guest?.roots?.length) {
    throw new ExecError('internal', `${job.mode} job ${job.id}: the guest's dataset roots were not provided`);
  }
  const roots = params.guest?.roots?.length ? [...params.guest.roots].sort(cmp) : [job.source];
  return guard(ctx, 'restore', () =>
    restore(
      {
        kind: 'job',
        target: params.target,
        jobId: job.id,
        guid: params.guid,
        snapshot: params.snapshot,
        hint: params.dataset,
        generation: params.generation,
        roots,
        recursive: jobIsRecursive(job),
        overwrite: true,
        guestCreateOnly: false,
        guest: params.guest ?? null,
        oobGuest: null,
        compressedStream: job.compressedStream,
        bandwidthLimitKiBps: job.bandwidthLimitKiBps,
        keepReplaced: params.keepReplaced === true,
      },
      ctx,
    ),
  );
}

export async function runOobRestore(params: OobRestoreParams, ctx: ExecContext): Promise<RestoreResult> {
  return guard(ctx, 'out-of-band restore', () =>
    restore(
      {
        kind: 'oob',
        target: params.target,
        jobId: params.sourceJobId ?? null,
        guid: params.guid,
        snapshot: params.snapshot,
        hint: params.snapshotDataset || params.dataset,
        generation: params.generation ?? null,
        roots: null,
        destination: params.destination,
        recursive: true,
        overwrite: params.overwrite === true,
        keepReplaced: params.overwrite === true && params.keepReplaced === true,
        guestCreateOnly: params.guest != null,
        guest: null,
        oobGuest: params.guest
          ? {
              metadata: params.guest,
              restoreNetwork: params.restoreNetwork === true,
              newGuestId: params.newGuestId ?? null,
              registered: false,
            }
          : null,
      },
      ctx,
    ),
  );
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

async function restore(spec: RestoreSpec, ctx: ExecContext): Promise<RestoreResult> {
  const E = ctx.eventId;
  const signal = ctx.signal;
  ctx.progress({ phase: 'preparing' });
  if (!/^\d+$/.test(spec.guid)) throw new ExecError('internal', `invalid snapshot GUID ${JSON.stringify(spec.guid)}`);
  if (!isValidDatasetName(spec.target.backupRoot))
    throw new ExecError('internal', `invalid backup root ${JSON.stringify(spec.target.backupRoot)}`);
  const local = new Zfs(new LocalHost(), signal);
  const safe = new Zfs(new LocalHost()); // for rollback and cleanup: must work after an abort
  const lcaps = await local.capabilities();

  const session = await SshSession.open(spec.target, { signal, onConnectRetry: (l) => ctx.log(l, 'warn') });
  const units: Unit[] = [];
  const result: RestoreResult = {
    snapshot: '',
    guid: spec.guid,
    generation: spec.generation,
    bytesReceived: 0,
    datasets: [],
    replaced: [],
    preserved: [],
    kept: [],
    leftovers: [],
    guest: spec.oobGuest,
  };
  try {
    const remote = new Zfs(session, signal);
    const rcaps = await remote.capabilities();
    if (!(await remote.exists(spec.target.backupRoot))) {
      throw new ExecError('target-not-ready', `backup root ${spec.target.backupRoot} does not exist on the target`);
    }

    // ---- locate the snapshot tree on the target (by GUID; names only to find the children) ----------
    const located = await locate(remote, spec);
    if (located.leftOut.length) {
      ctx.log(
        `not restored, their tags name another job or generation (or none): ${located.leftOut.join(', ')}; the local datasets they would replace are kept as they are`,
        'warn',
      );
    }
    result.snapshot = located.name;
    result.generation = located.generation ?? spec.generation;
    if (spec.generation !== null && located.generation !== null && located.generation !== spec.generation) {
      ctx.log(
        `snapshot ${located.name} (GUID ${spec.guid}) is tagged generation ${located.generation} on the target, not ${spec.generation}`,
        'warn',
      );
    }

    // ---- leftovers of earlier restores beside the destinations: cleaned when their event is over, else reported
    const destinations = located.groups.map((g) => g.destination);
    for (const destination of destinations) {
      if (!isValidDatasetName(destination))
        throw new ExecError('source-state', `invalid destination dataset ${JSON.stringify(destination)}`);
      if (!destination.includes('/'))
        throw new ExecError('source-state', `cannot restore onto the pool root ${destination}; choose a dataset below it`);
    }
    for (const p of new Set(destinations.map(parentOf))) {
      if (await local.exists(p)) await handleLeftovers(local, safe, p, destinations, E, ctx, result);
    }

    // ---- plan each destination ---------------------------------------------------------------------
    units.push(...(await planUnits(local, safe, remote, located, spec, ctx)));

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
      if (raw.size)
        ctx.log(`raw receive of the encrypted backup(s) ${[...raw].join(', ')}: they land encrypted, load their key to mount them`);
    }
    // the same flags and limit as a backup's, the other way round: the target sends, this node receives
    const stream = planStream({
      sender: rcaps,
      receiver: lcaps,
      compressed: spec.compressedStream,
      jobLimit: spec.bandwidthLimitKiBps,
      targetLimit: spec.target.bandwidthLimitKiBps,
    });
    for (const n of stream.notes) ctx.log(n);
    // incremental where the live destination still has an older snapshot of the target's chain (by
    // GUID): restore-base.ts. Only where this node's zfs receives an increment as a clone of that
    // snapshot (`recv -o origin=`, OpenZFS); zfs-fuse 0.7 has no `recv -o` and refuses an increment
    // into a clone made beforehand ("invalid backup stream"), so there every restore stays full.
    const chains = new Map(located.tree.map((d) => [d.name, d.snapshots]));
    const noClonedReceive = `this node's zfs cannot receive an increment as a clone (no recv -o origin=)`;
    for (const u of units)
      for (const it of u.items)
        u.bases.set(
          it.rel,
          u.liveSnapshots && !lcaps.recvSetProps
            ? { mode: 'full', why: noClonedReceive }
            : u.liveSnapshots
              ? planItemBase({
                  chosen: it.snap,
                  targetChain: chains.get(it.snap.dataset) ?? [],
                  live: u.liveSnapshots.get(it.rel) ?? null,
                  raw: raw.has(it.snap.dataset),
                })
              : { mode: 'full', why: u.live ? 'an out-of-band restore' : 'a new destination' },
        );
    let total = 0;
    for (const u of units)
      for (const it of u.items) {
        const b = u.bases.get(it.rel);
        total += await restoreEstimate(
          remote,
          rcaps,
          it.snap,
          raw.has(it.snap.dataset),
          stream.flags,
          b?.mode === 'incremental' ? b.target : null,
        );
      }
    if (signal.aborted) throw new ExecError('cancelled', 'restore cancelled');
    const progress = new TransferProgress(ctx, total, 5000, 'restore-staging');
    progress.start();
    try {
      for (const u of units) {
        for (const it of u.items) {
          if (signal.aborted) throw new ExecError('cancelled', 'restore cancelled');
          const to = join(u.stagingRoot, it.rel);
          if (it.rel && !(await local.exists(parentOf(to))))
            throw new ExecError(
              'zfs',
              `the snapshot tree on the target has a gap: no ${located.name} for the parent of ${it.snap.dataset}`,
            );
          const b = u.bases.get(it.rel) ?? { mode: 'full', why: 'not planned' };
          // an increment is received as a clone of the live base inside staging (`recv -o origin=`):
          // it inherits lifeboat:staging and mountpoint=none from the container
          const origin = b.mode === 'incremental' ? b.live.full : null;
          ctx.log(
            b.mode === 'incremental'
              ? `receiving ${it.snap.full} → ${to} incrementally from ${b.target.name} (a clone of ${b.live.full})`
              : `receiving ${it.snap.full} → ${to} in full (${b.why})`,
          );
          const before = progress.bytesDone;
          await transfer(session, lcaps, it.snap.full, raw.has(it.snap.dataset), stream, to, progress, signal, {
            base: b.mode === 'incremental' ? b.target.full : null,
            origin,
          });
          if (origin) {
            const cg = (await local.get([to], ['guid', 'origin'])).get(to);
            if (!cg?.guid || cg.origin !== origin) throw new ExecError('zfs', `${to} is not a clone of ${origin} after the receive`);
            u.clones.set(it.rel, cg.guid);
          }
          const sent = progress.bytesDone - before;
          ctx.log(
            `${join(u.destination, it.rel)}: ${b.mode === 'incremental' ? `incremental from ${b.target.name}` : 'full'} (${sent} bytes)`,
          );
          result.datasets.push({
            source: it.snap.full,
            destination: join(u.destination, it.rel),
            guid: it.snap.guid,
            bytes: progress.bytesDone - before,
          });
        }
      }
    } finally {
      progress.stop();
    }
    result.bytesReceived = result.datasets.reduce((n, d) => n + d.bytes, 0);

    // ---- verify every GUID, and that staging holds exactly what was received ----------------------
    await verifyStaging(local, units, located.name, spec);
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
  await swapAll(safe, units, E, spec.guest, result, ctx);

  // ---- finalize: destroy the set-aside copies (checked) and the empty staging containers -------------
  ctx.progress({ phase: 'finalizing' });
  await finalizeUnits(safe, units, E, spec.keepReplaced === true, result, ctx);
  if (spec.oobGuest) {
    ctx.log(
      `guest metadata restored with the datasets; registering the guest${spec.oobGuest.restoreNetwork ? ' and applying its network config' : ''} is left to the guest provider`,
    );
  }
  ctx.log(`restored ${result.snapshot} (GUID ${result.guid}) onto ${units.map((u) => u.destination).join(', ')}`);
  return result;
}

/**
 * One unit per destination of the located tree: its staging, set-aside and live datasets, after the
 * checks that refuse before anything is made (the target's own tree, an existing destination
 * without overwrite, a type that is not restored, a name taken by something not ours).
 */
async function planUnits(local: Zfs, safe: Zfs, remote: Zfs, located: LocatedTree, spec: RestoreSpec, ctx: ExecContext): Promise<Unit[]> {
  const E = ctx.eventId;
  const units: Unit[] = [];
  for (const g of located.groups) {
    const destination = g.destination;
    await checkNotTargetTree(local, remote, destination, spec.target.backupRoot);
    const exists = await local.exists(destination);
    if (exists && spec.guestCreateOnly)
      throw new ExecError('source-state', `${destination} exists: guest restores never overwrite an existing dataset`);
    if (exists && !spec.overwrite) throw new ExecError('source-state', `${destination} exists; restoring over it needs overwrite`);
    if (exists) {
      const type = (await local.get([destination], ['type'])).get(destination)?.type;
      if (type !== 'filesystem' && type !== 'volume')
        throw new ExecError(
          'source-state',
          `${destination} is a ${type ?? 'dataset of unknown type'}; only filesystems and volumes are restored`,
        );
    }
    const u: Unit = {
      destination,
      parent: parentOf(destination),
      container: stagingNameFor(destination, E),
      stagingRoot: `${stagingNameFor(destination, E)}/${baseOf(destination)}`,
      setAside: setAsideNameFor(destination, E),
      items: g.items,
      live: exists ? await readLive(local, destination) : null,
      containerGuid: null,
      createdParents: [],
      liveSnapshots: null,
      bases: new Map(),
      clones: new Map(),
    };
    if (exists && spec.kind === 'job') {
      // the live tree's snapshots: an older one the target's chain also has (GUID) is an incremental base
      u.liveSnapshots = new Map();
      for (const d of await local.tree(destination, true)) {
        if (isSameOrDescendant(d.name, destination))
          u.liveSnapshots.set(d.name === destination ? '' : d.name.slice(destination.length + 1), d.snapshots);
      }
    }
    for (const it of u.items) {
      if (it.rel && !isValidDatasetName(join(destination, it.rel)))
        throw new ExecError('zfs', `unusable child dataset name ${JSON.stringify(it.rel)} on the target`);
    }
    for (const n of [u.container, u.setAside]) {
      if (await local.exists(n)) {
        // a leftover of this very event (a retry after a crash): only ours, checked, is removed
        const own = await isOwnStaging(safe, n, E);
        if (n === u.container && own) {
          await destroyStaging(safe, u.container, E, null);
          ctx.log(`removed leftover staging ${n} of this event`);
          continue;
        }
        throw new ExecError(
          'source-state',
          `${n} already exists${own ? '' : ' and is not a staging dataset of this event'}; not touching it`,
        );
      }
    }
    units.push(u);
  }
  return units;
}

/**
 * Staging holds exactly what was received, every snapshot `snapName` with the target's GUID; a job
 * restore's snapshots are tagged as the job's again (for Keep Last and as the next backup's base).
 */
async function verifyStaging(local: Zfs, units: Unit[], snapName: string, spec: RestoreSpec): Promise<void> {
  for (const u of units) {
    const got = await local.tree(u.container, true);
    const expect = new Set([u.container, ...u.items.map((i) => join(u.stagingRoot, i.rel))]);
    for (const d of got) if (!expect.has(d.name)) throw new ExecError('zfs', `unexpected dataset ${d.name} in staging`);
    for (const it of u.items) {
      const ds = join(u.stagingRoot, it.rel);
      const s = got.find((d) => d.name === ds)?.snapshots.find((x) => x.name === snapName);
      if (!s) throw new ExecError('zfs', `${ds}@${snapName} is missing after the receive`);
      if (s.guid !== it.snap.guid)
        throw new ExecError(
          'zfs',
          `GUID mismatch after receive: ${ds}@${snapName} has ${s.guid}, the target's ${it.snap.full} has ${it.snap.guid}`,
        );
      if (spec.kind === 'job' && spec.jobId !== null) {
        const tags: Record<string, string> = { [USER_PROP_JOB]: String(spec.jobId) };
        if (it.snap.generation !== null) tags[USER_PROP_GENERATION] = String(it.snap.generation);
        if (it.snap.event !== null) tags[USER_PROP_EVENT] = String(it.snap.event);
        await local.set(`${ds}@${snapName}`, tags);
      }
    }
  }
}

/**
 * Swap every unit in (restore-swap.ts), the guest stopped around it. Every step recorded its
 * inverse: on a failure they run backwards and the guest is started again; an inverse that fails
 * keeps staging and set-aside copies for inspection and says so in the error.
 */
async function swapAll(
  safe: Zfs,
  units: Unit[],
  E: number,
  guest: RestoreSpec['guest'],
  result: RestoreResult,
  ctx: ExecContext,
): Promise<void> {
  ctx.progress({ phase: 'swapping' });
  const undo: { what: string; f: () => Promise<void> }[] = [];
  let guestWasRunning = false;
  try {
    if (guest?.stop) {
      ctx.progress({ phase: 'stopping-guest' });
      guestWasRunning = await guest.stop();
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
      try {
        await step.f();
      } catch (ue) {
        failures.push(`${step.what}: ${asExecError(ue).message}`);
      }
    }
    if (guestWasRunning && guest?.start) {
      try {
        ctx.progress({ phase: 'starting-guest' });
        await guest.start();
      } catch (ge) {
        failures.push(`starting the guest: ${asExecError(ge).message}`);
      }
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
  if (guestWasRunning && guest?.start) {
    ctx.progress({ phase: 'starting-guest' });
    try {
      await guest.start();
    } catch (e) {
      ctx.log(`starting the guest again failed: ${asExecError(e).message}`, 'warn');
    }
  }
}

/**
 * After the swap: each set-aside copy destroyed once its marker and GUIDs check out (else kept and
 * reported), or kept on request (restore-swap.ts keepSetAside), then the empty staging containers.
 */
async function finalizeUnits(
  safe: Zfs,
  units: Unit[],
  E: number,
  keepReplaced: boolean,
  result: RestoreResult,
  ctx: ExecContext,
): Promise<void> {
  for (const u of units) {
    if (u.live) {
      try {
        // incremental datasets are clones of the set-aside copy's snapshots: promoted first (checked),
        // which moves those and older snapshots into the restored dataset (a kept copy then depends on
        // the restored dataset, not the other way round: it can be removed on its own later)
        for (const p of await promoteRestored(safe, u)) ctx.log(`promoted ${p} (its older snapshots are kept)`);
        if (keepReplaced) {
          result.kept.push({ dataset: u.setAside, guids: await keepSetAside(safe, u, E), chosen: true });
          ctx.log(`kept the replaced ${u.destination} as ${u.setAside} (${PROP.kept}=${E}, not mounted); remove it from the Nodes page`);
        } else {
          await destroySetAside(safe, u.setAside, E, u.live[0].guid, new Set(u.live.map((l) => l.guid)));
          ctx.log(`destroyed the set-aside copy ${u.setAside}`);
        }
      } catch (e) {
        result.kept.push({ dataset: u.setAside, guids: await setAsideGuids(safe, u, E), chosen: false });
        ctx.log(`the set-aside copy ${u.setAside} was kept (${asExecError(e).message}); it carries ${USER_PROP_SET_ASIDE}=${E}`, 'warn');
        // it may still carry the replaced dataset's own mountpoint: keep it from mounting over the restored one
        await safe.set(u.setAside, { mountpoint: 'none' }).catch(() => undefined);
      }
    }
    try {
      await destroyStaging(safe, u.container, E, u.containerGuid);
    } catch (e) {
      result.leftovers.push(u.container);
      ctx.log(`staging container ${u.container} was kept (${asExecError(e).message})`, 'warn');
    }
  }
}
