// Targets: CRUD, validation, refresh, host-key re-pin.
import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, desc, eq, inArray, isNull } from 'drizzle-orm';
import { catalogDatasets, catalogSnapshots, events, jobs, nodes, targetNodeStatus, targets } from '../db/schema.ts';
import { Accepted, CatalogItem, IdParam, NodeRef, Target, TargetCreate, TargetPatch, list } from '../contract/api.ts';
import { conflict, isUniqueViolation, notFound } from '../lib/errors.ts';
import { type App, type Ctx, errors, jsonBody, now, ok } from '../lib/http.ts';
import { resolveNode } from '../services/nodes.ts';
import { targetView } from '../services/views.ts';
import { catalogView } from '../services/catalog.ts';

const tags = ['targets'];

async function loadTarget(c: Ctx, id: number) {
  const [t] = await c.var.deps.db.select().from(targets).where(eq(targets.id, id));
  if (!t) throw notFound(`target ${id}`);
  return t;
}

async function views(c: Ctx, rows: (typeof targets.$inferSelect)[]) {
  const db = c.var.deps.db;
  const allNodes = await db.select({ id: nodes.id, name: nodes.name }).from(nodes).where(isNull(nodes.revokedAt)).orderBy(asc(nodes.id));
  const ids = rows.map((r) => r.id);
  const statuses = ids.length ? await db.select().from(targetNodeStatus).where(inArray(targetNodeStatus.targetId, ids)) : [];
  return rows.map((t) => targetView(t, statuses.filter((s) => s.targetId === t.id), allNodes));
}

const nameTaken = () => conflict('a target with this name already exists', { name: 'is already used by another target' });

