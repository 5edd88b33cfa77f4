// Statements built once per database and run with placeholders (drizzle's sql.placeholder and
// .prepare()). drizzle otherwise builds a statement's SQL text on every call: measured on the Node
// entry's file DB, building a SELECT of a job row costs a third as much as running it, and a
// fleet's due second claims hundreds of backups at once (README, Fleet scale).
import { fillPlaceholders } from 'drizzle-orm';
import type { RunnableQuery } from 'drizzle-orm/runnable-query';
import type { DB } from './types.ts';

const built = new WeakMap<DB, Map<(db: DB) => unknown, unknown>>();

/** `build(db)`, built on the first call for this database and kept with it. */
export function prepared<T>(db: DB, build: (db: DB) => T): T {
  let forDb = built.get(db);
  if (!forDb) built.set(db, (forDb = new Map()));
  if (!forDb.has(build)) forDb.set(build, build(db));
  return forDb.get(build) as T;
}

/** What drizzle's prepared statements offer that a batch item needs (getQuery, mapResult: public API). */
interface PreparedLike<R> {
  getQuery(): { sql: string; params: unknown[] };
  mapResult(response: unknown, isFromBatch?: boolean): unknown;
  execute(values?: Record<string, unknown>): Promise<R>;
}

/**
 * A prepared statement with its placeholders' values, as an item of `db.batch` (the Workers claim's
 * batches, README Fleet scale). drizzle's batch asks each item for `_prepare()` and then binds what
 * its `getQuery()` returns: the D1 session through the item's `stmt` (the D1 statement prepared once),
 * the libSQL session as SQL text. That is drizzle-orm 0.45's batch, pinned in functions/package.json;
 * tests/functions/worker.test.ts counts the statements these batches send, and the Worker's
 * end-to-end suite runs them.
 */
export function batchItem<R>(p: PreparedLike<R>, values: Record<string, unknown>): RunnableQuery<R, 'sqlite'> {
  const q = p.getQuery();
  const filled = { ...q, params: fillPlaceholders(q.params, values) };
  const item = {
    _prepare: () => ({
      getQuery: () => filled,
      stmt: (p as unknown as { stmt?: unknown }).stmt,
      mapResult: (response: unknown, isFromBatch?: boolean) => p.mapResult(response, isFromBatch),
    }),
  };
  return item as unknown as RunnableQuery<R, 'sqlite'>;
}
