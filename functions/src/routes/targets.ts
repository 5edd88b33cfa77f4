// Targets: CRUD, validation, refresh, host-key re-pin (the work is in services/targets.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { Accepted, CatalogItem, HostKeyConfirm, IdParam, NodeRef, Target, TargetCreate, TargetPatch, list } from '../contract/api.ts';
import { type App, errors, jsonBody, now, ok } from '../lib/http.ts';
import {
  confirmHostKey,
  createTarget,
  deleteTarget,
  listTargets,
  loadTarget,
  queueTargetWork,
  queueValidations,
  resetHostKey,
  targetCatalog,
  targetViews,
  updateTarget,
} from '../services/targets.ts';

const tags = ['targets'];
const TargetCreated = Target.extend({
  validationEventIds: z.array(z.number().int()).openapi({ description: 'The validations queued by validate: true, one a node.' }),
}).openapi('TargetCreated');
const optionalNode = { content: { 'application/json': { schema: NodeRef } }, required: false };

export function registerTargets(app: App) {
  app.openapi(createRoute({ method: 'get', path: '/targets', tags, responses: { 200: ok(list(Target)), ...errors } }), async (c) => {
    const db = c.var.deps.db;
    return c.json({ items: await targetViews(db, await listTargets(db)), nextCursor: null }, 200);
  });

  app.openapi(
    createRoute({
      method: 'post',
      path: '/targets',
      tags,
      request: jsonBody(TargetCreate),
      responses: { 201: ok(TargetCreated, 'Created'), ...errors },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const row = await createTarget(c.var.deps, body, now(c));
      const validationEventIds = body.validate ? await queueValidations(c.var.deps, row, now(c)) : [];
      return c.json({ ...(await targetViews(c.var.deps.db, [row]))[0], validationEventIds }, 201);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/targets/{id}', tags, request: { params: IdParam }, responses: { 200: ok(Target), ...errors } }),
    async (c) => {
      const db = c.var.deps.db;
      return c.json((await targetViews(db, [await loadTarget(db, c.req.valid('param').id)]))[0], 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/targets/{id}',
      tags,
      request: { params: IdParam, ...jsonBody(TargetPatch) },
      responses: { 200: ok(Target), ...errors },
    }),
    async (c) => {
      const row = await updateTarget(c.var.deps, c.req.valid('param').id, c.req.valid('json'), now(c));
      return c.json((await targetViews(c.var.deps.db, [row]))[0], 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/targets/{id}',
      tags,
      request: { params: IdParam },
      responses: { 200: ok(z.object({ deleted: z.boolean() })), ...errors },
    }),
    async (c) => {
      await deleteTarget(c.var.deps.db, c.req.valid('param').id);
      return c.json({ deleted: true }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/targets/{id}/validate',
      tags,
      request: { params: IdParam, body: optionalNode },
      responses: { 202: ok(Accepted, 'Queued'), ...errors },
    }),
    async (c) => {
      const eventId = await queueTargetWork(c.var.deps, c.req.valid('param').id, 'validate', c.req.valid('json')?.nodeId, now(c));
      return c.json({ eventId }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/targets/{id}/refresh',
      tags,
      request: { params: IdParam, body: optionalNode },
      responses: { 202: ok(Accepted, 'Queued'), ...errors },
    }),
    async (c) => {
      const eventId = await queueTargetWork(c.var.deps, c.req.valid('param').id, 'browse', c.req.valid('json')?.nodeId, now(c));
      return c.json({ eventId }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/targets/{id}/host-key/reset',
      tags,
      request: { params: IdParam, body: optionalNode },
      description:
        'After a deliberate host key change on the target: forget the pinned key and queue a validation from the node (nodeId, or the only node) that pins the key it finds. Recorded in the event history (a validate event with trigger "host-key-reset" and a note naming the old fingerprint). Backups need a pinned key, so they fail until that validation succeeds.',
      responses: { 202: ok(Accepted, 'Pin cleared; validation queued'), ...errors },
    }),
    async (c) => {
      const eventId = await resetHostKey(c.var.deps, c.req.valid('param').id, c.req.valid('json')?.nodeId, now(c));
      return c.json({ eventId }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/targets/{id}/host-key/confirm',
      tags,
      request: { params: IdParam, ...jsonBody(HostKeyConfirm) },
      description:
        'Pin the host key a validation saw on the unpinned target (pendingHostKeyFingerprint), after an admin compared the ' +
        'fingerprint with the one the target itself prints (ssh-keygen -l). 409 when that key no longer awaits confirmation.',
      responses: { 200: ok(Target), ...errors },
    }),
    async (c) => {
      const row = await confirmHostKey(c.var.deps.db, c.req.valid('param').id, c.req.valid('json').fingerprint, now(c));
      return c.json((await targetViews(c.var.deps.db, [row]))[0], 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/targets/{id}/datasets',
      tags,
      request: { params: IdParam },
      responses: { 200: ok(z.object({ items: z.array(CatalogItem) })), ...errors },
    }),
    async (c) => {
      return c.json({ items: await targetCatalog(c.var.deps.db, c.req.valid('param').id, now(c)) }, 200);
    },
  );
}
