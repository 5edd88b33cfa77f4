// Out-of-band restores: any catalogued snapshot onto any node and dataset. The checks the submit and
// the preview share, the queueing (idempotent by key), and the preview's input from the node's inventory
// (what it shows is decided in restore-preview.ts).
import type { z } from '@hono/zod-openapi';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { ACTIVE_STATUSES } from '../../../protocol/src/events.ts';
import type { OobRestore } from '../contract/api.ts';
import { catalogDatasets, catalogSnapshots, events, guests, nodeDatasets, targets } from '../db/schema.ts';
import { conflict, invalid, isUniqueViolation } from '../lib/errors.ts';
import type { AppDeps } from '../lib/http.ts';
import { refreshInventory } from './inventory.ts';
import { resolveNode } from './nodes.ts';
import { catalogGuest, checkNetworkInput, inheritedMountpoint, previewGuestRestore } from './restore-preview.ts';

type OobBody = z.infer<typeof OobRestore>;
type RestoreDeps = Pick<AppDeps, 'db' | 'waker' | 'now'>;

/**
 * Everything POST /restores checks before it queues (400 naming the field, 409 for what exists),
 * shared with the preview. `freshInventory`: ask the node when the destination is not in its last
 * inventory (the submit does; the preview, called as the user types, judges by the last one).
 */
async function checkOobRestore(deps: RestoreDeps, b: OobBody, freshInventory: boolean) {
  const db = deps.db;
  if (typeof b.overwrite === 'string' && b.overwrite !== b.destination) {
    throw invalid('overwrite', `must repeat the destination name (${b.destination}) exactly to replace it`);
  }
  const overwrite = b.overwrite === b.destination;
  const [t] = await db.select().from(targets).where(eq(targets.id, b.targetId));
  if (!t) throw invalid('targetId', `target ${b.targetId} does not exist`);
  const node = await resolveNode(db, b.nodeId);
  const [ds] = await db
    .select()
    .from(catalogDatasets)
    .where(and(eq(catalogDatasets.targetId, t.id), eq(catalogDatasets.dataset, b.dataset)));
  if (!ds) throw invalid('dataset', `"${b.dataset}" is not in the catalog of target "${t.name}"; refresh the catalog`);
  // The snapshot may physically live in another generation's dataset after a promote; match by generation and name/GUID.
  const snaps = await db
    .select()
    .from(catalogSnapshots)
    .where(and(eq(catalogSnapshots.targetId, t.id), eq(catalogSnapshots.generation, b.generation)));
  const snap =
    snaps.find(
      (s) => (s.name === b.snapshot || s.guid === b.snapshot) && (s.dataset === b.dataset || (ds.source != null && s.jobId === ds.jobId)),
    ) ??
    (
      await db
        .select()
        .from(catalogSnapshots)
        .where(and(eq(catalogSnapshots.targetId, t.id), eq(catalogSnapshots.dataset, b.dataset)))
    ).find((s) => s.name === b.snapshot || s.guid === b.snapshot);
  if (!snap) throw invalid('snapshot', `no snapshot "${b.snapshot}" of generation ${b.generation} for "${b.dataset}"`);
  // a backup of the job that is destroying this generation now (old generations): not from it
  if (ds.jobId != null && b.generation != null) {
    const [dropping] = await db
      .select({ id: events.id })
      .from(events)
      .where(
        and(
          eq(events.jobId, ds.jobId),
          eq(events.kind, 'backup'),
          inArray(events.status, [...ACTIVE_STATUSES]),
          sql`EXISTS (SELECT 1 FROM json_each(${events.params}, '$.dropGenerations') d WHERE json_extract(d.value, '$.generation') = ${b.generation})`,
        ),
      );
    if (dropping)
      throw conflict(`backup event ${dropping.id} is destroying generation ${b.generation} (old generations); restore from a newer one`, {
        generation: 'is being destroyed',
      });
  }
  const guest = ds.guest != null ? catalogGuest(ds.guest) : null;
  if (b.network && !guest)
    throw invalid('network', `"${b.dataset}" is a plain dataset, not a jail or VM: there is no network configuration to set`);
  if (guest) {
    // README limitations: out of band, one dataset is restored; a guest spread over several is restored from its job
    if (guest.roots.length > 1) {
      throw invalid(
        'dataset',
        `${guest.kind} ${guest.name} has ${guest.roots.length} dataset roots; restore it from its job (all roots as one set), not one dataset out of band`,
      );
    }
    // the user's own network configuration: the same allow-list the runner applies
    if (b.network) checkNetworkInput(guest.kind, b.network);
    // Guests are create-only: an id the node already has is a conflict, before any data moves.
    const wantId = b.newGuestId || guest.id;
    const [taken] = await db
      .select({ id: guests.guestId })
      .from(guests)
      .where(and(eq(guests.nodeId, node.id), eq(guests.kind, guest.kind), eq(guests.guestId, wantId)));
    if (taken)
      throw conflict(`${guest.kind} ${wantId} already exists on node "${node.name}"; restore under a new id`, {
        newGuestId: `${guest.kind} ${wantId} already exists`,
      });
  }
  const destinationListed = async () =>
    (
      await db
        .select({ name: nodeDatasets.name })
        .from(nodeDatasets)
        .where(and(eq(nodeDatasets.nodeId, node.id), eq(nodeDatasets.name, b.destination)))
    )[0];
  // not in the last report: ask the node (it may have appeared since), so the answer is a 409, not a failure later
  let exists = node.inventoryAt != null ? await destinationListed() : undefined;
  if (!exists && freshInventory && (await refreshInventory(deps, node.id))) exists = await destinationListed();
  if (exists && guest) throw conflict('guest restores never overwrite an existing dataset', { destination: 'already exists' });
  if (exists && !overwrite)
    throw conflict(`the destination exists; to replace it, send overwrite: "${b.destination}" (its name again)`, {
      destination: 'already exists (repeat its name in overwrite to replace it)',
    });
  return { t, node, ds, snap, guest, overwrite, exists: !!exists };
}

