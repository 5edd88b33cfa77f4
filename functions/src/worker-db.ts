// The Worker's D1 database through drizzle, every statement counted into this isolate's counter
// (GET /metrics, lifeboat_db_statements_total, and the fleet bench): shared by the Worker entry and
// the Durable Objects that run SQL (worker-due.ts).
import { drizzle } from 'drizzle-orm/d1';
import * as schema from './db/schema.ts';
import { countingD1, type StatementCounts } from './db/statement-counter.ts';
import type { DB } from './db/types.ts';

/** This isolate's D1 statements. */
export const statements: StatementCounts = { read: 0, write: 0 };

/** drizzle over a D1 binding (`env.DB`). */
export const d1Database = (d1: unknown) =>
  drizzle(countingD1(d1 as object, statements) as Parameters<typeof drizzle>[0], { schema }) as unknown as DB;
