// A runner's reports on its own events: which still run (asked before it cleans a leftover staging
// dataset), progress (renews the lease, carries the cancel back), finish (finish.ts) and catalog
// reads. A node only ever sees and changes its own events.
import { and, eq, inArray } from 'drizzle-orm';
import type { z } from '@hono/zod-openapi';
import type { CatalogRequest, FinishRequest, ProgressRequest } from '../contract/runner.ts';
import { events } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import type { AppDeps } from '../lib/http.ts';
import { finishEvent, recordScopedCatalog } from './finish.ts';
import { appendLogs, sweepExpiredLeases } from './queue.ts';

/** The status of those of `ids` that are this node's events; others are simply absent (no probing). */
export async function eventStatuses(db: DB, nodeId: number, ids: number[], at: number) {
  await sweepExpiredLeases(db, at);
  return db
    .select({ id: events.id, status: events.status })
    .from(events)
    .where(and(inArray(events.id, ids), eq(events.nodeId, nodeId)));
}

/** Progress of a running event: stored with its log lines, the lease renewed; answers whether a cancel was asked. */
export async function reportProgress(
  deps: Pick<AppDeps, 'db' | 'config'>,
  nodeId: number,
  id: number,
  body: z.infer<typeof ProgressRequest>,
  at: number,
) {
  const { db, config } = deps;
  const { log, ...p } = body;
  const [row] = await db
    .update(events)
    .set({ ...p, leaseUntil: at + config.leaseMs })
    .where(and(eq(events.id, id), eq(events.nodeId, nodeId), eq(events.status, 'running')))
    .returning({ cancelRequested: events.cancelRequested, leaseUntil: events.leaseUntil });
  if (!row) throw await notRunning(db, nodeId, id);
  if (log?.length) await appendLogs(db, id, log, at);
  return row;
}

export async function reportFinish(db: DB, nodeId: number, id: number, body: z.infer<typeof FinishRequest>, at: number): Promise<void> {
  const ev = await finishEvent(db, nodeId, id, body, at);
  if (!ev) throw await notRunning(db, nodeId, id);
}

/** A catalog read during one of this node's running events, recorded as far as that event covers it. */
export async function reportCatalog(db: DB, nodeId: number, b: z.infer<typeof CatalogRequest>, at: number): Promise<void> {
  const [ev] = await db
    .select()
    .from(events)
    .where(and(eq(events.id, b.eventId), eq(events.nodeId, nodeId), eq(events.status, 'running')));
  if (!ev || ev.targetId == null)
    throw new ApiError('forbidden', 'catalog reports need a running event of this node', {
      eventId: 'is not a running event of this node',
    });
  // only what this event covers, and only a browse may replace the whole catalog
  await recordScopedCatalog(db, ev, ev.targetId, b.datasets, b.complete && ev.kind === 'browse', at);
}

/** 404 for events that do not exist or belong to another node (no probing), 409 when no longer running. */
async function notRunning(db: DB, nodeId: number, id: number) {
  const [e] = await db.select({ status: events.status, nodeId: events.nodeId }).from(events).where(eq(events.id, id));
  if (!e || e.nodeId !== nodeId) return notFound(`event ${id}`);
  return new ApiError('conflict', `the event is ${e.status}, not running`, {}, { status: e.status });
}
