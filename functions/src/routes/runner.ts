// The runner side (node token): join, claim (long poll), progress, finish, inventory, catalog.
import { createRoute } from '@hono/zod-openapi';
import { and, eq, gt, inArray, isNull } from 'drizzle-orm';
import { events, joinTokens, nodes } from '../db/schema.ts';
import { Ok } from '../contract/api.ts';
import { CatalogRequest, ClaimRequest, ClaimResponse, EventStatusRequest, EventStatusResponse, FinishRequest, InventoryRequest, JoinRequest, JoinResponse, ProgressRequest, ProgressResponse } from '../contract/runner.ts';
import { ApiError, conflict, isUniqueViolation, notFound } from '../lib/errors.ts';
import { requireNode } from '../lib/auth.ts';
import { type App, type Ctx, errors, iso, jsonBody, now, ok } from '../lib/http.ts';
import { randomToken, sha256Hex } from '../lib/tokens.ts';
import { appendLogs, sweepExpiredLeases } from '../services/queue.ts';
import { claimPayload, holdClaim } from '../services/claims.ts';
import { recordInventory } from '../services/inventory.ts';
import { finishEvent, recordScopedCatalog } from '../services/finish.ts';
import { z } from '@hono/zod-openapi';

const tags = ['runner'];
const EventIdParam = z.object({ id: z.coerce.number().int().positive().openapi({ param: { name: 'id', in: 'path' } }) });

