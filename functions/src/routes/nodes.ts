// Nodes and join tokens (the work is in services/nodes.ts and join-tokens.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { IdParam, JoinToken, NodeDetail, NodeSummary, list } from '../contract/api.ts';
import { type App, type Ctx, errors, iso, now, ok } from '../lib/http.ts';
import { createJoinToken } from '../services/join-tokens.ts';
import { listNodes, nodeDetail, revokeNode } from '../services/nodes.ts';

const tags = ['nodes'];
/** Online: heard from within the time after which notifications call a node silent (README, Notifications). */
const liveness = (c: Ctx) => ({ at: now(c), silentMs: c.var.deps.config.notifyNodeSilentMs });

export function registerNodes(app: App) {
  app.openapi(createRoute({ method: 'get', path: '/nodes', tags, responses: { 200: ok(list(NodeSummary)), ...errors } }), async (c) => {
    return c.json({ items: await listNodes(c.var.deps.db, liveness(c)), nextCursor: null }, 200);
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/nodes/{id}',
      tags,
      request: {
        params: IdParam,
        query: z.object({
          fresh: z
            .enum(['0', '1'])
            .optional()
            .openapi({ description: '1: ask the node for its inventory first and wait briefly (the job form and the restore wizard do)' }),
        }),
      },
      responses: { 200: ok(NodeDetail), ...errors },
    }),
    async (c) => {
      return c.json(await nodeDetail(c.var.deps, c.req.valid('param').id, c.req.valid('query').fresh === '1', liveness(c)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/nodes/{id}/revoke',
      tags,
      request: { params: IdParam },
      description:
        'Revoke a node: its runner is refused (401) from now on and stops. Its queued work is cancelled; running work ends as interrupted when the lease runs out. Jobs stay (move them to another node). Revoking twice answers the node as it is.',
      responses: { 200: ok(NodeSummary), ...errors },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      const view = await revokeNode(c.var.deps.db, id, liveness(c));
      await c.var.deps.waker?.notify(id); // its held claim ends now, and the runner's next call is refused
      return c.json(view, 200);
    },
  );

  app.openapi(
    createRoute({ method: 'post', path: '/nodes/join-tokens', tags, responses: { 201: ok(JoinToken, 'Created (shown once)'), ...errors } }),
    async (c) => {
      const { db, config } = c.var.deps;
      const { token, expiresAt } = await createJoinToken(db, config.joinTokenTtlMs, now(c));
      return c.json(
        { token, expiresAt: iso(expiresAt)!, command: `lifeboat-runner --server ${config.publicUrl} --join-token ${token}` },
        201,
      );
    },
  );
}
