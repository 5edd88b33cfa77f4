// The work queue: events rows. Every transition is one guarded statement or one batch.
import { ACTIVE_STATUSES } from '../../../protocol/src/events.ts';
import { jobRoot } from '../../../protocol/src/layout.ts';
import { and, asc, eq, getTableColumns, inArray, is, isNotNull, lt, lte, type Placeholder, SQL, sql } from 'drizzle-orm';
import { events, eventLogs, jobs, nodes, targets } from '../db/schema.ts';
import { batchItem, prepared } from '../db/prepared.ts';
import type { DB } from '../db/types.ts';
import { ApiError, isUniqueViolation } from '../lib/errors.ts';
import { dueOccurrences } from '../lib/schedule.ts';
import type { Waker } from '../lib/http.ts';
import type { BatchItem } from 'drizzle-orm/batch';

const ACTIVE = [...ACTIVE_STATUSES];
const JOB_WORK: ('backup' | 'restore')[] = ['backup', 'restore'];

export type NewEvent = typeof events.$inferInsert;
type JobRow = typeof jobs.$inferSelect;

/** The one builder of a backup event, for Run Now, webhooks and the schedule alike. */
export function backupEvent(job: JobRow, backupRoot: string | null, trigger: string, at: number, note: string | null = null): NewEvent {
  return {
    kind: 'backup',
    jobId: job.id,
    jobName: job.name,
    nodeId: job.nodeId,
    targetId: job.targetId,
    trigger,
    status: 'queued',
    source: job.source,
    destination: backupRoot === null ? null : jobRoot(backupRoot, job.id),
    note,
    createdAt: at,
  };
}

/**
 * `INSERT INTO events (…) SELECT … <from>`: the event `v` is inserted only when `from` (a FROM … WHERE
 * clause) yields a row. The columns `v` leaves out get their defaults, so a guarded insert stores
 * exactly what the builder built, as a plain insert would. A value may be a placeholder (bound
 * through its column's encoder when the prepared statement runs).
 */
function insertEventWhere(db: DB, v: { [K in keyof NewEvent]?: NewEvent[K] | Placeholder }, from: SQL) {
  // drizzle's INSERT … SELECT names every column of the table in its order: give each one its
  // value, its SQL default or NULL (the id). Through the builder, not db.run: only builders go into
  // a D1 batch (a raw statement there fails with "reading 'bind'", and so did every claim).
  const values = Object.entries(getTableColumns(events)).map(([key, col]) => {
    const value = v[key as keyof NewEvent];
    if (value !== undefined) return sql.param(value, col);
    if (col.default !== undefined) return is(col.default, SQL) ? col.default : sql.param(col.default, col);
    return sql`NULL`;
  });
  return db.insert(events).select(sql`SELECT ${sql.join(values, sql`, `)} ${from}`);
}

/**
 * Queue a backup or restore of a job. The partial unique index makes a second active one fail,
 * which becomes a 409 carrying the active event's id.
 */
export async function enqueueJobWork(db: DB, values: NewEvent): Promise<number> {
  try {
    const [row] = await db.insert(events).values(values).returning({ id: events.id });
    return row.id;
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    const [active] = await db
      .select({ id: events.id })
      .from(events)
      .where(and(eq(events.jobId, values.jobId!), inArray(events.status, ACTIVE), inArray(events.kind, JOB_WORK)))
      .limit(1);
    throw new ApiError('busy', 'the job already has a backup or restore queued or running', {}, { activeEventId: active?.id ?? null });
  }
}

/**
 * The way an event ended, as the last line of its log (README, Operations: the log always ends with
 * the final error): `failed: <error>`, `interrupted: …`, `cancelled: …`. Written past the log's size
 * cap too (the error is bounded: 20,000 characters at most).
 */
export function finalLogLine(status: string, error: string): { level: 'error' | 'warn'; message: string } {
  return { level: status === 'failed' ? 'error' : 'warn', message: `${status}: ${error}` };
}

