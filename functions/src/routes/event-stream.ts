// GET /events/stream: Server-Sent Events that tell the UI which events changed, so its pages update
// rows in place instead of polling every list (docs/architecture.md, "Live pages"). The server
// keeps no state between requests (it may run on Workers): each stream reads the change cursor
// (services/event-changes.ts) every few seconds, sooner when the Node entry's in-process hint says
// a request may have changed an event, and sends the changed rows with the change number as the
// SSE id, so a reconnecting browser resumes with Last-Event-ID. A stream ends after a bounded time
// (a Worker request should not live for ever; credentials are checked again on reconnect) and the
// browser reconnects by itself.
import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { EventChange } from '../contract/api.ts';
import { authenticate } from '../lib/auth.ts';
import { ApiError } from '../lib/errors.ts';
import { type App, type ChangeHint, type EventStreamTimes, errors } from '../lib/http.ts';
import { changeCursor, changesSince } from '../services/event-changes.ts';
import { nextWait, parseLastEventId, resumeFrom } from '../services/event-stream-plan.ts';

/** Workers' defaults (no in-process hint): a look every 2 s, a stream of a minute. The Node entry passes its own. */
export const STREAM_DEFAULTS: EventStreamTimes = { checkMs: 2_000, heartbeatMs: 15_000, lifetimeMs: 60_000 };
/** Rows per `change` message (a backlog is sent in several). */
const BATCH = 200;
/** How long the browser waits before reconnecting after a stream ended (SSE `retry`). */
const RETRY_MS = 1_000;

export function registerEventStream(app: App, log: (msg: string) => void) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/events/stream',
      tags: ['events'],
      request: {
        headers: z.object({
          'last-event-id': z
            .string()
            .optional()
            .openapi({ description: 'The id of the last message seen (EventSource sends it on reconnect)' }),
        }),
      },
      responses: {
        200: {
          description:
            'text/event-stream: `hello` (data {cursor, reset}; reset: reload what you show), `change` (data: a list of EventChange), `: heartbeat` comments; the stream ends after a while and the client reconnects with Last-Event-ID',
          content: { 'text/event-stream': { schema: z.array(EventChange) } },
        },
        ...errors,
      },
    }),
    async (c) => {
      const last = parseLastEventId(c.req.header('last-event-id'));
      if (last === 'invalid')
        throw new ApiError('invalid', 'Last-Event-ID: must be a whole number', { 'Last-Event-ID': 'must be a whole number' });
      const deps = c.var.deps;
      const times = { ...STREAM_DEFAULTS, ...deps.eventStream };
      const start = resumeFrom(last, await changeCursor(deps.db));
      // never cached; nginx and the like pass it through as it comes (packaging/nginx/lifeboat.conf)
      c.header('Cache-Control', 'no-store');
      c.header('X-Accel-Buffering', 'no');
      // the credentials are checked again while the stream lives: a signed-out session or a revoked token ends it
      const allowed = () =>
        authenticate(c).then(
          (p) => p !== null,
          () => false,
        );
      const res = streamSSE(c, async (stream) => {
        try {
          await follow(stream, deps, times, start, allowed);
        } catch (err) {
          // the client reconnects and resumes; the cause is the operator's to read, not the client's
          if (!stream.aborted) log(`event stream ended by an error: ${(err as Error)?.stack ?? err}`);
        }
      });
      res.headers.set('Cache-Control', 'no-store');
      return res as never;
    },
  );
}

async function follow(
  stream: SSEStreamingApi,
  deps: { db: Parameters<typeof changeCursor>[0]; changes?: ChangeHint },
  times: EventStreamTimes,
  start: { from: number; reset: boolean },
  allowed: () => Promise<boolean>,
) {
  const ends = Date.now() + times.lifetimeMs;
  let checked = Date.now();
  const gone = new Promise<void>((r) => stream.onAbort(r));
  let cursor = start.from;
  await stream.writeSSE({ event: 'hello', id: String(cursor), retry: RETRY_MS, data: JSON.stringify({ cursor, reset: start.reset }) });
  let wrote = Date.now();
  while (!stream.aborted && !stream.closed) {
    const seq = await changeCursor(deps.db);
    if (seq < cursor) {
      // the database went back (replaced): the client reloads
      cursor = seq;
      await stream.writeSSE({ event: 'hello', id: String(cursor), data: JSON.stringify({ cursor, reset: true }) });
      wrote = Date.now();
    }
    while (cursor < seq) {
      const rows = await changesSince(deps.db, cursor, BATCH);
      const top = rows.length ? rows[rows.length - 1].seq! : cursor;
      // a short answer holds every row above the cursor: numbers up to `seq` it lacks belonged to rows since deleted
      cursor = rows.length < BATCH ? Math.max(top, seq) : top;
      if (rows.length) {
        await stream.writeSSE({ event: 'change', id: String(cursor), data: JSON.stringify(rows) });
        wrote = Date.now();
      }
    }
    const at = Date.now();
    if (at >= ends) return;
    if (at - checked >= times.heartbeatMs) {
      if (!(await allowed())) return;
      checked = at;
    }
    if (at - wrote >= times.heartbeatMs) {
      await stream.write(': heartbeat\n\n');
      wrote = at;
    }
    const ms = nextWait({ checkMs: times.checkMs, heartbeatMs: times.heartbeatMs, leftMs: ends - at, sinceWrite: at - wrote });
    await Promise.race([gone, deps.changes ? deps.changes.wait(ms) : stream.sleep(ms)]);
    // the Node entry is stopping: end cleanly rather than hold its stop (the browser reconnects)
    if (deps.changes?.closed) return;
  }
}
