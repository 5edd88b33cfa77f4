// The runner side (node token): join, claim (long poll), progress, finish, inventory, catalog. The work
// is in services/join-tokens.ts, claims.ts (the claim loop and payloads), runner-events.ts (reports on
// an event; finish.ts maps a finish onto the model) and inventory.ts.
import { createRoute, z } from '@hono/zod-openapi';
import { Ok } from '../contract/api.ts';
import {
  CatalogRequest,
  ClaimRequest,
  ClaimResponse,
  EventStatusRequest,
  EventStatusResponse,
  FinishRequest,
  InventoryRequest,
  JoinRequest,
  JoinResponse,
  ProgressRequest,
  ProgressResponse,
} from '../contract/runner.ts';
import { requireNode } from '../lib/auth.ts';
import { ApiError } from '../lib/errors.ts';
import { RUNNER_PROTOCOL_HEADER, runnerProtocolError } from '../../../protocol/src/runner-protocol.ts';
import { type App, errors, iso, jsonBody, now, ok } from '../lib/http.ts';
import { claimWork } from '../services/claims.ts';
import { recordInventory } from '../services/inventory.ts';
import { joinNode } from '../services/join-tokens.ts';
import { eventStatuses, reportCatalog, reportFinish, reportProgress } from '../services/runner-events.ts';

const tags = ['runner'];
const EventIdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: 'id', in: 'path' } }),
});

export function registerRunner(app: App) {
  // Every runner route, joining included (so registered first): a runner the server cannot serve is told which side to upgrade
  app.use('/runner/*', async (c, next) => {
    const why = runnerProtocolError(c.req.header(RUNNER_PROTOCOL_HEADER));
    if (why)
      throw new ApiError(why.malformed ? 'invalid' : 'upgrade_required', `${RUNNER_PROTOCOL_HEADER}: ${why.message}`, {
        [RUNNER_PROTOCOL_HEADER]: why.message,
      });
    await next();
  });
  // Joining needs only the join token, so it is registered before the node-token middleware.
  app.openapi(
    createRoute({
      method: 'post',
      path: '/runner/join',
      tags,
      request: jsonBody(JoinRequest),
      responses: { 201: ok(JoinResponse, 'Joined'), ...errors },
    }),
    async (c) => {
      return c.json(await joinNode(c.var.deps.db, c.req.valid('json'), now(c)), 201);
    },
  );

  app.use('/runner/claim', requireNode);
  app.use('/runner/events/*', requireNode);
  app.use('/runner/inventory', requireNode);
  app.use('/runner/catalog', requireNode);

  app.openapi(
    createRoute({
      method: 'post',
      path: '/runner/claim',
      tags,
      request: jsonBody(ClaimRequest),
      responses: { 200: ok(ClaimResponse), ...errors },
    }),
    async (c) => {
      const { max, waitMs } = c.req.valid('json');
      const { events, inventoryWanted } = await claimWork(c.var.deps, {
        nodeId: c.var.node.id,
        max,
        waitMs,
        gone: () => c.req.raw.signal?.aborted === true,
      });
      return c.json({ events, leaseMs: c.var.deps.config.leaseMs, ...(inventoryWanted ? { inventoryWanted } : {}) }, 200);
    },
  );

  // Before cleaning a leftover staging dataset the runner asks whether its event still runs.
  app.openapi(
    createRoute({
      method: 'post',
      path: '/runner/events/status',
      tags,
      request: jsonBody(EventStatusRequest),
      responses: { 200: ok(EventStatusResponse), ...errors },
    }),
    async (c) => {
      return c.json({ events: await eventStatuses(c.var.deps.db, c.var.node.id, c.req.valid('json').ids, now(c)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/runner/events/{id}/progress',
      tags,
      request: { params: EventIdParam, ...jsonBody(ProgressRequest) },
      responses: { 200: ok(ProgressResponse), ...errors },
    }),
    async (c) => {
      const row = await reportProgress(c.var.deps, c.var.node.id, c.req.valid('param').id, c.req.valid('json'), now(c));
      return c.json({ cancelRequested: row.cancelRequested, leaseUntil: iso(row.leaseUntil)! }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/runner/events/{id}/finish',
      tags,
      request: { params: EventIdParam, ...jsonBody(FinishRequest) },
      responses: { 200: ok(Ok), ...errors },
    }),
    async (c) => {
      await reportFinish(c.var.deps.db, c.var.node.id, c.req.valid('param').id, c.req.valid('json'), now(c));
      return c.json({ ok: true }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/runner/inventory',
      tags,
      request: jsonBody(InventoryRequest),
      responses: { 200: ok(Ok), ...errors },
    }),
    async (c) => {
      await recordInventory(c.var.deps.db, c.var.node.id, c.req.valid('json'), now(c));
      return c.json({ ok: true }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/runner/catalog',
      tags,
      request: jsonBody(CatalogRequest),
      responses: { 200: ok(Ok), ...errors },
    }),
    async (c) => {
      await reportCatalog(c.var.deps.db, c.var.node.id, c.req.valid('json'), now(c));
      return c.json({ ok: true }, 200);
    },
  );
}
