// Notification channels (webhook, ntfy, email), their test, and the delivery history (the work is in services/notifications.ts).
import { createRoute, z } from '@hono/zod-openapi';
import {
  DeliveryQuery,
  IdParam,
  NotificationChannel,
  NotificationChannelCreate,
  NotificationChannelPatch,
  NotificationDelivery,
  list,
} from '../contract/api.ts';
import { type App, errors, jsonBody, now, ok } from '../lib/http.ts';
import {
  createChannel,
  deleteChannel,
  listChannels,
  listDeliveries,
  sendersOf,
  testChannel,
  updateChannel,
} from '../services/notifications.ts';
import { channelView, deliveryView } from '../services/views.ts';

const tags = ['notifications'];

export function registerNotifications(app: App) {
  app.openapi(
    createRoute({ method: 'get', path: '/notifications/channels', tags, responses: { 200: ok(list(NotificationChannel)), ...errors } }),
    async (c) => c.json({ items: (await listChannels(c.var.deps.db)).map(channelView), nextCursor: null }, 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/notifications/channels',
      tags,
      request: jsonBody(NotificationChannelCreate),
      responses: { 201: ok(NotificationChannel, 'Created'), ...errors },
    }),
    async (c) => {
      const row = await createChannel(c.var.deps.db, c.var.deps.secrets, c.req.valid('json'), now(c), c.var.deps.mail !== undefined);
      return c.json(channelView(row), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/notifications/channels/{id}',
      tags,
      request: { params: IdParam, ...jsonBody(NotificationChannelPatch) },
      responses: { 200: ok(NotificationChannel), ...errors },
    }),
    async (c) => {
      const row = await updateChannel(c.var.deps.db, c.var.deps.secrets, c.req.valid('param').id, c.req.valid('json'), now(c));
      return c.json(channelView(row), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/notifications/channels/{id}',
      tags,
      request: { params: IdParam },
      responses: { 200: ok(z.object({ deleted: z.boolean() })), ...errors },
    }),
    async (c) => {
      await deleteChannel(c.var.deps.db, c.req.valid('param').id);
      return c.json({ deleted: true }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/notifications/channels/{id}/test',
      tags,
      request: { params: IdParam },
      description: 'Sends a test notification now (one attempt, recorded in the history) and answers with its result.',
      responses: { 200: ok(NotificationDelivery), ...errors },
    }),
    async (c) => {
      const d = await testChannel(c.var.deps.db, c.var.deps.secrets, c.req.valid('param').id, now(c), sendersOf(c.var.deps));
      return c.json(deliveryView(d), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/notifications/deliveries',
      tags,
      request: { query: DeliveryQuery },
      responses: { 200: ok(z.object({ items: z.array(NotificationDelivery) })), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      return c.json({ items: (await listDeliveries(c.var.deps.db, q)).map(deliveryView) }, 200);
    },
  );
}
