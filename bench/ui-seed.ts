// A file DB for the UI bench: one node, one target, a few jobs and N completed events of every kind,
// written with SQL before the server starts (the server migrates the same file again on open: no-op).
import { sql } from 'drizzle-orm';
import { join } from 'node:path';
import { openDatabase } from '../functions/src/db/libsql.ts';

export async function seedUiDb(dataDir: string, events: number, jobs = 25): Promise<void> {
  const { db, close } = await openDatabase(`file:${join(dataDir, 'lifeboat.db')}`);
  try {
    const now = Date.now();
    // Inlined integers: bound JS numbers arrive as REAL in SQLite ('set-' || 1.0 = 'set-1.0').
    const N = sql.raw(String(Math.trunc(events)));
    const J = sql.raw(String(Math.trunc(jobs)));
    const T = sql.raw(String(Math.trunc(now)));
    await db.run(sql`INSERT INTO nodes (id, name, token_hash, created_at) VALUES (1, 'bench-node', 'not-a-token-hash', ${T})`);
    await db.run(sql`INSERT INTO targets (id, name, ssh_host, ssh_private_key_enc, backup_root, created_at, updated_at)
      VALUES (1, 'offsite', 'backup.example.org', 'not-a-key', 'tank/backups', ${T}, ${T})`);
    await db.run(sql`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${J})
      INSERT INTO jobs (id, name, target_id, node_id, mode, source, schedule, timezone, keep_last, created_at, updated_at)
      SELECT x, 'job-' || x, 1, 1, 'dataset', 'tank/data/set-' || x, '', 'UTC', 24, ${T}, ${T} FROM c`);
    // Newest first in the UI: ids grow with time; one event every three minutes back from now.
    await db.run(sql`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${N})
      INSERT INTO events (kind, job_id, job_name, node_id, target_id, trigger, status, phase, source, destination, generation, snapshot,
                          bytes_done, bytes_total, error, created_at, started_at, finished_at)
      SELECT CASE WHEN x % 50 = 0 THEN 'restore' WHEN x % 97 = 0 THEN 'validate' ELSE 'backup' END,
             (x % ${J}) + 1, 'job-' || ((x % ${J}) + 1), 1, 1, CASE WHEN x % 7 = 0 THEN 'manual' ELSE 'schedule' END,
             CASE WHEN x % 17 = 0 THEN 'failed' ELSE 'success' END,
             CASE WHEN x % 17 = 0 THEN 'transferring' ELSE 'finalizing' END,
             'tank/data/set-' || ((x % ${J}) + 1), 'tank/backups/j' || ((x % ${J}) + 1) || '/g1/tank/data/set-' || ((x % ${J}) + 1),
             1, 'lb_j' || ((x % ${J}) + 1) || '_' || strftime('%Y%m%dT%H%M%SZ', (${T} - (${N} - x) * 180000) / 1000, 'unixepoch'),
             x * 1024, x * 1024 + 4096,
             CASE WHEN x % 17 = 0 THEN 'ssh: connect to host backup.example.org port 22: Connection timed out' ELSE NULL END,
             ${T} - (${N} - x) * 180000, ${T} - (${N} - x) * 180000 + 1000, ${T} - (${N} - x) * 180000 + 30000
      FROM c`);
    await db.run(sql`ANALYZE`);
  } finally {
    close();
  }
}
