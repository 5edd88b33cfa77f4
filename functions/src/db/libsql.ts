// Node-side database: a libSQL client (embedded file: DB by default), migrated on open.
import { createClient } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from './schema.ts';
import type { DB } from './types.ts';

/** drizzle/migrations of the checkout: found upwards from this module (functions/src/db, or the functions/dist bundle). */
export const MIGRATIONS_DIR = (() => {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    if (existsSync(join(d, 'drizzle', 'migrations', 'meta', '_journal.json'))) return join(d, 'drizzle', 'migrations');
    if (dirname(d) === d) throw new Error('drizzle/migrations not found above ' + fileURLToPath(import.meta.url));
  }
})();

export async function openDatabase(url: string): Promise<{ db: DB; close: () => void }> {
  const client = createClient({ url, timeout: 5000 });
  if (url.startsWith('file:')) {
    await client.execute('PRAGMA journal_mode = WAL');
    await client.execute('PRAGMA synchronous = NORMAL');
    await client.execute('PRAGMA foreign_keys = ON');
  }
  const db = drizzle(client, { schema });
  await migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  return { db, close: () => client.close() };
}
