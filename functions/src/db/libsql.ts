// Node-side database: a libSQL client (embedded file: DB by default), migrated on open.
import { createClient, type Client } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as schema from './schema.ts';
import { countingClient, type StatementCounts } from './statement-counter.ts';
import type { DB } from './types.ts';

/** drizzle/migrations of the checkout: found upwards from this module (functions/src/db, or the functions/dist bundle). */
export const MIGRATIONS_DIR = (() => {
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    if (existsSync(join(d, 'drizzle', 'migrations', 'meta', '_journal.json'))) return join(d, 'drizzle', 'migrations');
    if (dirname(d) === d) throw new Error('drizzle/migrations not found above ' + fileURLToPath(import.meta.url));
  }
})();

/** What the checkout's migrations are: the newest one's tag and time (drizzle records applied ones by that time). */
function codeSchema(): { newestTag: string; newestWhen: number } {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string; when: number }[];
  };
  const newest = journal.entries.reduce((a, b) => (b.when > a.when ? b : a));
  return { newestTag: newest.tag, newestWhen: newest.when };
}

/** A database URL as it may be shown: no credentials, no query (an auth token can ride in either). */
export function shownUrl(url: string): string {
  if (url.startsWith('file:')) return url;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(an unparsable URL)';
  }
}

/** A driver's message with the URL's credentials and the auth token taken out (drivers quote the URL they were given). */
function withoutSecrets(message: string, url: string, authToken?: string): string {
  const secrets = [url, authToken];
  try {
    const u = new URL(url);
    secrets.push(decodeURIComponent(u.password), u.password, ...[...u.searchParams.values()]);
  } catch {
    // unparsable: the whole URL above is all there is to hide
  }
  let out = message;
  for (const s of secrets.filter((x): x is string => !!x && x.length >= 3).sort((a, b) => b.length - a.length))
    out = out.split(s).join('…');
  return out;
}

/** Why the server will not start on this database; the message says what to do. */
export class DatabaseRefused extends Error {}

export interface OpenOptions {
  /** Remote libSQL: its auth token (LIFEBOAT_DB_AUTH_TOKEN). */
  authToken?: string;
  /** Told what happened (a backup copy made, migrations applied). */
  log?: (line: string) => void;
}

/**
 * Opens and migrates the database, refusing (DatabaseRefused) one it cannot reach and one whose schema
 * is newer than this code's. Before a file: database is migrated, a consistent copy of it is taken
 * beside it (VACUUM INTO) so that an upgrade can be undone; the pending migrations then apply in one
 * transaction (libSQL's migrate), all or none (README, Upgrading). `statements` counts what the
 * returned `db` sends afterwards (db/statement-counter.ts).
 */
export async function openDatabase(
  url: string,
  opts: OpenOptions = {},
): Promise<{ db: DB; close: () => void; statements: StatementCounts }> {
  const log = opts.log ?? (() => {});
  let client: Client;
  try {
    client = createClient({ url, authToken: opts.authToken, timeout: 5000 });
    await client.execute('SELECT 1');
  } catch (e) {
    throw new DatabaseRefused(
      `cannot reach the database ${shownUrl(url)}: ${withoutSecrets(e instanceof Error ? e.message : String(e), url, opts.authToken)}`,
    );
  }
  try {
    if (url.startsWith('file:')) {
      await client.execute('PRAGMA journal_mode = WAL');
      await client.execute('PRAGMA synchronous = NORMAL');
      await client.execute('PRAGMA foreign_keys = ON');
    }
    const code = codeSchema();
    const hasTable = await client.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'");
    const applied = hasTable.rows.length
      ? Number((await client.execute('SELECT max(created_at) AS t, count(*) AS n FROM __drizzle_migrations')).rows[0].t ?? 0)
      : 0;
    if (applied > code.newestWhen)
      throw new DatabaseRefused(
        `the database ${shownUrl(url)} was migrated by a newer Lifeboat (a migration of ${new Date(applied).toISOString()}; ` +
          `this code's newest is ${code.newestTag}): upgrade the server, or restore the copy taken before that upgrade`,
      );
    if (applied > 0 && applied < code.newestWhen && url.startsWith('file:')) {
      const path = url.slice('file:'.length).split('?')[0];
      const copy = `${path}.before-${code.newestTag}.${new Date().toISOString().replace(/[:.]/g, '-')}.bak`;
      // made empty and owner-only first: it holds what the database holds (sealed keys, hashes); VACUUM INTO fills an empty file
      closeSync(openSync(copy, 'wx', 0o600));
      await client.execute({ sql: 'VACUUM INTO ?', args: [copy] });
      log(`database: copied to ${copy} before migrating to ${code.newestTag}`);
    }
    const migrating = drizzle(client, { schema });
    await migrate(migrating, { migrationsFolder: MIGRATIONS_DIR });
    if (applied < code.newestWhen) log(`database: migrated to ${code.newestTag}`);
    const statements: StatementCounts = { read: 0, write: 0 };
    const db = drizzle(countingClient(client, statements), { schema });
    return { db, close: () => client.close(), statements };
  } catch (e) {
    client.close();
    throw e;
  }
}
