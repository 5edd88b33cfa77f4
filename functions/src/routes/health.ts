// Health and Prometheus metrics.
import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { events, jobs, nodes } from '../db/schema.ts';
import { type App, now, ok } from '../lib/http.ts';

export function registerHealth(app: App) {
  app.openapi(createRoute({ method: 'get', path: '/health', tags: ['system'], responses: { 200: ok(z.object({ ok: z.boolean(), time: z.string(), defaultTimezone: z.string() })) } }), async (c) => {
    await c.var.deps.db.run(sql`SELECT 1`);
    return c.json({ ok: true, time: new Date(now(c)).toISOString(), defaultTimezone: c.var.deps.config.defaultTimezone }, 200);
  });
}

/** Prometheus text format. */
export function registerMetrics(app: App) {
  app.openapi(createRoute({ method: 'get', path: '/metrics', tags: ['system'], responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } } } }), async (c) => {
    const db = c.var.deps.db;
    const byStatus = await db.select({ kind: events.kind, status: events.status, n: sql<number>`count(*)` }).from(events).groupBy(events.kind, events.status);
    const [{ n: jobCount }] = await db.select({ n: sql<number>`count(*)` }).from(jobs);
    const nodeRows = await db.select({ id: nodes.id, name: nodes.name, lastSeenAt: nodes.lastSeenAt }).from(nodes);
    const lines = [
      '# HELP lifeboat_events Events by kind and status.', '# TYPE lifeboat_events gauge',
      ...byStatus.map((r) => `lifeboat_events{kind="${r.kind}",status="${r.status}"} ${r.n}`),
      '# HELP lifeboat_jobs Configured jobs.', '# TYPE lifeboat_jobs gauge', `lifeboat_jobs ${jobCount}`,
      '# HELP lifeboat_node_last_seen_seconds Last contact of each node (unix time).', '# TYPE lifeboat_node_last_seen_seconds gauge',
      ...nodeRows.map((n) => `lifeboat_node_last_seen_seconds{node="${n.name.replace(/["\\\n]/g, '_')}"} ${((n.lastSeenAt ?? 0) / 1000).toFixed(0)}`),
    ];
    return c.text(lines.join('\n') + '\n', 200, { 'content-type': 'text/plain; version=0.0.4' });
  });
}
