// Events (the work is in services/events.ts).
import { createRoute, z } from '@hono/zod-openapi';
import { Event, EventCount, EventFilter, EventLogLine, EventQuery, IdParam, list } from '../contract/api.ts';
import { type App, errors, now, ok } from '../lib/http.ts';
import { cancelEvent, countEvents, eventLog, getEvent, listEvents } from '../services/events.ts';

const tags = ['events'];

export function registerEvents(app: App) {
  app.openapi(
    createRoute({ method: 'get', path: '/events', tags, request: { query: EventQuery }, responses: { 200: ok(list(Event)), ...errors } }),
    async (c) => {
      return c.json(await listEvents(c.var.deps.db, c.req.valid('query'), now(c)), 200);
    },
  );

  // before /events/{id}: `count` is no id
  app.openapi(
    createRoute({
      method: 'get',
      path: '/events/count',
      tags,
      request: { query: EventFilter },
      responses: { 200: ok(EventCount), ...errors },
    }),
    async (c) => {
      return c.json(await countEvents(c.var.deps.db, c.req.valid('query')), 200);
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
