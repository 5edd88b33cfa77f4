// A file DB for the UI bench: one node, one target, `jobs` hourly jobs and N completed events of every
// kind, written with SQL before the server starts (the server migrates the same file again on open:
// no-op). Each job's last backup (the columns the events_finish_job trigger keeps) is filled in from
// its newest backup event, as the trigger would have.
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
      INSERT INTO jobs (id, name, target_id, node_id, mode, source, schedule, timezone, keep_last, rpo_effective_seconds, next_run_at,
                        created_at, updated_at)
      SELECT x, 'job-' || x, 1, 1, 'dataset', 'tank/data/set-' || x, (x % 60) || ' * * * *', 'UTC', 24, 7200,
             ${T} + 3600000 - (${T} % 3600000) + (x % 60) * 60000, ${T}, ${T} FROM c`);
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
    // one pass over the events grouped by job (a subquery per job scans the history once per job)
    await db.run(sql`WITH last AS (SELECT job_id, max(id) AS id FROM events WHERE kind = 'backup' GROUP BY job_id),
                          ok AS (SELECT job_id, max(finished_at) AS at FROM events WHERE kind = 'backup' AND status = 'success' GROUP BY job_id)
      UPDATE jobs SET last_backup_event_id = s.id, last_backup_status = s.status, last_backup_at = s.finished_at,
                      last_backup_bytes = s.bytes_done, last_backup_duration_ms = s.finished_at - s.started_at,
                      last_run_at = s.finished_at, last_status = s.status, last_success_at = s.ok_at
      FROM (SELECT l.job_id, e.id, e.status, e.finished_at, e.started_at, e.bytes_done, ok.at AS ok_at
              FROM last l JOIN events e ON e.id = l.id LEFT JOIN ok ON ok.job_id = l.job_id) AS s
      WHERE s.job_id = jobs.id`);
    await db.run(sql`ANALYZE`);
  } finally {
    close();
  }
}
