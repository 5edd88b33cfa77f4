// The swap of a restore (restore.ts) and the removal of what it leaves: every step records its
// inverse; staging and set-aside copies are destroyed only after their marker and GUID are checked.
import { asExecError } from '../core/errors.ts';
import { PROP, holdTag } from '../../../protocol/src/layout.ts';
import { USER_PROP_JOB, Zfs, isSameOrDescendant } from '../zfs/index.ts';
import {
  CARRY_PROPS,
  USER_PROP_SET_ASIDE,
  USER_PROP_STAGING,
  getWithSource,
  join,
  mountList,
  mountTree,
  readLive,
  relParent,
  runRetryBusy,
  unmountTree,
} from './restore-local.ts';
import type { Unit } from './restore-types.ts';
import { ExecError, type ExecContext } from './types.ts';
/**
 * Swap one destination: unmount, rename the live tree aside, rename staging into place, move local
 * datasets the snapshot does not have into the restored tree, fix properties, mount. Every step
 * pushes its inverse onto `undo`. Returns the preserved (moved) datasets.
 */
export async function swapUnit(
  z: Zfs,
  u: Unit,
  E: number,
  undo: { what: string; f: () => Promise<void> }[],
  ctx: ExecContext,
): Promise<string[]> {
  const d = u.destination;
  const restoredRels = new Set(u.items.map((i) => i.rel));
  const preserved: string[] = [];
  if (u.live) {
    // re-check what is about to be set aside, right before
    const guid = (await z.get([d], ['guid'])).get(d)?.guid;
    if (guid !== u.live[0].guid)
      throw new ExecError('source-state', `${d} changed since the restore started (GUID ${guid ?? 'none'}, was ${u.live[0].guid})`);
    u.live = await readLive(z, d); // children created during the transfer are moved over too
    const mounted = await unmountTree(z, d);
    undo.push({ what: `mounting ${d} again`, f: () => mountList(z, mounted) });
    // marked before the rename, so a crash never leaves an unmarked set-aside copy
    await z.set(d, { [USER_PROP_SET_ASIDE]: String(E) });
    undo.push({
      what: `clearing ${USER_PROP_SET_ASIDE} on ${d}`,
      f: () => z.run(['inherit', USER_PROP_SET_ASIDE, d], `zfs inherit ${d}`).then(() => undefined),
    });
    await runRetryBusy(z, ['rename', d, u.setAside], `zfs rename ${d} ${u.setAside}`);
    undo.push({
      what: `renaming ${u.setAside} back to ${d}`,
      f: () => runRetryBusy(z, ['rename', u.setAside, d], `zfs rename ${u.setAside} ${d}`),
    });
    ctx.log(`set aside ${d} → ${u.setAside}`);
    ctx.checkpoint?.('between-swap-renames');
  } else if (await z.exists(d)) {
    throw new ExecError('source-state', `${d} appeared while the restore was staging; not replacing it`);
  }

  // staging → place (re-check it is ours and what was verified)
  const sp = await getWithSource(z, [u.stagingRoot], ['guid', USER_PROP_STAGING]);
  const row = sp.get(u.stagingRoot);
  if (row?.[USER_PROP_STAGING]?.value !== String(E))
    throw new ExecError('internal', `${u.stagingRoot} is not this event's staging dataset`);
  const snapGuid = (await z.get([`${u.stagingRoot}@${u.items[0].snap.name}`], ['guid'])).get(
    `${u.stagingRoot}@${u.items[0].snap.name}`,
  )?.guid;
  if (snapGuid !== u.items[0].snap.guid) throw new ExecError('zfs', `${u.stagingRoot}@${u.items[0].snap.name} changed before the swap`);
  await runRetryBusy(z, ['rename', u.stagingRoot, d], `zfs rename ${u.stagingRoot} ${d}`);
  undo.push({
    what: `moving the restored ${d} back to ${u.stagingRoot}`,
    f: async () => {
      await unmountTree(z, d);
      // carried-over properties would mount it inside staging; staging stays unmounted
      for (const it of u.items)
        for (const p of CARRY_PROPS) await z.run(['inherit', p, join(d, it.rel)], `zfs inherit ${p}`).catch(() => undefined);
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
      undo.push({
        what: `moving ${to} back to ${from}`,
        f: async () => {
          await unmountTree(z, to);
          await runRetryBusy(z, ['rename', to, from], `zfs rename ${to} ${from}`);
        },
      });
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
export async function destroyStaging(z: Zfs, container: string, E: number, expectGuid: string | null): Promise<boolean> {
  if (!(await z.exists(container))) return false;
  const t = await getWithSource(z, [container], ['guid', USER_PROP_STAGING], { recursive: true });
  const own = t.get(container);
  if (own?.[USER_PROP_STAGING]?.source !== 'local' || own[USER_PROP_STAGING].value !== String(E)) {
    throw new ExecError('internal', `${container} is not this event's staging dataset; not destroying it`);
  }
  if (expectGuid !== null && own.guid?.value !== expectGuid)
    throw new ExecError('internal', `${container} changed (GUID); not destroying it`);
  for (const [n, p] of t) {
    if (p[USER_PROP_STAGING]?.value !== String(E))
      throw new ExecError('internal', `${n} inside ${container} is not marked as this event's staging; not destroying`);
  }
  try {
    await unmountTree(z, container);
  } catch {
    /* staging is never mounted; destroy reports real problems */
  }
  await runRetryBusy(z, ['destroy', '-r', container], `zfs destroy -r ${container}`);
  return true;
}

export async function cleanupStaging(z: Zfs, units: Unit[], E: number, ctx: ExecContext): Promise<void> {
  for (const u of units) {
    // A receive killed a moment ago (cancel) can keep the dataset busy briefly on zfs-fuse: retry a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        if (await destroyStaging(z, u.container, E, u.containerGuid)) ctx.log(`removed staging ${u.container}`);
        break;
      } catch (e) {
        if (attempt < 5) {
          await new Promise((r) => setTimeout(r, 500 * attempt));
          continue;
        }
        ctx.log(`staging ${u.container} was kept (${asExecError(e).message}); it carries ${USER_PROP_STAGING}=${E}`, 'warn');
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
      } catch {
        break;
      }
    }
  }
}

/**
 * After the swap, each incrementally restored dataset is a clone whose origin is a snapshot of the
 * set-aside copy (the live base it was cloned from, renamed aside with its dataset). Promote it, so
 * the set-aside copy no longer holds its origin and can be destroyed: the promote moves the base and
 * every older snapshot of that set-aside dataset into the restored one (where they stay: the live
 * tree's history up to the base survives the restore). Checked right before each promote: the
 * dataset is the clone this restore made (GUID) and its origin the set-aside copy's base (name and
 * GUID); anything else throws, and the caller keeps the set-aside copy. Returns what was promoted.
 */
export async function promoteRestored(z: Zfs, u: Unit): Promise<string[]> {
  const done: string[] = [];
  for (const it of u.items) {
    const b = u.bases.get(it.rel);
    const cloneGuid = u.clones.get(it.rel);
    if (b?.mode !== 'incremental' || cloneGuid === undefined) continue;
    const ds = join(u.destination, it.rel);
    const origin = `${join(u.setAside, it.rel)}@${b.live.name}`;
    const t = await z.get([ds], ['guid', 'origin']);
    const row = t.get(ds);
    if (row?.guid !== cloneGuid) throw new ExecError('internal', `${ds} is not the clone this restore made (GUID); not promoting it`);
    if (row.origin === null || row.origin === undefined) continue; // promoted already (nothing depends on the set-aside copy)
    if (row.origin !== origin) throw new ExecError('internal', `${ds} is a clone of ${row.origin}, not of ${origin}; not promoting it`);
    const og = (await z.get([origin], ['guid'])).get(origin)?.guid;
    if (og !== b.live.guid) throw new ExecError('internal', `${origin} is not the base ${b.live.full} (GUID); not promoting ${ds}`);
    await runRetryBusy(z, ['promote', ds], `zfs promote ${ds}`);
    done.push(ds);
  }
  return done;
}

/**
 * The datasets of a set-aside copy, after the checks every use of one makes right before: its root is
 * marked lifeboat:set-aside=E (locally), has the GUID `rootGuid`, and every dataset in it is one of
 * `known` (the tree the restore set aside). Returns their GUIDs (the root's first) and the snapshots
 * that carry a job's hold (`lifeboat-j<job>`, backup-holds.ts) by job.
 */
async function checkedSetAside(z: Zfs, name: string, E: number, rootGuid: string, known: Set<string>) {
  const t = await getWithSource(z, [name], ['type', 'guid', 'userrefs', USER_PROP_JOB, USER_PROP_SET_ASIDE], { recursive: true });
  const root = t.get(name);
  if (root?.[USER_PROP_SET_ASIDE]?.source !== 'local' || root[USER_PROP_SET_ASIDE].value !== String(E))
    throw new ExecError('internal', `${name} is not marked as set aside by restore event ${E}`);
  if (root.guid?.value !== rootGuid) throw new ExecError('internal', `${name} is not the dataset that was set aside (GUID)`);
  const guids = [rootGuid];
  const filesystems: string[] = [];
  const held = new Map<number, string[]>();
  for (const [n, p] of t) {
    if (n.includes('@')) {
      // the jobs' holds on their incremental bases go with the copy; anyone else's hold stays
      const job = Number(p[USER_PROP_JOB]?.value);
      if (Number(p.userrefs?.value) > 0 && Number.isSafeInteger(job) && job > 0) held.set(job, [...(held.get(job) ?? []), n]);
      continue;
    }
    if (n.includes('#')) continue; // bookmarks go with their dataset
    if (!known.has(p.guid?.value ?? '')) throw new ExecError('internal', `${n} was not part of the set-aside tree`);
    if (n !== name) guids.push(p.guid!.value!);
    if (p.type?.value === 'filesystem') filesystems.push(n);
  }
  return { guids, filesystems, held };
}

/** Release the jobs' holds inside a checked set-aside copy: they guarded the live tree's chain, not the copy. */
async function releaseJobHolds(z: Zfs, held: Map<number, string[]>): Promise<void> {
  for (const [job, snaps] of held) await z.setAndHold([], { tag: holdTag(job), hold: [], release: snaps });
}

/**
 * Destroy a set-aside copy, after checkedSetAside (root marked by E with `rootGuid`, nothing in it
 * but `known` datasets). Anyone else's hold stays, and the destroy then fails: the copy is kept and
 * reported. Used after a restore's swap and by a remove-kept event (remove-kept.ts).
 */
export async function destroySetAside(z: Zfs, name: string, E: number, rootGuid: string, known: Set<string>): Promise<void> {
  const { held } = await checkedSetAside(z, name, E, rootGuid, known);
  await releaseJobHolds(z, held);
  await runRetryBusy(z, ['destroy', '-r', name], `zfs destroy -r ${name}`);
}

/**
 * Keep a set-aside copy on purpose ("keep the replaced dataset"), after the same checks: marked
 * lifeboat:kept=E, so later restores report it and never rename it back; it never mounts by itself
 * (mountpoint=none on its root, canmount=noauto on every filesystem: it may carry the restored
 * dataset's mountpoints); the jobs' holds in it are released. Returns its datasets' GUIDs, the root's first.
 */
export async function keepSetAside(z: Zfs, u: Unit, E: number): Promise<string[]> {
  const { guids, filesystems, held } = await checkedSetAside(z, u.setAside, E, u.live![0].guid, new Set(u.live!.map((l) => l.guid)));
  await z.set(u.setAside, { [PROP.kept]: String(E), mountpoint: 'none' });
  for (const f of filesystems) await z.set(f, { canmount: 'noauto' });
  await releaseJobHolds(z, held);
  return guids;
}

/** The GUIDs of a set-aside copy that stays because its removal failed (for the report; empty when unreadable). */
export async function setAsideGuids(z: Zfs, u: Unit, E: number): Promise<string[]> {
  try {
    return (await checkedSetAside(z, u.setAside, E, u.live![0].guid, new Set(u.live!.map((l) => l.guid)))).guids;
  } catch {
    return [];
  }
}
