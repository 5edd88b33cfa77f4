// Upgrades (README, Upgrading) on real libSQL file DBs and the real server entry: a database migrated
// by a newer Lifeboat is refused with a message and exit 1, an older one is copied before it is
// migrated, an unreachable one is named without its credentials, and runners are told which side to
// upgrade when their protocol does not match.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { drizzle } from 'drizzle-orm/libsql';
import { migrate } from 'drizzle-orm/libsql/migrator';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseRefused, MIGRATIONS_DIR, openDatabase } from '../../functions/src/db/libsql.ts';
import { RUNNER_PROTOCOL_HEADER } from '../../protocol/src/runner-protocol.ts';
import { startControl } from '../helpers/control.ts';
import type { ApiErrorBody } from '../helpers/api.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lb-upgrade-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
/** Every table, index and trigger of a database file, with its SQL: what a migration changes. */
const schemaOf = async (file: string) => {
  const c = createClient({ url: `file:${file}` });
  try {
    return (await c.execute("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")).rows.map(
      (r) => `${r.type} ${r.name}: ${r.sql}`,
    );
  } finally {
    c.close();
  }
};
/** The server entry on `dbUrl` until it exits (a refused database) or 20 s pass (it started: a failure here). */
function serve(dbUrl: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'functions/src/node.ts')], {
    cwd: ROOT,
    env: { ...process.env, LIFEBOAT_DATA_DIR: tmp(), LIFEBOAT_DB_URL: dbUrl, LIFEBOAT_PORT: '0', LIFEBOAT_LOCAL_RUNNER: '0', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('the database at start', () => {
  it('a database migrated by a newer Lifeboat is refused: the server says so and exits 1, the database untouched', async () => {
    const file = join(tmp(), 'lifeboat.db');
    (await openDatabase(`file:${file}`)).close();
    const c = createClient({ url: `file:${file}` });
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta/_journal.json'), 'utf8')) as { entries: { when: number }[] };
    const newest = Math.max(...journal.entries.map((e) => e.when));
    await c.execute({ sql: 'INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)', args: ['from-the-future', newest + 1000] });
    await c.execute('CREATE TABLE from_the_future (x)');
    c.close();
    await expect(openDatabase(`file:${file}`)).rejects.toThrow(DatabaseRefused);
    await expect(openDatabase(`file:${file}`)).rejects.toThrow(/migrated by a newer Lifeboat .* upgrade the server/);
    const r = serve(`file:${file}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\S+Z ERROR server the database file:.* was migrated by a newer Lifeboat/m);
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(await schemaOf(file)).toContain('table from_the_future: CREATE TABLE from_the_future (x)');
  });

  it('an older database is copied beside itself (owner-only) before the pending migrations are applied', async () => {
    const d = tmp();
    const file = join(d, 'lifeboat.db');
    // a database of the previous release: every migration but the newest
    const older = join(d, 'migrations');
    cpSync(MIGRATIONS_DIR, older, { recursive: true });
    const jf = join(older, 'meta/_journal.json');
    const journal = JSON.parse(readFileSync(jf, 'utf8')) as { entries: { tag: string }[] };
    const newest = journal.entries.pop()!;
    writeFileSync(jf, JSON.stringify(journal));
    const c = createClient({ url: `file:${file}` });
    await migrate(drizzle(c), { migrationsFolder: older });
    c.close();
    const olderSchema = await schemaOf(file);

    const lines: string[] = [];
    (await openDatabase(`file:${file}`, { log: (l) => lines.push(l) })).close();
    const copies = readdirSync(d).filter((f) => f.startsWith(`lifeboat.db.before-${newest.tag}.`) && f.endsWith('.bak'));
    expect(copies).toHaveLength(1);
    expect((statSync(join(d, copies[0])).mode & 0o777).toString(8)).toBe('600');
    // the copy is the database as it was; the database itself has the newest migration now
    expect(await schemaOf(join(d, copies[0]))).toEqual(olderSchema);
    expect(await schemaOf(file)).not.toEqual(olderSchema);
    expect(lines).toEqual([
      `database: copied to ${join(d, copies[0])} before migrating to ${newest.tag}`,
      `database: migrated to ${newest.tag}`,
    ]);
    // up to date: opened again, nothing is copied
    (await openDatabase(`file:${file}`)).close();
    expect(readdirSync(d).filter((f) => f.endsWith('.bak'))).toHaveLength(1);
  });

  it('an unreachable remote database is named without its credentials, and the server exits 1', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const url = `http://user:pw-7f1c@127.0.0.1:${port}/db?authToken=tok-91ad`;
    await expect(openDatabase(url)).rejects.toThrow(new RegExp(`^cannot reach the database http://127\\.0\\.0\\.1:${port}/db: `));
    const r = serve(url, { LIFEBOAT_DB_AUTH_TOKEN: 'tok-env-33e0' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the database http:\/\/127\.0\.0\.1:\d+\/db/);
    for (const secret of ['pw-7f1c', 'tok-91ad', 'tok-env-33e0']) expect(r.stdout + r.stderr).not.toContain(secret);
  });
});

describe('runner protocol', () => {
  it('a runner newer than the server is told to upgrade the server first; a malformed header is a 400 naming it', async () => {
    const ctl = await startControl();
    try {
      const call = (header: string | null) =>
        ctl.app.request('/api/v1/runner/join', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(header === null ? {} : { [RUNNER_PROTOCOL_HEADER]: header }) },
          body: JSON.stringify({ joinToken: 'x', name: 'n1' }),
        });
      const newer = await call('99');
      expect(newer.status).toBe(426);
      const body = (await newer.json()) as ApiErrorBody;
      expect(body.error.fields[RUNNER_PROTOCOL_HEADER]).toMatch(
        /speaks protocol 99, newer than the server's \d+: upgrade the server first/,
      );
      const bad = await call('one');
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as ApiErrorBody).error.fields).toHaveProperty(RUNNER_PROTOCOL_HEADER);
      // the current protocol and a runner from before the header get past the check (to the join token's)
      for (const h of ['1', null]) expect((await call(h)).status).toBe(401);
    } finally {
      ctl.close();
    }
  });
});