export async function appendFinalLogLine(db: DB, eventId: number, status: string, error: string, at: number): Promise<void> {
  await db.insert(eventLogs).values({ eventId, ts: at, ...finalLogLine(status, error) });
}

/** Running events whose runner went silent become `interrupted` (and their job says so), their log saying why. */
export async function sweepExpiredLeases(db: DB, at: number): Promise<void> {
  const expired = and(eq(events.status, 'running'), lt(events.leaseUntil, at));
  // A cheap indexed read first: most calls find nothing and need no write transaction.
  const [any] = await db.select({ id: events.id }).from(events).where(expired).limit(1);
  if (!any) return;
  const lost = 'runner lost: no progress report before the lease expired';
  const line = finalLogLine('interrupted', '');
  await db.batch([
    // before the update below, which changes what `expired` matches
    db.run(
      sql`INSERT INTO ${eventLogs} (event_id, ts, level, message) SELECT ${events.id}, ${at}, ${line.level}, ${line.message} || coalesce(${events.error}, ${lost}) FROM ${events} WHERE ${expired}`,
    ),
    db
      .update(jobs)
      .set({ lastStatus: 'interrupted' })
      .where(
        inArray(
          jobs.id,
          db
            .select({ id: events.jobId })
            .from(events)
            .where(and(expired, isNotNull(events.jobId), inArray(events.kind, JOB_WORK))),
        ),
      ),
    db
      .update(events)
      .set({
        status: 'interrupted',
        finishedAt: at,
        leaseUntil: null,
        error: sql`coalesce(${events.error}, ${lost})`,
      })
      .where(expired),
  ]);
}

/** A job scheduleDue would run once it is due: enabled, its target enabled, nothing of it queued or running. */
const runnableScheduled = and(
  eq(jobs.enabled, true),
  isNotNull(jobs.nextRunAt),
  sql`NOT EXISTS (SELECT 1 FROM ${events} e WHERE e.job_id = ${jobs.id} AND e.status IN ('queued','running') AND e.kind IN ('backup','restore'))`,
  // a disabled target takes no backups: its jobs catch up (one coalesced run) once it is enabled
  sql`EXISTS (SELECT 1 FROM ${targets} t WHERE t.id = ${jobs.targetId} AND t.enabled = 1)`,
);

/**
 * The nodes that have a job due now that scheduleDue would run: the Worker's cron (every minute)
 * pokes their held claims, so a due job does not wait for a claim's re-check. A read of the jobs
 * table; decides nothing.
 */
export async function nodesWithDueJobs(db: DB, at: number): Promise<number[]> {
  const rows = await db
    .selectDistinct({ nodeId: jobs.nodeId })
    .from(jobs)
    .where(and(runnableScheduled, lte(jobs.nextRunAt, at)));
  return rows.map((r) => r.nodeId);
}

/**
 * What a claim round needs to know of its node, in one read (a held claim's whole cost while idle,
 * README "Fleet scale"): revoked, a fresh inventory wanted, anything queued, and when its next
 * scheduled run falls due (null: none), the time a Workers claim sleeps until (worker-waker.ts).
 */
export async function nodeClaimState(db: DB, nodeId: number) {
  const [n] = await prepared(db, preparedClaimState).all({ nodeId });
  return claimStateOf(n);
}

/** nodeClaimState's one read, built once (db/prepared.ts): every held claim's round reads it. */
const preparedClaimState = (db: DB) => nodeClaimStateQuery(db).prepare();