export function registerRunner(app: App) {
  // Joining needs only the join token, so it is registered before the node-token middleware.
  app.openapi(createRoute({ method: 'post', path: '/runner/join', tags, request: jsonBody(JoinRequest), responses: { 201: ok(JoinResponse, 'Joined'), ...errors } }), async (c) => {
    const b = c.req.valid('json');
    const db = c.var.deps.db;
    const at = now(c);
    // The token first: without a valid one, nothing is said about node names (no enumeration).
    const tokenOk = and(eq(joinTokens.tokenHash, await sha256Hex(b.joinToken)), isNull(joinTokens.usedAt), gt(joinTokens.expiresAt, at));
    const badToken = () => new ApiError('unauthorized', 'the join token is not valid, expired or already used', { joinToken: 'is not valid, expired or already used' });
    const [valid] = await db.select({ id: joinTokens.id }).from(joinTokens).where(tokenOk);
    if (!valid) throw badToken();
    const [taken] = await db.select({ id: nodes.id }).from(nodes).where(eq(nodes.name, b.name));
    if (taken) throw conflict('a node with this name already exists', { name: 'is already used by another node' });
    const [jt] = await db.update(joinTokens).set({ usedAt: at }).where(tokenOk).returning();
    if (!jt) throw badToken(); // used by a concurrent join meanwhile
    const nodeToken = randomToken('lbn');
    try {
      const [node] = await db.insert(nodes).values({ name: b.name, hostname: b.hostname ?? null, tokenHash: await sha256Hex(nodeToken), createdAt: at, lastSeenAt: at }).returning({ id: nodes.id });
      await db.update(joinTokens).set({ nodeId: node.id }).where(eq(joinTokens.id, jt.id));
      return c.json({ nodeId: node.id, nodeToken }, 201);
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('a node with this name already exists', { name: 'is already used by another node' });
      throw err;
    }
  });

  app.use('/runner/claim', requireNode);
  app.use('/runner/events/*', requireNode);
  app.use('/runner/inventory', requireNode);
  app.use('/runner/catalog', requireNode);

  app.openapi(createRoute({ method: 'post', path: '/runner/claim', tags, request: jsonBody(ClaimRequest), responses: { 200: ok(ClaimResponse), ...errors } }), async (c) => {
    const { max, waitMs } = c.req.valid('json');
    const { claimed, inventoryWanted } = await holdClaim(c.var.deps, { nodeId: c.var.node.id, max, waitMs, gone: () => c.req.raw.signal?.aborted === true });
    const payloads = await Promise.all(claimed.map((e) => claimPayload(c.var.deps, e, now(c))));
    return c.json({ events: payloads.filter((p) => p !== null), leaseMs: c.var.deps.config.leaseMs, ...(inventoryWanted ? { inventoryWanted } : {}) }, 200);
  });

  // Before cleaning a leftover staging dataset the runner asks whether its event still runs.
  // Only this node's events are answered; others are simply absent (no probing).
  app.openapi(createRoute({ method: 'post', path: '/runner/events/status', tags, request: jsonBody(EventStatusRequest), responses: { 200: ok(EventStatusResponse), ...errors } }), async (c) => {
    const { ids } = c.req.valid('json');
    const { db } = c.var.deps;
    await sweepExpiredLeases(db, now(c));
    const rows = await db.select({ id: events.id, status: events.status }).from(events)
      .where(and(inArray(events.id, ids), eq(events.nodeId, c.var.node.id)));
    return c.json({ events: rows }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/runner/events/{id}/progress', tags, request: { params: EventIdParam, ...jsonBody(ProgressRequest) }, responses: { 200: ok(ProgressResponse), ...errors } }), async (c) => {
    const { id } = c.req.valid('param');
    const { log, ...p } = c.req.valid('json');
    const { db, config } = c.var.deps;
    const at = now(c);
    const [row] = await db.update(events).set({ ...p, leaseUntil: at + config.leaseMs })
      .where(and(eq(events.id, id), eq(events.nodeId, c.var.node.id), eq(events.status, 'running')))
      .returning({ cancelRequested: events.cancelRequested, leaseUntil: events.leaseUntil });
    if (!row) throw await notRunning(c, id);
    if (log?.length) await appendLogs(db, id, log, at);
    return c.json({ cancelRequested: row.cancelRequested, leaseUntil: iso(row.leaseUntil)! }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/runner/events/{id}/finish', tags, request: { params: EventIdParam, ...jsonBody(FinishRequest) }, responses: { 200: ok(Ok), ...errors } }), async (c) => {
    const { id } = c.req.valid('param');
    const ev = await finishEvent(c.var.deps.db, c.var.node.id, id, c.req.valid('json'), now(c));
    if (!ev) throw await notRunning(c, id);
    return c.json({ ok: true }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/runner/inventory', tags, request: jsonBody(InventoryRequest), responses: { 200: ok(Ok), ...errors } }), async (c) => {
    await recordInventory(c.var.deps.db, c.var.node.id, c.req.valid('json'), now(c));
    return c.json({ ok: true }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/runner/catalog', tags, request: jsonBody(CatalogRequest), responses: { 200: ok(Ok), ...errors } }), async (c) => {
    const b = c.req.valid('json');
    const db = c.var.deps.db;
    // Only while running one of this node's events for that target.
    const [ev] = await db.select().from(events).where(and(eq(events.id, b.eventId), eq(events.nodeId, c.var.node.id), eq(events.status, 'running')));
    if (!ev || ev.targetId == null) throw new ApiError('forbidden', 'catalog reports need a running event of this node', { eventId: 'is not a running event of this node' });
    // only what this event covers, and only a browse may replace the whole catalog
    await recordScopedCatalog(db, ev, ev.targetId, b.datasets, b.complete && ev.kind === 'browse', now(c));
    return c.json({ ok: true }, 200);
  });
}

/** 404 for events that do not exist or belong to another node (no probing), 409 when no longer running. */
async function notRunning(c: Ctx, id: number) {
  const [e] = await c.var.deps.db.select({ status: events.status, nodeId: events.nodeId }).from(events).where(eq(events.id, id));
  if (!e || e.nodeId !== c.var.node.id) return notFound(`event ${id}`);
  return new ApiError('conflict', `the event is ${e.status}, not running`, {}, { status: e.status });
}
