// Replaced datasets that restores kept, and their removal (the work is in services/kept-datasets.ts).
import { createRoute } from '@hono/zod-openapi';
import { Accepted, KeptDataset, RemoveKept, list } from '../contract/api.ts';
import { type App, errors, jsonBody, now, ok } from '../lib/http.ts';
import { listKept, queueRemoveKept } from '../services/kept-datasets.ts';
import { resolveNode } from '../services/nodes.ts';

const tags = ['restores'];

export function registerKeptDatasets(app: App) {
  app.openapi(
    createRoute({ method: 'get', path: '/kept-datasets', tags, responses: { 200: ok(list(KeptDataset)), ...errors } }),
    async (c) => c.json({ items: await listKept(c.var.deps.db), nextCursor: null }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/kept-datasets/remove',
      tags,
      description:
        "Destroy a kept dataset on its node. The node's runner checks right before that it is the one the restore set aside (its marker and every GUID) and that the restore is over; anything else fails and changes nothing.",
      request: jsonBody(RemoveKept),
      responses: { 202: ok(Accepted, 'Queued'), ...errors },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const node = await resolveNode(c.var.deps.db, b.nodeId);
      return c.json({ eventId: await queueRemoveKept(c.var.deps, node.id, b.dataset, now(c)) }, 202);
    },
  );
}
