// What GET /events/stream reads: the change cursor (one row: the last change number an event row
// took, kept by the triggers events_change_* of drizzle/migrations/0015) and the rows changed above
// a cursor, each once with its latest state (a row keeps only its last change number).
import { asc, eq, gt } from 'drizzle-orm';
import { eventChanges, events } from '../db/schema.ts';
import type { DB } from '../db/types.ts';

/** The newest change number (0 before any event changed). */
export async function changeCursor(db: DB): Promise<number> {
  const [r] = await db.select({ seq: eventChanges.seq }).from(eventChanges).where(eq(eventChanges.id, 1));
  return r?.seq ?? 0;
}

/**
 * The events changed after `after`, oldest change first, at most `limit`: what a page needs to
 * update a row in place or know to reload (no paths, errors or parameters: those are read from
 * GET /events/{id} by who shows them).
 */
export function changesSince(db: DB, after: number, limit: number) {
  return db
    .select({
      seq: events.changeSeq,
      id: events.id,
      kind: events.kind,
      status: events.status,
      jobId: events.jobId,
      nodeId: events.nodeId,
      phase: events.phase,
      bytesDone: events.bytesDone,
      bytesTotal: events.bytesTotal,
      rateBps: events.rateBps,
      etaSeconds: events.etaSeconds,
    })
    .from(events)
    .where(gt(events.changeSeq, after))
    .orderBy(asc(events.changeSeq))
    .limit(limit);
}

export type EventChange = Awaited<ReturnType<typeof changesSince>>[number];