/** Queue the restore; returns the event id. A key seen before answers the event it queued (also when two race). */
export async function queueOobRestore(deps: RestoreDeps, b: OobBody, key: string | null, at: number): Promise<number> {
  const db = deps.db;
  const seenEvent = async () =>
    (
      await db
        .select({ id: events.id })
        .from(events)
        .where(eq(events.idempotencyKey, `oob:${key}`))
    )[0];
  if (key) {
    const seen = await seenEvent();
    if (seen) return seen.id;
  }
  const { t, node, ds, snap, overwrite } = await checkOobRestore(deps, b, true);
  try {
    const [ev] = await db
      .insert(events)
      .values({
        kind: 'oob-restore',
        nodeId: node.id,
        targetId: t.id,
        trigger: 'manual',
        status: 'queued',
        source: `${snap.dataset}@${snap.name}`,
        destination: b.destination,
        generation: b.generation,
        snapshot: snap.name,
        idempotencyKey: key ? `oob:${key}` : null,
        createdAt: at,
        params: {
          dataset: b.dataset,
          snapshotDataset: snap.dataset,
          generation: b.generation,
          snapshot: snap.name,
          guid: snap.guid,
          destination: b.destination,
          restoreNetwork: b.restoreNetwork || !!b.network,
          overwrite,
          keepReplaced: overwrite && b.keepReplaced,
          guest: ds.guest ?? null,
          newGuestId: b.newGuestId ?? null,
          sourceJobId: ds.jobId,
          network: b.network ?? null,
        },
      })
      .returning({ id: events.id });
    await deps.waker?.notify(node.id);
    return ev.id;
  } catch (err) {
    if (key && isUniqueViolation(err)) {
      const seen = await seenEvent();
      if (seen) return seen.id;
    }
    throw err;
  }
}

/** What POST /restores would do, checked the same way: whether it replaces a dataset, and for a guest what gets registered. */
export async function previewOobRestore(deps: RestoreDeps, b: OobBody) {
  const { node, guest, exists } = await checkOobRestore(deps, b, false);
  let preview = null;
  if (guest) {
    // the destination's mountpoint: inherited from its nearest ancestor in the node's inventory
    const mounts = new Map<string, string | null>();
    const parts = b.destination.split('/');
    const ancestors = parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('/'));
    if (ancestors.length) {
      for (const r of await deps.db
        .select({ name: nodeDatasets.name, mountpoint: nodeDatasets.mountpoint })
        .from(nodeDatasets)
        .where(and(eq(nodeDatasets.nodeId, node.id), inArray(nodeDatasets.name, ancestors))))
        mounts.set(r.name, r.mountpoint);
    }
    preview = previewGuestRestore({
      meta: guest,
      newGuestId: b.newGuestId || null,
      restoreNetwork: b.restoreNetwork,
      network: b.network ?? null,
      destination: b.destination,
      destinationPath: inheritedMountpoint(b.destination, mounts),
      nodeProviders: node.guestProviders ?? null,
    });
  }
  return { destination: b.destination, replaces: exists, guest: preview };
}
