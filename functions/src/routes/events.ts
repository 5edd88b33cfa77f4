// Events (the work is in services/events.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { Event, EventLogLine, EventQuery, IdParam, list } from '../contract/api.ts';
import { type App, errors, now, ok } from '../lib/http.ts';
import { cancelEvent, eventLog, getEvent, listEvents } from '../services/events.ts';

const tags = ['events'];

export function registerEvents(app: App) {
  app.openapi(
    createRoute({ method: 'get', path: '/events', tags, request: { query: EventQuery }, responses: { 200: ok(list(Event)), ...errors } }),
    async (c) => {
      return c.json(await listEvents(c.var.deps.db, c.req.valid('query'), now(c)), 200);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/events/{id}', tags, request: { params: IdParam }, responses: { 200: ok(Event), ...errors } }),
    async (c) => {
      return c.json(await getEvent(c.var.deps.db, c.req.valid('param').id, now(c)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/events/{id}/log',
      tags,
      request: { params: IdParam },
      responses: { 200: ok(z.object({ items: z.array(EventLogLine) })), ...errors },
    }),
    async (c) => {
      return c.json({ items: await eventLog(c.var.deps.db, c.req.valid('param').id) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/events/{id}/cancel',
      tags,
      request: { params: IdParam },
      responses: { 200: ok(Event), ...errors },
    }),
    async (c) => {
      return c.json(await cancelEvent(c.var.deps.db, c.req.valid('param').id, now(c)), 200);
    },
  );
}
