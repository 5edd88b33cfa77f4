// GET /overview, the UI's home page: every job's health with its last backup, failures of the last
// 24 hours, nodes offline, targets not ready, and the work now. A fixed handful of queries whatever
// the number of jobs (no per-job query); job health is job-health.ts, a target's state per node is
// views.ts targetView, a silent node is what notifications call one (README, Notifications).
import { asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import { ACTIVE_STATUSES } from '../../../protocol/src/events.ts';
import { events, jobs, nodes, targetNodeStatus, targets } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { iso } from '../lib/http.ts';
import { changeCursor } from './event-changes.ts';
import { type FailuresMemo, failuresPlan } from './failures-plan.ts';
import { firstN } from './first-n.ts';
import { type HealthState, jobHealth } from './job-health.ts';
import { sweepExpiredLeases } from './queue.ts';
import { eventView, lastBackupView, targetView } from './views.ts';

const DAY_MS = 86_400_000;
/** Worst first: what needs a look leads the list. */
const SEVERITY: Record<HealthState, number> = { failing: 0, overdue: 1, ok: 2, disabled: 3 };
/** The order of names, as String#localeCompare gives it, at a fraction of its cost per call. */
const byName = new Intl.Collator().compare;
const ACTIVE_LIMIT = 100;

/** The job columns the overview reads; text ones hold no control characters (contract/fields.ts names, cron text, zone names). */
const JOB_COLUMNS = {
  id: jobs.id,
  name: jobs.name,
  nodeId: jobs.nodeId,
  nodeName: nodes.name,
  targetId: jobs.targetId,
  targetName: targets.name,
  schedule: jobs.schedule,
  timezone: jobs.timezone,
  enabled: jobs.enabled,
  createdAt: jobs.createdAt,
  updatedAt: jobs.updatedAt,
  lastSuccessAt: jobs.lastSuccessAt,
  lastBackupStatus: jobs.lastBackupStatus,
  lastBackupDurationMs: jobs.lastBackupDurationMs,
  lastBackupBytes: jobs.lastBackupBytes,
  lastBackupEventId: jobs.lastBackupEventId,
  lastBackupAt: jobs.lastBackupAt,
  failingSince: jobs.failingSince,
  rpoEffectiveSeconds: jobs.rpoEffectiveSeconds,
  nextRunAt: jobs.nextRunAt,
};
type JobKey = keyof typeof JOB_COLUMNS;
const KEYS = Object.keys(JOB_COLUMNS) as JobKey[];
const TEXT = new Set<JobKey>(['name', 'nodeName', 'targetName', 'schedule', 'timezone', 'lastBackupStatus']);
const NULLABLE = new Set<JobKey>([
  'nodeName',
  'targetName',
  'lastBackupStatus',
  'lastSuccessAt',
  'lastBackupDurationMs',
  'lastBackupBytes',
  'lastBackupEventId',
  'lastBackupAt',
  'failingSince',
  'rpoEffectiveSeconds',
  'nextRunAt',
]);

/**
 * Jobs with their node and target names (`ids`: these only; null: every job), packed by SQLite
 * into one text per 1,000 jobs as metrics.ts does (libSQL hands each row to JavaScript at a cost
 * that dominates at 10,000 jobs). The ids go as one JSON text (D1 binds at most 100 values).
 */
async function jobSummaries(db: DB, ids: number[] | null) {
  const packed = sql.join(
    KEYS.map((k) => sql`ifnull(${JOB_COLUMNS[k]}, '')`),
    sql` || char(31) || `,
  );
  const rows = await db
    .select({ t: sql<string>`group_concat(${packed}, char(30))` })
    .from(jobs)
    .leftJoin(nodes, eq(nodes.id, jobs.nodeId))
    .leftJoin(targets, eq(targets.id, jobs.targetId))
    .where(ids === null ? undefined : sql`${jobs.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`)
    .groupBy(sql`${jobs.id} / 1000`);
  return rows.flatMap((r) =>
    (r.t ?? '')
      .split(String.fromCharCode(30))
      .filter(Boolean)
      .map((line) => {
        const f = line.split(String.fromCharCode(31));
        const o: Record<string, string | number | boolean | null> = {};
        KEYS.forEach((k, i) => {
          const v = f[i] ?? '';
          o[k] = v === '' && NULLABLE.has(k) ? null : k === 'enabled' ? v === '1' : TEXT.has(k) ? v : Number(v);
        });
        return o as {
          id: number;
          name: string;
          nodeId: number;
          nodeName: string | null;
          targetId: number;
          targetName: string | null;
          schedule: string;
          timezone: string;
          enabled: boolean;
          createdAt: number;
          updatedAt: number;
          lastSuccessAt: number | null;
          lastBackupStatus: string | null;
          lastBackupDurationMs: number | null;
          lastBackupBytes: number | null;
          lastBackupEventId: number | null;
          lastBackupAt: number | null;
          failingSince: number | null;
          rpoEffectiveSeconds: number | null;
          nextRunAt: number | null;
        };
      }),
  );
}

const STATES = Object.keys(SEVERITY) as HealthState[];
const STATE_BY_SEVERITY = Object.fromEntries(STATES.map((s) => [SEVERITY[s], s])) as Record<number, HealthState>;

/**
 * Every job's health state as SQLite works it out, by SEVERITY number: jobHealth (job-health.ts)
 * in SQL, the same decisions in the same order (tests/functions/overview.test.ts checks the two
 * agree at the edges). The counts and the order of all jobs need no more than this.
 */
const severitySql = (at: number) => sql`CASE
  WHEN ${jobs.enabled} = 0 THEN ${sql.raw(String(SEVERITY.disabled))}
  WHEN ${jobs.failingSince} IS NOT NULL THEN ${sql.raw(String(SEVERITY.failing))}
  WHEN ${jobs.rpoEffectiveSeconds} IS NOT NULL
   AND ${sql.raw(String(Math.trunc(at)))} > coalesce(${jobs.lastSuccessAt}, ${jobs.createdAt}) + ${jobs.rpoEffectiveSeconds} * 1000
  THEN ${sql.raw(String(SEVERITY.overdue))}
  ELSE ${sql.raw(String(SEVERITY.ok))} END`;

/** Every job's id, health (SEVERITY), whether it ever backed up and name: one packed text, a few bytes a job. */
async function jobRanks(db: DB, at: number) {
  const [r] = await db
    .select({
      t: sql<
        string | null
      >`group_concat(${jobs.id} || char(31) || (${severitySql(at)}) || char(31) || (${jobs.lastSuccessAt} IS NOT NULL) || char(31) || ${jobs.name}, char(30))`,
    })
    .from(jobs);
  if (!r?.t) return [];
  return r.t.split(String.fromCharCode(30)).map((line) => {
    const f = line.split(String.fromCharCode(31));
    return { id: Number(f[0]), severity: Number(f[1]), backedUp: f[2] === '1', name: f[3] ?? '' };
  });
}

/** Per database (the Node entry has one for its life): the memo failures24h keeps between answers. */
const failureMemos = new WeakMap<DB, FailuresMemo>();
const ENDED_BADLY = sql`('failed', 'interrupted')`;

/**
 * The failed and interrupted events that finished since `from`, counted by kind and status. Read
 * whole through events_status_idx they are every failed event of the history (at 1,000,000 events
 * with 6 % failed, 60,000 rows looked up for a few hundred): so the ids found are kept with the
 * change cursor read before the read (`cursor`), and the next answer reads only the events changed
 * since and the kept ids again (services/failures-plan.ts says when it reads them all instead).
 */
async function failures24h(db: DB, from: number, cursor: number) {
  const memo = failureMemos.get(db);
  type Row = { id: number; kind: string; status: 'failed' | 'interrupted' };
  let rows: Row[];
  if (!memo || failuresPlan(memo, { cursor, from }) === 'full') {
    rows = await db.all<Row>(sql`
      SELECT id, kind, status FROM events INDEXED BY events_status_idx
      WHERE status IN ${ENDED_BADLY} AND finished_at >= ${from}`);
  } else {
    const changed = await db.all<{ id: number }>(sql`
      SELECT id FROM events INDEXED BY events_change_idx WHERE change_seq > ${memo.cursor} AND status IN ${ENDED_BADLY}`);
    const ids = [...new Set([...memo.ids, ...changed.map((r) => Number(r.id))])];
    rows = ids.length
      ? await db.all<Row>(sql`
          SELECT id, kind, status FROM events WHERE id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))
          AND status IN ${ENDED_BADLY} AND finished_at >= ${from}`)
      : [];
  }
  failureMemos.set(db, { cursor, from, ids: rows.map((r) => Number(r.id)) });
  const counts = new Map<string, { kind: string; status: 'failed' | 'interrupted'; count: number }>();
  for (const r of rows) {
    const key = `${r.kind}\u0000${r.status}`;
    const c = counts.get(key);
    if (c) c.count++;
    else counts.set(key, { kind: r.kind, status: r.status, count: 1 });
  }
  // by kind, then status, as SQLite's ORDER BY on these texts gave them
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...counts.values()].sort((a, b) => cmp(a.kind, b.kind) || cmp(a.status, b.status));
}