function nodeClaimStateQuery(db: DB) {
  const nodeId = sql.placeholder('nodeId');
  return db
    .select({
      revokedAt: nodes.revokedAt,
      inventoryWantedAt: nodes.inventoryWantedAt,
      inventoryAt: nodes.inventoryAt,
      // the node id as a parameter: a column here is rendered unqualified, and would mean q.id
      queued: sql<number | null>`(SELECT 1 FROM ${events} q WHERE q.node_id = ${nodeId} AND q.status = 'queued' LIMIT 1)`,
      nextDueAt: sql<number | null>`(${db
        .select({ at: sql`min(${jobs.nextRunAt})` })
        .from(jobs)
        .where(and(eq(jobs.nodeId, nodeId), runnableScheduled))})`,
    })
    .from(nodes)
    .where(eq(nodes.id, nodeId));
}

function claimStateOf(n: Awaited<ReturnType<typeof nodeClaimStateQuery>>[number] | undefined) {
  return n ? { ...n, queued: n.queued != null, nextDueAt: n.nextDueAt == null ? null : Number(n.nextDueAt) } : null;
}

/**
 * The due jobs `scope` allows (one node's, or those of the nodes whose claims are held), oldest
 * due first, with each one's target backup root.
 */
async function dueJobs(db: DB, scope: SQL | undefined, at: number, limit: number) {
  const due = await db
    .select()
    .from(jobs)
    .where(and(scope, runnableScheduled, lte(jobs.nextRunAt, at)))
    .orderBy(asc(jobs.nextRunAt))
    .limit(limit);
  const roots = new Map(
    (due.length
      ? await db
          .select({ id: targets.id, backupRoot: targets.backupRoot })
          .from(targets)
          .where(inArray(targets.id, [...new Set(due.map((j) => j.targetId))]))
      : []
    ).map((t) => [t.id, t.backupRoot]),
  );
  return due.map((job) => ({ job, backupRoot: roots.get(job.targetId) ?? null }));
}

/**
 * The two statements that create a due job's run and advance its nextRunAt, both guarded by the
 * nextRunAt that was read (so concurrent schedulers create it once); null when its schedule no
 * longer parses (zone data changed): then scheduling stops and the job is kept. Occurrences missed
 * while nobody claimed (node offline, or the job busy) are coalesced into one catch-up run whose
 * note says how many.
 */
async function dueRun(
  db: DB,
  job: JobRow,
  backupRoot: string | null,
  at: number,
): Promise<[BatchItem<'sqlite'>, BatchItem<'sqlite'>] | null> {
  const dueAt = job.nextRunAt!;
  let occ: ReturnType<typeof dueOccurrences>;
  try {
    occ = dueOccurrences(job.schedule, job.timezone, dueAt, at);
  } catch {
    await db.update(jobs).set({ nextRunAt: null, lastStatus: 'schedule-error' }).where(eq(jobs.id, job.id));
    return null;
  }
  const missed = occ.count - 1;
  const note =
    missed > 0
      ? `catch-up run: coalesced ${occ.count}${occ.capped ? '+' : ''} occurrences due since ${new Date(dueAt).toISOString()} (${missed}${occ.capped ? '+' : ''} missed while the node was away or the job was busy)`
      : null;
  const v = backupEvent(job, backupRoot, missed > 0 ? 'catch-up' : 'schedule', at, note);
  const unbound = Object.keys(v).filter((k) => !RUN_COLUMNS.includes(k as (typeof RUN_COLUMNS)[number]));
  if (unbound.length)
    throw new Error(`backupEvent sets ${unbound.join(', ')}, which the scheduled run's insert does not bind (RUN_COLUMNS)`);
  return [
    batchItem(prepared(db, preparedScheduledRun), { ...v, guardJobId: job.id, dueAt }),
    batchItem(prepared(db, preparedAdvance), { id: job.id, dueAt, nextAt: occ.nextAt }),
  ];
}

/** The columns backupEvent sets: the scheduled run's prepared insert binds each one, the others take their defaults. */
const RUN_COLUMNS = [
  'kind',
  'jobId',
  'jobName',
  'nodeId',
  'targetId',
  'trigger',
  'status',
  'source',
  'destination',
  'note',
  'createdAt',
] as const satisfies readonly (keyof NewEvent)[];

