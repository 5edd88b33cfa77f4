// GET /overview: the UI's home page in one request (the work is in services/overview.ts).
import { createRoute } from '@hono/zod-openapi';
import { Overview, OverviewQuery } from '../contract/api.ts';
import { type App, errors, now, ok } from '../lib/http.ts';
import { overview } from '../services/overview.ts';

export function registerOverview(app: App) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/overview',
      tags: ['overview'],
      request: { query: OverviewQuery },
      responses: { 200: ok(Overview), ...errors },
    }),
    async (c) => {
      const { db, config } = c.var.deps;
      const { jobs } = c.req.valid('query');
      return c.json(await overview(db, now(c), { nodeSilentMs: config.notifyNodeSilentMs, jobLimit: jobs ?? null }), 200);
    },
  );
}
