// What GET /health reads: a liveness probe of the database (GET /metrics is services/metrics.ts).
import { sql } from 'drizzle-orm';
import type { DB } from '../db/types.ts';

/** Throws when the database does not answer (GET /health is then a 500). */
export async function pingDatabase(db: DB): Promise<void> {
  await db.run(sql`SELECT 1`);
}
