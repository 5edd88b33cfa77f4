// Data directory files are owner-only, also when the directory already existed (real libSQL file DB).
import { afterEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secureDataFiles } from '../../functions/src/data-dir.ts';
import { openDatabase } from '../../functions/src/db/libsql.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const modeOf = (p: string) => statSync(p).mode & 0o777;
function dataDir(mode: number) {
  const d = mkdtempSync(join(tmpdir(), 'lb-data-'));
  dirs.push(d);
  chmodSync(d, mode);
  return d;
}

describe('secureDataFiles', () => {
  it('a new database in an existing 0755 directory: the DB, WAL and SHM files are 0600; the directory is reported', async () => {
    const d = dataDir(0o755);
    const db = join(d, 'lifeboat.db');
    const old = process.umask(0o022);
    try {
      const warnings = secureDataFiles(d, db);
      expect(warnings).toEqual([expect.stringMatching(/data directory .* readable by group or others \(mode 0755\); chmod 700 it/)]);
      const { close } = await openDatabase(`file:${db}`); // migrations write: the WAL and SHM files exist now
      for (const f of [db, `${db}-wal`, `${db}-shm`]) expect(modeOf(f).toString(8), f).toBe('600');
      close();
    } finally {
      process.umask(old);
    }
  });

  it('files left 0644 are narrowed to 0600 and named; a 0700 directory is fine', () => {
    const d = dataDir(0o700);
    const db = join(d, 'lifeboat.db');
    writeFileSync(db, '', { mode: 0o644 });
    writeFileSync(`${db}-wal`, '', { mode: 0o644 });
    chmodSync(db, 0o644);
    chmodSync(`${db}-wal`, 0o644);
    const warnings = secureDataFiles(d, db);
    expect(warnings).toEqual([`${db} was mode 0644; now 0600`, `${db}-wal was mode 0644; now 0600`]);
    expect([modeOf(db), modeOf(`${db}-wal`)]).toEqual([0o600, 0o600]);
    expect(secureDataFiles(d, db)).toEqual([]);
  });
});