// dueRun's two statements, built once (db/prepared.ts): a fleet's due second creates hundreds of runs
const preparedScheduledRun = (db: DB) =>
  insertEventWhere(
    db,
    Object.fromEntries(RUN_COLUMNS.map((k) => [k, sql.placeholder(k)])),
    sql`FROM jobs WHERE id = ${sql.placeholder('guardJobId')} AND next_run_at = ${sql.placeholder('dueAt')} AND enabled = 1`,
  ).prepare();
const preparedAdvance = (db: DB) =>
  db
    .update(jobs)
    .set({ nextRunAt: sql`${sql.placeholder('nextAt')}` })
    .where(and(eq(jobs.id, sql.placeholder('id')), eq(jobs.nextRunAt, sql.placeholder('dueAt'))))
    .prepare();

/** Create the scheduled events that are due for a node's jobs and advance nextRunAt, atomically per job (a claim round). */
export async function scheduleDue(db: DB, nodeId: number, at: number): Promise<number> {
  let created = 0;
  for (const { job, backupRoot } of await dueJobs(db, eq(jobs.nodeId, nodeId), at, 100)) {
    const run = await dueRun(db, job, backupRoot, at);
    if (!run) continue;
    try {
      await db.batch(run);
      created++;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err; // a Run Now won the race: leave nextRunAt, try next claim
    }
  }
  return created;
}

/**
 * The due runs of the given nodes (those whose claims are held) in one batch, so the second when
 * hundreds of jobs fall due together costs one write transaction instead of one per node's claim
 * round (README, Fleet scale). Nodes without a held claim are left to their next claim, which
 * schedules as before (a node that is away gets one catch-up run when it is back, not a queue of
 * them). A Run Now that made a job busy meanwhile fails the batch (the one-active-run index): then
 * nothing of it was written, and the claims schedule their own as before. Returns the nodes that
 * had due jobs: their claims are to be poked, and then only claim.
 */
