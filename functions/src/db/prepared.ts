// Statements built once per database and run with placeholders (drizzle's sql.placeholder and
// .prepare()). drizzle otherwise builds a statement's SQL text on every call: measured on the Node
// entry's file DB, building a SELECT of a job row costs a third as much as running it, and a
// fleet's due second claims hundreds of backups at once (README, Fleet scale).
import type { DB } from './types.ts';

const built = new WeakMap<DB, Map<(db: DB) => unknown, unknown>>();

/** `build(db)`, built on the first call for this database and kept with it. */
export function prepared<T>(db: DB, build: (db: DB) => T): T {
  let forDb = built.get(db);
  if (!forDb) built.set(db, (forDb = new Map()));
  if (!forDb.has(build)) forDb.set(build, build(db));
  return forDb.get(build) as T;
}
