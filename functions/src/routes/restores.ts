// Out-of-band restores: any catalogued snapshot onto any node and dataset.
import { createRoute } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { catalogDatasets, catalogSnapshots, events, guests, nodeDatasets, targets } from '../db/schema.ts';
import { Accepted, OobRestore } from '../contract/api.ts';
import { conflict, invalid, isUniqueViolation } from '../lib/errors.ts';
import { refreshInventory } from '../services/inventory.ts';
import { type App, errors, json, jsonBody, now, ok } from '../lib/http.ts';
import { resolveNode } from '../services/nodes.ts';

export function registerRestores(app: App) {
  app.openapi(createRoute({ method: 'post', path: '/restores', tags: ['restores'], request: jsonBody(OobRestore), responses: { 202: ok(Accepted, 'Queued'), ...errors } }), async (c) => {
    const b = c.req.valid('json');
    const db = c.var.deps.db;
    const key = c.req.header('idempotency-key') ?? null;
    if (key !== null && (key.length < 8 || key.length > 200)) throw invalid('Idempotency-Key', 'must be 8 to 200 characters');
    if (key) {
      const [seen] = await db.select({ id: events.id }).from(events).where(eq(events.idempotencyKey, `oob:${key}`));
      if (seen) return json(c, { eventId: seen.id }, 202);
    }
    if (typeof b.overwrite === 'string' && b.overwrite !== b.destination) {
      throw invalid('overwrite', `must repeat the destination name (${b.destination}) exactly to replace it`);
    }
    const overwrite = b.overwrite === b.destination;
    const [t] = await db.select().from(targets).where(eq(targets.id, b.targetId));
    if (!t) throw invalid('targetId', `target ${b.targetId} does not exist`);
    const node = await resolveNode(db, b.nodeId);
    const [ds] = await db.select().from(catalogDatasets).where(and(eq(catalogDatasets.targetId, t.id), eq(catalogDatasets.dataset, b.dataset)));
    if (!ds) throw invalid('dataset', `"${b.dataset}" is not in the catalog of target "${t.name}"; refresh the catalog`);
    // The snapshot may physically live in another generation's dataset after a promote; match by generation and name/GUID.
    const snaps = await db.select().from(catalogSnapshots).where(and(eq(catalogSnapshots.targetId, t.id), eq(catalogSnapshots.generation, b.generation)));
    const snap = snaps.find((s) => (s.name === b.snapshot || s.guid === b.snapshot) && (s.dataset === b.dataset || (ds.source != null && s.jobId === ds.jobId)))
      ?? (await db.select().from(catalogSnapshots).where(and(eq(catalogSnapshots.targetId, t.id), eq(catalogSnapshots.dataset, b.dataset))))
        .find((s) => s.name === b.snapshot || s.guid === b.snapshot);
    if (!snap) throw invalid('snapshot', `no snapshot "${b.snapshot}" of generation ${b.generation} for "${b.dataset}"`);
    const isGuest = ds.guest != null;
    if (isGuest) {
      const g = ds.guest as { kind?: string; id?: unknown; name?: unknown; roots?: unknown };
      // README limitations: out of band, one dataset is restored; a guest spread over several is restored from its job
      if (Array.isArray(g.roots) && g.roots.length > 1) {
        throw invalid('dataset', `${g.kind ?? 'guest'} ${String(g.name ?? g.id ?? '')} has ${g.roots.length} dataset roots; restore it from its job (all roots as one set), not one dataset out of band`);
      }
      // Guests are create-only: an id the node already has is a conflict, before any data moves.
      const wantId = String(b.newGuestId || g.id || '');
      const [taken] = wantId && (g.kind === 'jail' || g.kind === 'vm')
        ? await db.select({ id: guests.guestId }).from(guests).where(and(eq(guests.nodeId, node.id), eq(guests.kind, g.kind), eq(guests.guestId, wantId)))
        : [];
      if (taken) throw conflict(`${g.kind} ${wantId} already exists on node "${node.name}"; restore under a new id`, { newGuestId: `${g.kind} ${wantId} already exists` });
    }
    const destinationListed = async () => (await db.select({ name: nodeDatasets.name }).from(nodeDatasets).where(and(eq(nodeDatasets.nodeId, node.id), eq(nodeDatasets.name, b.destination))))[0];
    // not in the last report: ask the node (it may have appeared since), so the answer is a 409, not a failure later
    let exists = node.inventoryAt != null ? await destinationListed() : undefined;
    if (!exists && (await refreshInventory(c.var.deps, node.id))) exists = await destinationListed();
    if (exists && isGuest) throw conflict('guest restores never overwrite an existing dataset', { destination: 'already exists' });
    if (exists && !overwrite) throw conflict(`the destination exists; to replace it, send overwrite: "${b.destination}" (its name again)`, { destination: 'already exists (repeat its name in overwrite to replace it)' });
    try {
      const [ev] = await db.insert(events).values({
        kind: 'oob-restore', nodeId: node.id, targetId: t.id, trigger: 'manual', status: 'queued',
        source: `${snap.dataset}@${snap.name}`, destination: b.destination, generation: b.generation, snapshot: snap.name,
        idempotencyKey: key ? `oob:${key}` : null, createdAt: now(c),
        params: {
          dataset: b.dataset, snapshotDataset: snap.dataset, generation: b.generation, snapshot: snap.name, guid: snap.guid,
          destination: b.destination, restoreNetwork: b.restoreNetwork, overwrite, guest: ds.guest ?? null,
          newGuestId: b.newGuestId ?? null, sourceJobId: ds.jobId,
        },
      }).returning({ id: events.id });
      c.var.deps.waker?.notify(node.id);
      return json(c, { eventId: ev.id }, 202);
    } catch (err) {
      if (key && isUniqueViolation(err)) {
        const [seen] = await db.select({ id: events.id }).from(events).where(eq(events.idempotencyKey, `oob:${key}`));
        if (seen) return json(c, { eventId: seen.id }, 202);
      }
      throw err;
    }
  });
}