export function registerTargets(app: App) {
  app.openapi(createRoute({ method: 'get', path: '/targets', tags, responses: { 200: ok(list(Target)), ...errors } }), async (c) => {
    const rows = await c.var.deps.db.select().from(targets).orderBy(asc(targets.name));
    return c.json({ items: await views(c, rows), nextCursor: null }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/targets', tags, request: jsonBody(TargetCreate), responses: { 201: ok(Target, 'Created'), ...errors } }), async (c) => {
    const body = c.req.valid('json');
    const { db, secrets } = c.var.deps;
    const { sshPrivateKey, ...rest } = body;
    const t = now(c);
    try {
      const [row] = await db.insert(targets).values({
        ...rest, sshPrivateKeyEnc: await secrets.seal(sshPrivateKey), createdAt: t, updatedAt: t,
      }).returning();
      return c.json((await views(c, [row]))[0], 201);
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken();
      throw err;
    }
  });

  app.openapi(createRoute({ method: 'get', path: '/targets/{id}', tags, request: { params: IdParam }, responses: { 200: ok(Target), ...errors } }), async (c) => {
    const t = await loadTarget(c, c.req.valid('param').id);
    return c.json((await views(c, [t]))[0], 200);
  });

  app.openapi(createRoute({ method: 'patch', path: '/targets/{id}', tags, request: { params: IdParam, ...jsonBody(TargetPatch) }, responses: { 200: ok(Target), ...errors } }), async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const { db, secrets } = c.var.deps;
    const cur = await loadTarget(c, id);
    const { sshPrivateKey, ...rest } = body;
    const changed = (k: keyof typeof rest) => rest[k] !== undefined && rest[k] !== cur[k];
    const keyChanged = !!sshPrivateKey;
    const connectionChanged = changed('sshHost') || changed('sshPort');
    const needsRevalidation = connectionChanged || keyChanged || changed('sshUser') || changed('backupRoot') || changed('createBackupRoot');
    try {
      const [row] = await db.update(targets).set({
        ...rest,
        ...(keyChanged ? { sshPrivateKeyEnc: await secrets.seal(sshPrivateKey!) } : {}),
        // A different host or port is a different machine: its key is pinned afresh at the next validation.
        ...(connectionChanged ? { hostKey: null, hostKeyFingerprint: null } : {}),
        ...(needsRevalidation ? { configRevision: cur.configRevision + 1 } : {}),
        updatedAt: now(c),
      }).where(eq(targets.id, id)).returning();
      return c.json((await views(c, [row]))[0], 200);
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken();
      throw err;
    }
  });

  app.openapi(createRoute({ method: 'delete', path: '/targets/{id}', tags, request: { params: IdParam }, responses: { 200: ok(z.object({ deleted: z.boolean() })), ...errors } }), async (c) => {
    const { id } = c.req.valid('param');
    const db = c.var.deps.db;
    const cur = await loadTarget(c, id);
    if (cur.enabled) throw conflict('disable the target before deleting it', { enabled: 'must be false before the target can be deleted' });
    const used = await db.select({ id: jobs.id, name: jobs.name }).from(jobs).where(eq(jobs.targetId, id)).limit(5);
    if (used.length) throw conflict(`the target is used by jobs: ${used.map((j) => j.name).join(', ')}`, { id: 'is used by jobs' });
    // Only our records go; nothing on the target is touched. Guarded so a concurrent re-enable or new job wins.
    const [gone] = await db.delete(targets).where(and(eq(targets.id, id), eq(targets.enabled, false))).returning({ id: targets.id });
    if (!gone) throw conflict('the target changed while deleting; try again');
    return c.json({ deleted: true }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/targets/{id}/validate', tags, request: { params: IdParam, body: { content: { 'application/json': { schema: NodeRef } }, required: false } }, responses: { 202: ok(Accepted, 'Queued'), ...errors } }), async (c) => {
    return queueTargetWork(c, 'validate');
  });

  app.openapi(createRoute({ method: 'post', path: '/targets/{id}/refresh', tags, request: { params: IdParam, body: { content: { 'application/json': { schema: NodeRef } }, required: false } }, responses: { 202: ok(Accepted, 'Queued'), ...errors } }), async (c) => {
    return queueTargetWork(c, 'browse');
  });

  app.openapi(createRoute({
    method: 'post', path: '/targets/{id}/host-key/reset', tags,
    request: { params: IdParam, body: { content: { 'application/json': { schema: NodeRef } }, required: false } },
    description: 'After a deliberate host key change on the target: forget the pinned key and queue a validation from the node (nodeId, or the only node) that pins the key it finds. Recorded in the event history (a validate event with trigger "host-key-reset" and a note naming the old fingerprint). Backups need a pinned key, so they fail until that validation succeeds.',
    responses: { 202: ok(Accepted, 'Pin cleared; validation queued'), ...errors },
  }), async (c) => {
    const { id } = c.req.valid('param');
    const body = (c.req.valid('json') ?? {}) as { nodeId?: number };
    const db = c.var.deps.db;
    const t = await loadTarget(c, id);
    const node = await resolveNode(db, body.nodeId);
    const at = now(c);
    const note = t.hostKeyFingerprint
      ? `host key pin cleared by an admin (was ${t.hostKeyFingerprint}); this validation pins the key the target presents now`
      : 'host key pin reset requested (no key was pinned); this validation pins the key the target presents';
    const [, [ev]] = await db.batch([
      db.update(targets).set({ hostKey: null, hostKeyFingerprint: null, configRevision: t.configRevision + 1, updatedAt: at }).where(eq(targets.id, id)),
      db.insert(events).values({
        kind: 'validate', nodeId: node.id, targetId: t.id, trigger: 'host-key-reset', status: 'queued', note,
        destination: `${t.sshUser}@${t.sshHost}:${t.backupRoot}`, createdAt: at,
      }).returning({ id: events.id }),
    ]);
    c.var.deps.waker?.notify(node.id);
    return c.json({ eventId: ev.id }, 202);
  });

  app.openapi(createRoute({ method: 'get', path: '/targets/{id}/datasets', tags, request: { params: IdParam }, responses: { 200: ok(z.object({ items: z.array(CatalogItem) })), ...errors } }), async (c) => {
    const t = await loadTarget(c, c.req.valid('param').id);
    const db = c.var.deps.db;
    const ds = await db.select().from(catalogDatasets).where(eq(catalogDatasets.targetId, t.id)).orderBy(asc(catalogDatasets.dataset));
    const snaps = await db.select().from(catalogSnapshots).where(eq(catalogSnapshots.targetId, t.id)).orderBy(desc(catalogSnapshots.createdAt));
    return c.json({ items: catalogView(t.backupRoot, ds, snaps, now(c)) }, 200);
  });
}

async function queueTargetWork(c: Ctx, kind: 'validate' | 'browse') {
  // Ctx is the untyped context: these two routes validated `param` (IdParam) and `json` (NodeRef)
  const valid = c.req.valid.bind(c.req) as (target: 'param' | 'json') => unknown;
  const { id } = valid('param') as { id: number };
  const body = (valid('json') ?? {}) as { nodeId?: number };
  const t = await loadTarget(c, id);
  const db = c.var.deps.db;
  const node = await resolveNode(db, body.nodeId);
  const [ev] = await db.insert(events).values({
    kind, nodeId: node.id, targetId: t.id, trigger: 'manual', status: 'queued',
    destination: `${t.sshUser}@${t.sshHost}:${t.backupRoot}`, createdAt: now(c),
  }).returning({ id: events.id });
  c.var.deps.waker?.notify(node.id);
  return c.json({ eventId: ev.id }, 202);
}

