// Health and Prometheus metrics (the reads are in services/health.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { type App, now, ok } from '../lib/http.ts';
import { pingDatabase } from '../services/health.ts';
import { metricsText } from '../services/metrics.ts';

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
      return c.text(await metricsText(c.var.deps.db, now(c), c.var.deps.dbStatements), 200, {
        'content-type': 'text/plain; version=0.0.4',
      });
    },
  );
}
