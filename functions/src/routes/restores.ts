// Out-of-band restores: any catalogued snapshot onto any node and dataset (the work is in services/restores.ts).
import { createRoute } from '@hono/zod-openapi';
import { Accepted, OobRestore, RestorePreview } from '../contract/api.ts';
import { invalid } from '../lib/errors.ts';
import { type App, errors, jsonBody, now, ok } from '../lib/http.ts';
import { previewOobRestore, queueOobRestore } from '../services/restores.ts';

export function registerRestores(app: App) {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/restores',
      tags: ['restores'],
      request: jsonBody(OobRestore),
      responses: { 202: ok(Accepted, 'Queued'), ...errors },
    }),
    async (c) => {
      const key = c.req.header('idempotency-key') ?? null;
      if (key !== null && (key.length < 8 || key.length > 200)) throw invalid('Idempotency-Key', 'must be 8 to 200 characters');
      return c.json({ eventId: await queueOobRestore(c.var.deps, c.req.valid('json'), key, now(c)) }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/restores/preview',
      tags: ['restores'],
      request: jsonBody(OobRestore),
      responses: { 200: ok(RestorePreview), ...errors },
    }),
    async (c) => {
      return c.json(await previewOobRestore(c.var.deps, c.req.valid('json')), 200);
    },
  );
}
