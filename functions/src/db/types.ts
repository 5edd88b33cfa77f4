import type { LibSQLDatabase } from 'drizzle-orm/libsql';
import type * as schema from './schema.ts';

/**
 * The app is written against the libSQL flavour of drizzle; the D1 database offers the same
 * query-builder and batch API for everything used here, so the worker entry casts to this type.
 */
export type DB = LibSQLDatabase<typeof schema>;
