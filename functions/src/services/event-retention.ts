// Event retention (README, Events): per job, not per table. A fleet's history is kept as
//   - the newest `perJob` events of each job (events without a job: of each node and kind),
//   - every failed or interrupted event for `failedDays` days even beyond that,
//   - nothing finished older than `maxAgeDays`, and at most `maxRows` finished events in all (a safety net),
// and counted beyond that by triggers (event_counts by kind and status, each job's backups
// succeeded/failed). Queued and running events are never touched.
//
// Cost is bounded by what changed, not by the history (docs/database.md): a pass looks only at the
// groups that got events since the last pass (a watermark on the event id), finds each group's
// edge through its index, reads the oldest finished event to decide whether the age rule has
// anything to do, and reads the row count the triggers keep. An idle fleet costs a few reads.
import { and, asc, desc, eq, gt, inArray, isNull, lt, lte, notInArray, or, sql, type SQL } from 'drizzle-orm';
import { ACTIVE_STATUSES, type EventStatus } from '../../../protocol/src/events.ts';
import { eventLogs, events, eventTotals, housekeeping } from '../db/schema.ts';
import type { DB } from '../db/types.ts';

const ACTIVE = [...ACTIVE_STATUSES];
const FAILED: EventStatus[] = ['failed', 'interrupted'];
const WATERMARK = 'event_retention_watermark';
/** Rows deleted per statement pair (the logs, then the events): D1 binds at most 100 parameters. */
const CHUNK = 90;
/** Event ids a pass looks at for the per-job rule: a backlog (the first pass after an upgrade) drains over passes. */
const WINDOW = 20_000;
/** Chunks of the age and row rules per pass, likewise. */
const MAX_CHUNKS = 200;

export interface EventRetention {
  /** The newest events kept per job (without a job: per node and kind); 0: no per-job rule. */
  perJob: number;
  /** Failed and interrupted events are kept this many days even beyond perJob. */
  failedDays: number;
  /** Nothing finished older than this is kept; 0: no age rule. */
  maxAgeDays: number;
  /** At most this many finished events in all (the safety net); 0: no cap. */
  maxRows: number;
}

export interface RetentionResult {
  /** Groups (jobs, or node and kind) looked at by the per-job rule. */
  groups: number;
  deleted: { perJob: number; age: number; rows: number };
}

async function deleteIds(db: DB, ids: number[]): Promise<number> {
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    await db.batch([db.delete(eventLogs).where(inArray(eventLogs.eventId, part)), db.delete(events).where(inArray(events.id, part))]);
  }
  return ids.length;
}

/** Of one group, the finished events beyond its newest `perJob`, except failures newer than `failedSince`. */
async function trimGroup(db: DB, group: SQL, perJob: number, failedSince: number): Promise<number> {
  // the edge: the perJob-th newest event of the group, found through the group's index
  const [edge] = await db
    .select({ id: events.id })
    .from(events)
    .where(group)
    .orderBy(desc(events.id))
    .limit(1)
    .offset(perJob - 1);
  if (!edge) return 0;
  const doomed = await db
    .select({ id: events.id })
    .from(events)
    .where(
      and(
        group,
        lt(events.id, edge.id),
        notInArray(events.status, ACTIVE),
        or(notInArray(events.status, FAILED), lt(events.createdAt, failedSince)),
      ),
    );
  return deleteIds(
    db,
    doomed.map((r) => r.id),
  );
}

/**
 * Deletes the oldest finished events, at most `limit`, while `old` holds: ids grow with time, so the
 * old ones are a prefix and the scan stops at the first young one instead of reading the table.
 */
async function deleteOldest(db: DB, old: (createdAt: number) => boolean, limit = Infinity): Promise<number> {
  let n = 0;
  for (let c = 0; c < MAX_CHUNKS && n < limit; c++) {
    const rows = await db
      .select({ id: events.id, createdAt: events.createdAt })
      .from(events)
      .where(notInArray(events.status, ACTIVE))
      .orderBy(asc(events.id))
      .limit(Math.min(CHUNK, limit - n));
    const doomed = [];
    for (const r of rows) {
      if (!old(r.createdAt)) break;
      doomed.push(r.id);
    }
    n += await deleteIds(db, doomed);
    if (doomed.length < CHUNK) break;
  }
  return n;
}

export async function applyEventRetention(db: DB, at: number, policy: EventRetention): Promise<RetentionResult> {
  const result: RetentionResult = { groups: 0, deleted: { perJob: 0, age: 0, rows: 0 } };

  // 1. Per job: the groups that got events since the last pass, found in a window of ids above the
  //    watermark (a rowid range, never the whole table).
  if (policy.perJob > 0) {
    const [mark] = await db.select({ value: housekeeping.value }).from(housekeeping).where(eq(housekeeping.name, WATERMARK));
    const from = mark?.value ?? 0;
    const [top] = await db.select({ id: events.id }).from(events).orderBy(desc(events.id)).limit(1);
    const upTo = Math.min(from + WINDOW, top?.id ?? 0);
    if (upTo > from) {
      const fresh = await db
        .selectDistinct({
          jobId: events.jobId,
          nodeId: sql<number | null>`CASE WHEN ${events.jobId} IS NULL THEN ${events.nodeId} END`,
          kind: sql<string | null>`CASE WHEN ${events.jobId} IS NULL THEN ${events.kind} END`,
        })
        .from(events)
        .where(and(gt(events.id, from), lte(events.id, upTo)));
      const failedSince = at - policy.failedDays * 86_400_000;
      for (const g of fresh) {
        const group =
          g.jobId !== null
            ? eq(events.jobId, g.jobId)
            : and(eq(events.nodeId, g.nodeId!), isNull(events.jobId), eq(events.kind, g.kind as (typeof events.$inferSelect)['kind']))!;
        result.deleted.perJob += await trimGroup(db, group, policy.perJob, failedSince);
      }
      result.groups = fresh.length;
      await db
        .insert(housekeeping)
        .values({ name: WATERMARK, value: upTo })
        .onConflictDoUpdate({ target: housekeeping.name, set: { value: sql`max(${housekeeping.value}, excluded.value)` } });
    }
  }

  // 2. Age: nothing finished older than maxAgeDays (one read when the oldest finished event is young).
  if (policy.maxAgeDays > 0) {
    const cutoff = at - policy.maxAgeDays * 86_400_000;
    result.deleted.age = await deleteOldest(db, (createdAt) => createdAt < cutoff);
  }

  // 3. The safety net: the row count the triggers keep (one read).
  if (policy.maxRows > 0) {
    const [total] = await db.select({ rows: eventTotals.rows }).from(eventTotals).where(eq(eventTotals.id, 1));
    // the cap counts finished events: the active ones (a few per node, through the status index) are not retention's
    const [active] = await db
      .select({ n: sql<number>`count(*)` })
      .from(sql`${events} INDEXED BY events_status_idx`)
      .where(inArray(events.status, ACTIVE));
    const excess = (total?.rows ?? 0) - active.n - policy.maxRows;
    if (excess > 0) result.deleted.rows = await deleteOldest(db, () => true, excess);
  }
  return result;
}