export async function scheduleDueBatch(db: DB, held: number[], at: number): Promise<number[]> {
  if (!held.length) return [];
  const runs: BatchItem<'sqlite'>[] = [];
  const due = new Set<number>();
  const isHeld = new Set(held);
  // all due jobs through jobs_next_run_idx (almost always none), filtered here: an IN list of every
  // held node would make each tick probe the index once per node
  for (const { job, backupRoot } of (await dueJobs(db, undefined, at, 1000)).filter((d) => isHeld.has(d.job.nodeId))) {
    const run = await dueRun(db, job, backupRoot, at);
    if (run) runs.push(...run);
    due.add(job.nodeId);
  }
  if (runs.length) {
    try {
      await db.batch(runs as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }
  return [...due];
}

/** The Node entry's due-job timer (every 100 ms): scheduleDueBatch for the held claims, then pokes them. Returns the nodes poked. */
export async function scheduleDueForHeld(db: DB, waker: Waker, held: number[], at: number): Promise<number[]> {
  const poke = await scheduleDueBatch(db, held, at);
  await Promise.all(poke.map((id) => waker.notify(id)));
  return poke;
}

/**
 * The statement that hands up to `max` queued events of node `nodeId` to its runner, with a lease
 * until `leaseUntil` (placeholders: it is prepared once, db/prepared.ts). `unlessRevoked`: for a
 * claim in the same batch as the read of the node's state, none to a revoked node.
 */
function claimStatement(db: DB, unlessRevoked: boolean) {
  const [nodeId, max, at, leaseUntil] = (['nodeId', 'max', 'at', 'leaseUntil'] as const).map((name) => sql.placeholder(name));
  const queued = and(eq(events.nodeId, nodeId), eq(events.status, 'queued'));
  const pick = db.select({ id: events.id }).from(events).where(queued).orderBy(asc(events.id)).limit(max);
  return db
    .update(events)
    .set({ status: 'running', startedAt: sql`${at}`, leaseUntil: sql`${leaseUntil}`, phase: 'preparing' })
    .where(
      and(
        inArray(events.id, pick),
        eq(events.status, 'queued'),
        eq(events.nodeId, nodeId),
        unlessRevoked ? sql`NOT EXISTS (SELECT 1 FROM ${nodes} r WHERE r.id = ${nodeId} AND r.revoked_at IS NOT NULL)` : undefined,
      ),
    )
    .returning();
}

/**
 * Hand up to `max` queued events of this node to its runner, with a lease. `knownQueued`: the
 * caller has just read that something is queued (nodeClaimState), so no read first.
 */
export async function claimQueued(db: DB, nodeId: number, max: number, at: number, leaseMs: number, knownQueued = false) {
  if (max <= 0) return [];
  if (!knownQueued) {
    const [any] = await prepared(db, preparedAnyQueued).all({ nodeId });
    if (!any) return []; // the common case: a read, no write transaction
  }
  return prepared(db, preparedClaim).all({ nodeId, max, at, leaseUntil: at + leaseMs });
}

const preparedAnyQueued = (db: DB) =>
  db
    .select({ id: events.id })
    .from(events)
    .where(and(eq(events.nodeId, sql.placeholder('nodeId')), eq(events.status, 'queued')))
    .limit(1)
    .prepare();

const preparedClaim = (db: DB) => claimStatement(db, false).prepare();

/**
 * A poked claim's round in one call (on D1 each call is a round trip through the database's one
 * queue, and a fleet's due second wakes hundreds of claims at once: README, Fleet scale): the node's
 * claim state and the claim of its queued events, in one batch. Only after a poke: it is a write
 * transaction even when nothing is queued, where an idle round is one read.
 */
export async function nodeClaimStateAndClaim(db: DB, nodeId: number, max: number, at: number, leaseMs: number) {
  const [state, claimed] = await db.batch([
    batchItem(prepared(db, preparedClaimState), { nodeId }),
    batchItem(prepared(db, preparedClaimUnlessRevoked), { nodeId, max, at, leaseUntil: at + leaseMs }),
  ]);
  return { state: claimStateOf(state[0]), claimed };
}

const preparedClaimUnlessRevoked = (db: DB) => claimStatement(db, true).prepare();

/** Log text stored per event at most; a runner (or a bug) cannot fill the database through one event's log. */
export const EVENT_LOG_MAX_BYTES = 1 << 20;

export async function appendLogs(db: DB, eventId: number, lines: { ts?: string; level?: string; message: string }[], at: number) {
  if (!lines.length) return;
  const sizes = lines.map((l) => new TextEncoder().encode(l.message).length);
  const incoming = sizes.reduce((a, b) => a + b, 0);
  const [row] = await db
    .update(events)
    .set({ logBytes: sql`${events.logBytes} + ${incoming}` })
    .where(eq(events.id, eventId))
    .returning({ logBytes: events.logBytes });
  if (!row) return;
  const before = row.logBytes - incoming;
  let room = EVENT_LOG_MAX_BYTES - before;
  let n = 0;
  while (n < lines.length && sizes[n] <= room) room -= sizes[n++];
  const stored: typeof lines = lines.slice(0, n);
  if (n < lines.length && before <= EVENT_LOG_MAX_BYTES) {
    // said once, where the log stops
    stored.push({
      level: 'warn',
      message: `log truncated: this event's log reached ${EVENT_LOG_MAX_BYTES} bytes; later lines are not stored (${lines.length - n} dropped here)`,
    });
  }
  // Chunks keep every statement under D1's 100 bound parameters.
  for (let i = 0; i < stored.length; i += 24) {
    await db.insert(eventLogs).values(
      stored.slice(i, i + 24).map((l) => ({
        eventId,
        ts: l.ts ? Date.parse(l.ts) || at : at,
        level: l.level ?? 'info',
        message: l.message,
      })),
    );
  }
}
