// The data directory's files hold the admin token, the secret key and (in the DB) the encrypted
// target keys: owner-only. SQLite gives its -wal and -shm files the database file's mode, so the
// database is created 0600 before SQLite opens it; files left more open by an older version or by
// hand are narrowed at start. A group/world-readable directory is reported, not changed (README,
// operations).
import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';

/** Prepare `dbPath` (and its -wal/-shm) owner-only; returns warnings for the log. */
export function secureDataFiles(dataDir: string, dbPath: string | null): string[] {
  const warnings: string[] = [];
  const dirMode = statSync(dataDir).mode & 0o777;
  if (dirMode & 0o077) {
    warnings.push(
      `data directory ${dataDir} is ${dirMode & 0o044 ? 'readable' : 'accessible'} by group or others (mode ${dirMode.toString(8).padStart(4, '0')}); chmod 700 it`,
    );
  }
  if (dbPath) {
    if (!existsSync(dbPath)) closeSync(openSync(dbPath, 'a', 0o600));
    for (const f of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`]) {
      if (!existsSync(f)) continue;
      const mode = statSync(f).mode & 0o777;
      if (mode !== 0o600) {
        chmodSync(f, 0o600);
        warnings.push(`${f} was mode ${mode.toString(8).padStart(4, '0')}; now 0600`);
      }
    }
  }
  return warnings;
}
