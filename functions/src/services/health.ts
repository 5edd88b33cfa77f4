// What GET /health and GET /metrics read: a liveness probe of the database and the counts the metrics show.
import { sql } from 'drizzle-orm';
import { events, jobs, nodes } from '../db/schema.ts';
import type { DB } from '../db/types.ts';

/** Throws when the database does not answer (GET /health is then a 500). */
export async function pingDatabase(db: DB): Promise<void> {
  await db.run(sql`SELECT 1`);
}

/** Events by kind and status, the number of jobs, and each node's last contact. */
export async function metricCounts(db: DB) {
  const byStatus = await db
    .select({ kind: events.kind, status: events.status, n: sql<number>`count(*)` })
    .from(events)
    .groupBy(events.kind, events.status);
  const [{ n: jobCount }] = await db.select({ n: sql<number>`count(*)` }).from(jobs);
  const nodeRows = await db.select({ id: nodes.id, name: nodes.name, lastSeenAt: nodes.lastSeenAt }).from(nodes);
  return { byStatus, jobCount, nodeRows };
}