/**
 * `jobLimit`: list only the first N job lines (the counts still cover every job); null: all.
 * `changeCursor`: the event change number read before anything else (services/event-changes.ts):
 * every event change up to it shows in the answer, so a page that follows GET /events/stream from
 * a `hello` at or below it misses nothing (frontend/src/lib/live.ts).
 */
export async function overview(db: DB, at: number, opts: { nodeSilentMs: number; jobLimit?: number | null }) {
  await sweepExpiredLeases(db, at); // a dead runner's event reads as interrupted, not as running
  // Before the reads below, not beside them: what they read is at least as new as this number.
  const cursor = await changeCursor(db);
  const [ranks, sizes, failures, nodeRows, targetRows, statuses, active] = await Promise.all([
    jobRanks(db, at),
    // Per dataset the newest snapshot's referenced bytes (SQLite takes the bare column from the
    // MAX row) plus each snapshot's used bytes, summed per job; grouped in the order of
    // catalog_snapshots_uq, so the snapshots are read once without sorting them.
    db.all<{ jobId: number; bytes: number }>(sql`
      SELECT job_id AS jobId, SUM(used + newest) AS bytes
      FROM (SELECT job_id, SUM(used_bytes) AS used, referenced_bytes AS newest, MAX(created_at)
            FROM catalog_snapshots WHERE job_id IS NOT NULL GROUP BY target_id, dataset)
      GROUP BY job_id`),
    failures24h(db, at - DAY_MS, cursor),
    db
      .select({ id: nodes.id, name: nodes.name, lastSeenAt: nodes.lastSeenAt })
      .from(nodes)
      .where(isNull(nodes.revokedAt))
      .orderBy(asc(nodes.id)),
    db.select().from(targets).orderBy(asc(targets.name)),
    db.select().from(targetNodeStatus),
    // Named index: the active rows are a few among a long finished history (metrics.ts says why).
    db.all<{ id: number }>(
      sql`SELECT id FROM events INDEXED BY events_status_idx WHERE status IN (${sql.join(
        ACTIVE_STATUSES.map((s) => sql`${s}`),
        sql`, `,
      )}) ORDER BY id LIMIT ${ACTIVE_LIMIT}`,
    ),
  ]);

  const health = { ok: 0, overdue: 0, failing: 0, disabled: 0 };
  for (const r of ranks) health[STATE_BY_SEVERITY[r.severity]]++;
  // Worst first, then by name; only the listed jobs' rows are read whole (at 10,000 jobs reading,
  // unpacking and dating all of them was most of this request's time).
  const listed = firstN(ranks, opts.jobLimit ?? null, (a, b) => a.severity - b.severity || byName(a.name, b.name));
  const [jobRows, activeRows] = await Promise.all([
    listed.length ? jobSummaries(db, opts.jobLimit ? listed.map((r) => r.id) : null) : [],
    active.length
      ? db
          .select()
          .from(events)
          .where(
            inArray(
              events.id,
              active.map((r) => r.id),
            ),
          )
          .orderBy(asc(events.id))
      : [],
  ]);
  const activeByJob = new Map<number, number>();
  for (const e of activeRows) if (e.jobId !== null && (e.kind === 'backup' || e.kind === 'restore')) activeByJob.set(e.jobId, e.id);
  const sizeByJob = new Map(sizes.map((s) => [Number(s.jobId), Number(s.bytes)]));
  const rowById = new Map(jobRows.map((j) => [j.id, j]));

  // a job deleted between the two reads has no row: left out
  const jobItems = listed.flatMap(({ id }) => {
    const j = rowById.get(id);
    if (!j) return [];
    const h = jobHealth(j, at);
    return [
      {
        id: j.id,
        name: j.name,
        nodeId: j.nodeId,
        nodeName: j.nodeName,
        targetId: j.targetId,
        targetName: j.targetName,
        schedule: j.schedule,
        timezone: j.timezone,
        health: { ...h, since: iso(h.since) },
        lastSuccessAt: iso(j.lastSuccessAt),
        lastBackup: lastBackupView(j),
        nextRunAt: j.enabled ? iso(j.nextRunAt) : null,
        targetBytes: sizeByJob.get(j.id) ?? null,
        activeEventId: activeByJob.get(j.id) ?? null,
      },
    ];
  });

  const offline = nodeRows
    .filter((n) => n.lastSeenAt === null || at - n.lastSeenAt > opts.nodeSilentMs)
    .map((n) => ({ id: n.id, name: n.name, lastSeenAt: iso(n.lastSeenAt) }));

  const enabledViews = targetRows
    .filter((t) => t.enabled)
    .map((t) =>
      targetView(
        t,
        statuses.filter((s) => s.targetId === t.id),
        nodeRows,
      ),
    );
  const notReady = enabledViews
    .map((view) => ({ id: view.id, name: view.name, nodes: view.nodeStatus.filter((s) => s.state !== 'ready') }))
    .filter((t) => t.nodes.length > 0);

  return {
    at: iso(at)!,
    // a home page on a big fleet draws its worst lines first and asks for the rest on request
    jobs: jobItems,
    jobsTotal: ranks.length,
    jobsBackedUp: ranks.reduce((n, r) => n + (r.backedUp ? 1 : 0), 0),
    health,
    failures24h: failures,
    nodes: { total: nodeRows.length, offline },
    targets: { total: targetRows.length, ready: enabledViews.filter((v) => v.readiness === 'ready').length, notReady },
    active: activeRows.map(eventView),
    changeCursor: cursor,
  };
}
