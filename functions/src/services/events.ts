// Events as the API shows them: the filtered history (newest first, cursor = the last id seen), one
// event, its log, and a cancel. Expired leases are swept before reading, so a dead runner's event
// reads as interrupted, not as running forever.
import { and, asc, count, desc, eq, gt, like, lt, notInArray, or, sql, type SQL } from 'drizzle-orm';
import type { z } from '@hono/zod-openapi';
import type { EventFilter, EventQuery } from '../contract/api.ts';
import { eventLogs, events } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import { iso } from '../lib/http.ts';
import { appendFinalLogLine, sweepExpiredLeases } from './queue.ts';
import { eventView } from './views.ts';

export async function listEvents(db: DB, qy: z.infer<typeof EventQuery>, at: number) {
  await sweepExpiredLeases(db, at);
  const rows = await eventsPageQuery(db, qy);
  // `after` reads upwards (oldest first): the page is the `limit` rows just above it, shown newest first.
  const page = qy.after && !qy.cursor ? rows.slice(0, qy.limit).reverse() : rows.slice(0, qy.limit);
  const older = qy.after && !qy.cursor ? page.length > 0 : rows.length > qy.limit;
  return { items: page.map(eventView), nextCursor: older && page.length ? page[page.length - 1].id : null };
}

/** How many events match (the Events page's total): counted up to COUNT_CAP, then "more than". */
export const COUNT_CAP = 10_000;
export async function countEvents(db: DB, qy: z.infer<typeof EventFilter>) {
  const inner = db
    .select({ one: sql`1` })
    .from(events)
    .where(and(...filterWhere(qy)))
    .limit(COUNT_CAP + 1)
    .as('m');
  const [{ n }] = await db.select({ n: count() }).from(inner);
  return { total: Math.min(n, COUNT_CAP), capped: n > COUNT_CAP };
}

function filterWhere(qy: z.infer<typeof EventFilter>): SQL[] {
  const where: SQL[] = [];
  if (qy.jobId) where.push(eq(events.jobId, qy.jobId));
  if (qy.nodeId) where.push(eq(events.nodeId, qy.nodeId));
  if (qy.status) where.push(eq(events.status, qy.status));
  if (qy.kind) where.push(eq(events.kind, qy.kind));
  if (qy.hideKinds?.length) where.push(notInArray(events.kind, [...qy.hideKinds]));
  if (qy.q) {
    const pat = `%${qy.q.replace(/[\\%_]/g, (m) => '\\' + m)}%`;
    const l = (col: Parameters<typeof like>[0]) => like(col, pat); // drizzle's like has no ESCAPE; \ matches literally which is harmless
    where.push(
      or(
        l(events.jobName),
        l(events.source),
        l(events.destination),
        l(events.snapshot),
        l(events.error),
        l(events.note),
        l(events.kind),
        l(events.status),
      )!,
    );
  }
  return where;
}

/**
 * One page of the history, newest first (one more row than the page: is there a next?); with
 * `after` (and no cursor) the rows just newer than it, oldest first. Its plan is checked in
 * tests/functions/event-retention.test.ts.
 */
export function eventsPageQuery(db: DB, qy: z.infer<typeof EventQuery>) {
  const where = filterWhere(qy);
  const up = qy.after !== undefined && qy.cursor === undefined;
  if (qy.cursor) where.push(lt(events.id, qy.cursor));
  else if (qy.after) where.push(gt(events.id, qy.after));
  return db
    .select()
    .from(events)
    .where(and(...where))
    .orderBy(up ? asc(events.id) : desc(events.id))
    .limit(qy.limit + 1);
}

export async function getEvent(db: DB, id: number, at: number) {
  await sweepExpiredLeases(db, at);
  const [e] = await db.select().from(events).where(eq(events.id, id));
  if (!e) throw notFound(`event ${id}`);
  return eventView(e);
}

export async function eventLog(db: DB, id: number) {
  const [e] = await db.select({ id: events.id }).from(events).where(eq(events.id, id));
  if (!e) throw notFound(`event ${id}`);
  const rows = await db.select().from(eventLogs).where(eq(eventLogs.eventId, id)).orderBy(asc(eventLogs.id)).limit(5000);
  return rows.map((r) => ({ ts: iso(r.ts)!, level: r.level, message: r.message }));
}

/** Queued work is cancelled at once; running work is asked to stop and its runner finishes it as cancelled. */
export async function cancelEvent(db: DB, id: number, at: number) {
  const [queued] = await db
    .update(events)
    .set({ status: 'cancelled', finishedAt: at, cancelRequested: true, error: 'cancelled before it started' })
    .where(and(eq(events.id, id), eq(events.status, 'queued')))
    .returning();
  if (queued) {
    await appendFinalLogLine(db, id, queued.status, queued.error ?? 'cancelled', at);
    return eventView(queued);
  }
  const [running] = await db
    .update(events)
    .set({ cancelRequested: true })
    .where(and(eq(events.id, id), eq(events.status, 'running')))
    .returning();
  if (running) return eventView(running);
  const [e] = await db.select({ status: events.status }).from(events).where(eq(events.id, id));
  if (!e) throw notFound(`event ${id}`);
  // a cancel that comes after the end: said as such, with the status it ended with
  throw new ApiError('conflict', `too late to stop: the event already ended (${e.status})`, {}, { eventStatus: e.status });
}
