// Health and Prometheus metrics (the reads are in services/health.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { type App, now, ok } from '../lib/http.ts';
import { metricCounts, pingDatabase } from '../services/health.ts';

export function registerHealth(app: App) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['system'],
      responses: { 200: ok(z.object({ ok: z.boolean(), time: z.string(), defaultTimezone: z.string() })) },
    }),
    async (c) => {
      await pingDatabase(c.var.deps.db);
      return c.json({ ok: true, time: new Date(now(c)).toISOString(), defaultTimezone: c.var.deps.config.defaultTimezone }, 200);
    },
  );
}

/** Prometheus text format. */
export function registerMetrics(app: App) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      tags: ['system'],
      responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: z.string() } } } },
    }),
    async (c) => {
      const { byStatus, jobCount, nodeRows } = await metricCounts(c.var.deps.db);
      const lines = [
        '# HELP lifeboat_events Events by kind and status.',
        '# TYPE lifeboat_events gauge',
        ...byStatus.map((r) => `lifeboat_events{kind="${r.kind}",status="${r.status}"} ${r.n}`),
        '# HELP lifeboat_jobs Configured jobs.',
        '# TYPE lifeboat_jobs gauge',
        `lifeboat_jobs ${jobCount}`,
        '# HELP lifeboat_node_last_seen_seconds Last contact of each node (unix time).',
        '# TYPE lifeboat_node_last_seen_seconds gauge',
        ...nodeRows.map(
          (n) => `lifeboat_node_last_seen_seconds{node="${n.name.replace(/["\\\n]/g, '_')}"} ${((n.lastSeenAt ?? 0) / 1000).toFixed(0)}`,
        ),
      ];
      return c.text(lines.join('\n') + '\n', 200, { 'content-type': 'text/plain; version=0.0.4' });
    },
  );
}
