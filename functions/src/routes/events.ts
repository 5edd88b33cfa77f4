// Events: newest first, cursor = the last id seen.
import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, desc, eq, like, lt, or, type SQL } from 'drizzle-orm';
import { eventLogs, events } from '../db/schema.ts';
import { Event, EventLogLine, EventQuery, IdParam, list } from '../contract/api.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { type App, errors, iso, now, ok } from '../lib/http.ts';
import { sweepExpiredLeases } from '../services/queue.ts';
import { eventView } from '../services/views.ts';

const tags = ['events'];

export function registerEvents(app: App) {
  app.openapi(createRoute({ method: 'get', path: '/events', tags, request: { query: EventQuery }, responses: { 200: ok(list(Event)), ...errors } }), async (c) => {
    const qy = c.req.valid('query');
    const db = c.var.deps.db;
    await sweepExpiredLeases(db, now(c));
    const where: SQL[] = [];
    if (qy.jobId) where.push(eq(events.jobId, qy.jobId));
    if (qy.nodeId) where.push(eq(events.nodeId, qy.nodeId));
    if (qy.status) where.push(eq(events.status, qy.status));
    if (qy.kind) where.push(eq(events.kind, qy.kind));
    if (qy.cursor) where.push(lt(events.id, qy.cursor));
    if (qy.q) {
      const pat = `%${qy.q.replace(/[\\%_]/g, (m) => '\\' + m)}%`;
      const l = (col: Parameters<typeof like>[0]) => like(col, pat); // drizzle's like has no ESCAPE; \ matches literally which is harmless
      where.push(or(l(events.jobName), l(events.source), l(events.destination), l(events.snapshot), l(events.error), l(events.note), l(events.kind), l(events.status))!);
    }
    const rows = await db.select().from(events).where(and(...where)).orderBy(desc(events.id)).limit(qy.limit + 1);
    const page = rows.slice(0, qy.limit);
    return c.json({ items: page.map(eventView), nextCursor: rows.length > qy.limit ? page[page.length - 1].id : null }, 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/events/{id}', tags, request: { params: IdParam }, responses: { 200: ok(Event), ...errors } }), async (c) => {
    await sweepExpiredLeases(c.var.deps.db, now(c));
    const [e] = await c.var.deps.db.select().from(events).where(eq(events.id, c.req.valid('param').id));
    if (!e) throw notFound(`event ${c.req.valid('param').id}`);
    return c.json(eventView(e), 200);
  });

  app.openapi(createRoute({ method: 'get', path: '/events/{id}/log', tags, request: { params: IdParam }, responses: { 200: ok(z.object({ items: z.array(EventLogLine) })), ...errors } }), async (c) => {
    const { id } = c.req.valid('param');
    const db = c.var.deps.db;
    const [e] = await db.select({ id: events.id }).from(events).where(eq(events.id, id));
    if (!e) throw notFound(`event ${id}`);
    const rows = await db.select().from(eventLogs).where(eq(eventLogs.eventId, id)).orderBy(asc(eventLogs.id)).limit(5000);
    return c.json({ items: rows.map((r) => ({ ts: iso(r.ts)!, level: r.level, message: r.message })) }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/events/{id}/cancel', tags, request: { params: IdParam }, responses: { 200: ok(Event), ...errors } }), async (c) => {
    const { id } = c.req.valid('param');
    const db = c.var.deps.db;
    const at = now(c);
    // Queued work is cancelled at once; running work is asked to stop and its runner finishes it as cancelled.
    const [queued] = await db.update(events).set({ status: 'cancelled', finishedAt: at, cancelRequested: true, error: 'cancelled before it started' })
      .where(and(eq(events.id, id), eq(events.status, 'queued'))).returning();
    if (queued) return c.json(eventView(queued), 200);
    const [running] = await db.update(events).set({ cancelRequested: true })
      .where(and(eq(events.id, id), eq(events.status, 'running'))).returning();
    if (running) return c.json(eventView(running), 200);
    const [e] = await db.select({ status: events.status }).from(events).where(eq(events.id, id));
    if (!e) throw notFound(`event ${id}`);
    throw new ApiError('conflict', `the event is already ${e.status}`);
  });
}
