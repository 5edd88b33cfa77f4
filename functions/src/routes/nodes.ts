// Nodes and join tokens.
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, isNull } from 'drizzle-orm';
import { events, guests, joinTokens, nodeDatasets, nodes } from '../db/schema.ts';
import { IdParam, JoinToken, NodeDetail, NodeSummary, list } from '../contract/api.ts';
import { notFound } from '../lib/errors.ts';
import { type App, errors, iso, now, ok } from '../lib/http.ts';
import { randomToken, sha256Hex } from '../lib/tokens.ts';
import { nodeView } from '../services/views.ts';
import { refreshInventory } from '../services/inventory.ts';

const tags = ['nodes'];

export function registerNodes(app: App) {
  app.openapi(createRoute({ method: 'get', path: '/nodes', tags, responses: { 200: ok(list(NodeSummary)), ...errors } }), async (c) => {
    const rows = await c.var.deps.db.select().from(nodes).orderBy(asc(nodes.id));
    return c.json({ items: rows.map(nodeView), nextCursor: null }, 200);
  });

  app.openapi(createRoute({
    method: 'get', path: '/nodes/{id}', tags,
    request: { params: IdParam, query: z.object({ fresh: z.enum(['0', '1']).optional().openapi({ description: '1: ask the node for its inventory first and wait briefly (the job form and the restore wizard do)' }) }) },
    responses: { 200: ok(NodeDetail), ...errors },
  }), async (c) => {
    const { id } = c.req.valid('param');
    const db = c.var.deps.db;
    let [n] = await db.select().from(nodes).where(eq(nodes.id, id));
    if (!n) throw notFound(`node ${id}`);
    if (c.req.valid('query').fresh === '1' && (await refreshInventory(c.var.deps, id))) [n] = await db.select().from(nodes).where(eq(nodes.id, id));
    const ds = await db.select().from(nodeDatasets).where(eq(nodeDatasets.nodeId, id)).orderBy(asc(nodeDatasets.name));
    const gs = await db.select().from(guests).where(eq(guests.nodeId, id)).orderBy(asc(guests.kind), asc(guests.name));
    return c.json({
      ...nodeView(n),
      datasets: ds.map((d) => ({ name: d.name, usedBytes: d.usedBytes, referencedBytes: d.referencedBytes, mountpoint: d.mountpoint })),
      guests: gs.map((g) => ({ kind: g.kind, id: g.guestId, name: g.name, roots: g.roots, network: g.network ?? null, running: g.running, provider: g.provider })),
    }, 200);
  });

  app.openapi(createRoute({
    method: 'post', path: '/nodes/{id}/revoke', tags, request: { params: IdParam },
    description: 'Revoke a node: its runner is refused (401) from now on and stops. Its queued work is cancelled; running work ends as interrupted when the lease runs out. Jobs stay (move them to another node). Revoking twice answers the node as it is.',
    responses: { 200: ok(NodeSummary), ...errors },
  }), async (c) => {
    const { id } = c.req.valid('param');
    const db = c.var.deps.db;
    const at = now(c);
    const [, [row]] = await db.batch([
      db.update(events).set({ status: 'cancelled', finishedAt: at, cancelRequested: true, error: 'the node was revoked before this started' })
        .where(and(eq(events.nodeId, id), eq(events.status, 'queued'))),
      db.update(nodes).set({ revokedAt: at }).where(and(eq(nodes.id, id), isNull(nodes.revokedAt))).returning(),
    ]);
    const [n] = row ? [row] : await db.select().from(nodes).where(eq(nodes.id, id));
    if (!n) throw notFound(`node ${id}`);
    return c.json(nodeView(n), 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/nodes/join-tokens', tags, responses: { 201: ok(JoinToken, 'Created (shown once)'), ...errors } }), async (c) => {
    const { db, config } = c.var.deps;
    const token = randomToken('lbj');
    const at = now(c);
    const expiresAt = at + config.joinTokenTtlMs;
    await db.insert(joinTokens).values({ tokenHash: await sha256Hex(token), expiresAt, createdAt: at });
    return c.json({
      token, expiresAt: iso(expiresAt)!,
      command: `lifeboat-runner --server ${config.publicUrl} --join-token ${token}`,
    }, 201);
  });
}

