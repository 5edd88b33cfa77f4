// GET /metrics in the Prometheus text format (README, "Monitoring"): per-job gauges read from the
// job rows (the database keeps each job's last-backup summary, drizzle/migrations/0010), finished
// events as counters that never go down (event_counts), each runner's last contact. One query per
// family, no per-job query: it stays fast at 10,000 jobs (bench control-plane).
import { eq, sql } from 'drizzle-orm';
import { LIFEBOAT_VERSION } from '../../../protocol/src/version.ts';
import { eventCounts, events, jobs, nodes, targets } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { jobHealth, type HealthState } from './job-health.ts';

/** A label value as the text format wants it: backslash, double quote and newline escaped. */
export const labelValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string | number>) =>
  '{' +
  Object.entries(l)
    .map(([k, v]) => `${k}="${labelValue(String(v))}"`)
    .join(',') +
  '}';
const seconds = (ms: number) => (ms / 1000).toFixed(3).replace(/\.?0+$/, '');

interface Family {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: string[];
}

export async function metricsText(db: DB, at: number): Promise<string> {
  const [active, finished, jobRows, nodeRows] = await Promise.all([
    db
      .select({ kind: events.kind, status: events.status, n: sql<number>`count(*)` })
      .from(events)
      .groupBy(events.kind, events.status),
    db.select().from(eventCounts),
    db
      .select({
        id: jobs.id,
        name: jobs.name,
        node: nodes.name,
        target: targets.name,
        enabled: jobs.enabled,
        createdAt: jobs.createdAt,
        updatedAt: jobs.updatedAt,
        lastSuccessAt: jobs.lastSuccessAt,
        lastBackupStatus: jobs.lastBackupStatus,
        lastBackupDurationMs: jobs.lastBackupDurationMs,
        lastBackupBytes: jobs.lastBackupBytes,
        failingSince: jobs.failingSince,
        rpoEffectiveSeconds: jobs.rpoEffectiveSeconds,
        sourceSnapshotCount: jobs.sourceSnapshotCount,
        targetSnapshotCount: jobs.targetSnapshotCount,
      })
      .from(jobs)
      .innerJoin(nodes, eq(nodes.id, jobs.nodeId))
      .innerJoin(targets, eq(targets.id, jobs.targetId)),
    db.select({ name: nodes.name, lastSeenAt: nodes.lastSeenAt }).from(nodes),
  ]);
  const f = (name: string, type: Family['type'], help: string): Family => ({ name, type, help, samples: [] });
  const fam = {
    build: f('lifeboat_build_info', 'gauge', 'The running version (always 1).'),
    events: f('lifeboat_events', 'gauge', 'Events in the database by kind and status (queued and running ones are the work now).'),
    finished: f('lifeboat_events_finished_total', 'counter', 'Events finished since the database began, by kind and status.'),
    jobs: f('lifeboat_jobs', 'gauge', 'Configured jobs.'),
    lastSuccess: f('lifeboat_job_last_success_timestamp_seconds', 'gauge', 'When the job last backed up successfully (unix time).'),
    duration: f('lifeboat_job_last_run_duration_seconds', 'gauge', 'How long the job’s last backup ran.'),
    bytes: f('lifeboat_job_last_run_bytes', 'gauge', 'Bytes the job’s last backup sent.'),
    snapshots: f('lifeboat_job_snapshots', 'gauge', 'The job’s snapshots on each side after its last backup.'),
    rpo: f('lifeboat_job_rpo_seconds', 'gauge', 'Seconds since the job’s last successful backup (the data a loss now would cost).'),
    rpoLimit: f('lifeboat_job_rpo_limit_seconds', 'gauge', 'The job’s RPO: a backup must have succeeded within this (jobs that have one).'),
    health: f('lifeboat_job_health', 'gauge', 'The job’s health: 1 for its state (ok, overdue, failing, disabled).'),
    seen: f('lifeboat_runner_last_seen_timestamp_seconds', 'gauge', 'Last contact of each node’s runner (unix time).'),
  };
  fam.build.samples.push(`${labels({ version: LIFEBOAT_VERSION })} 1`);
  for (const r of active) fam.events.samples.push(`${labels({ kind: r.kind, status: r.status })} ${r.n}`);
  for (const r of finished) fam.finished.samples.push(`${labels({ kind: r.kind, status: r.status })} ${r.n}`);
  fam.jobs.samples.push(` ${jobRows.length}`);
  for (const j of jobRows) {
    const l = labels({ job: j.name, node: j.node, target: j.target });
    if (j.lastSuccessAt !== null) {
      fam.lastSuccess.samples.push(`${l} ${seconds(j.lastSuccessAt)}`);
      fam.rpo.samples.push(`${l} ${seconds(Math.max(0, at - j.lastSuccessAt))}`);
    }
    if (j.lastBackupDurationMs !== null) fam.duration.samples.push(`${l} ${seconds(j.lastBackupDurationMs)}`);
    if (j.lastBackupBytes !== null) fam.bytes.samples.push(`${l} ${j.lastBackupBytes}`);
    if (j.sourceSnapshotCount !== null)
      fam.snapshots.samples.push(`${labels({ job: j.name, node: j.node, target: j.target, side: 'source' })} ${j.sourceSnapshotCount}`);
    if (j.targetSnapshotCount !== null)
      fam.snapshots.samples.push(`${labels({ job: j.name, node: j.node, target: j.target, side: 'target' })} ${j.targetSnapshotCount}`);
    if (j.rpoEffectiveSeconds !== null) fam.rpoLimit.samples.push(`${l} ${j.rpoEffectiveSeconds}`);
    const state: HealthState = jobHealth(j, at).state;
    fam.health.samples.push(`${labels({ job: j.name, node: j.node, target: j.target, state })} 1`);
  }
  for (const n of nodeRows) if (n.lastSeenAt !== null) fam.seen.samples.push(`${labels({ node: n.name })} ${seconds(n.lastSeenAt)}`);

  const out: string[] = [];
  for (const x of Object.values(fam)) {
    out.push(`# HELP ${x.name} ${x.help}`, `# TYPE ${x.name} ${x.type}`);
    for (const s of x.samples) out.push(x.name + s);
  }
  return out.join('\n') + '\n';
}
