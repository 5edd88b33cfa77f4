// Jobs in the database: the rules a definition must pass (the field syntax is in the contract),
// create/update/delete, and the webhook token. Work queued for a job is in job-runs.ts.
import { ACTIVE_STATUSES } from '../../../protocol/src/events.ts';
import { jobIsRecursive } from '../../../protocol/src/layout.ts';
import { isTimeZone, type RetentionPolicy } from '../../../protocol/src/retention.ts';
import type { z } from '@hono/zod-openapi';
import { and, asc, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { JobCreate, JobPatch } from '../contract/api.ts';
import { events, generations, guests, jobs, nodeDatasets, targets } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { datasetNameError } from '../contract/fields.ts';
import { ApiError, conflict, invalid, isUniqueViolation, notFound } from '../lib/errors.ts';
import type { AppDeps } from '../lib/http.ts';
import { nextRun, scheduleError } from '../lib/schedule.ts';
import { digestEquals, randomToken, sha256Hex } from '../lib/tokens.ts';
import { refreshInventory } from './inventory.ts';
import { defaultRpoSeconds } from './job-health.ts';
import { resolveNode } from './nodes.ts';
import { jobView } from './views.ts';

export type JobRow = typeof jobs.$inferSelect;

export type JobInput = {
  name: string;
  targetId: number;
  nodeId?: number;
  mode: 'dataset' | 'jail' | 'vm';
  source: string;
  schedule: string;
  timezone: string;
  keepLast: number;
  enabled: boolean;
  pruneTarget: boolean;
  stopBeforeBackup: boolean;
  recursive: boolean;
  sendDecrypted: boolean;
  compressedStream: boolean;
  bandwidthLimitKiBps: number | null;
  exclude: string[];
  sourceRetention: RetentionPolicy | null;
  targetRetention: RetentionPolicy | null;
  rpoSeconds: number | null;
  keepGenerations: number | null;
  keepGenerationDays: number | null;
};

/**
 * Checks a complete job definition; returns the values to store. Throws 400s naming the field.
 * `refresh`: ask the node for a fresh inventory when the source is not in the last one (services/inventory.ts).
 */
export async function checkJob(
  db: DB,
  input: JobInput,
  at: number,
  selfId?: number,
  currentTargetId?: number,
  refresh?: (nodeId: number) => Promise<boolean>,
) {
  const [same] = await db.select({ id: jobs.id }).from(jobs).where(eq(jobs.name, input.name));
  if (same && same.id !== selfId) throw conflict('a job with this name already exists', { name: 'is already used by another job' });

  const [target] = await db.select().from(targets).where(eq(targets.id, input.targetId));
  if (!target) throw invalid('targetId', `target ${input.targetId} does not exist`);
  // A new job, or a job moved to another target, needs an enabled one; a job staying on a disabled
  // target can always be edited (and disabled).
  if (!target.enabled && target.id !== currentTargetId) throw invalid('targetId', `target "${target.name}" is disabled`);

  const node = await resolveNode(db, input.nodeId);

  const source = input.source;
  if (input.mode === 'dataset') {
    const err = datasetNameError(source);
    if (err) throw invalid('source', err);
    const find = async () =>
      (
        await db
          .select({ name: nodeDatasets.name })
          .from(nodeDatasets)
          .where(and(eq(nodeDatasets.nodeId, node.id), eq(nodeDatasets.name, source)))
      )[0];
    let ds = node.inventoryAt == null ? undefined : await find();
    // a dataset made a moment ago: the node's last report may predate it
    if (!ds && refresh && (await refresh(node.id))) ds = await find();
    else if (!ds && node.inventoryAt == null) throw invalid('source', `node "${node.name}" has not reported its datasets yet`);
    if (!ds) throw invalid('source', `dataset "${source}" does not exist on node "${node.name}"`);
  } else {
    const [g] = await db
      .select()
      .from(guests)
      .where(and(eq(guests.nodeId, node.id), eq(guests.kind, input.mode), eq(guests.guestId, source)));
    if (!g) throw invalid('source', `no ${input.mode === 'jail' ? 'jail' : 'VM'} "${source}" in the inventory of node "${node.name}"`);
  }

  if (input.stopBeforeBackup && input.mode === 'dataset') throw invalid('stopBeforeBackup', 'applies only to jail and vm jobs');
  // a jail's or VM's datasets are backed up whole: a restored guest must not lack a disk
  if (input.exclude.length && !(input.mode === 'dataset' && input.recursive))
    throw invalid('exclude', 'applies only to recursive dataset jobs');

  const schedule = input.schedule.trim().replace(/\s+/g, ' ');
  if (!isTimeZone(input.timezone)) throw invalid('timezone', `unknown time zone "${input.timezone}"`);
  if (schedule) {
    const err = scheduleError(schedule, input.timezone);
    if (err) throw invalid('schedule', err);
  }
  return {
    name: input.name,
    targetId: target.id,
    nodeId: node.id,
    mode: input.mode,
    source,
    schedule,
    timezone: input.timezone,
    keepLast: input.keepLast,
    enabled: input.enabled,
    pruneTarget: input.pruneTarget,
    stopBeforeBackup: input.stopBeforeBackup,
    recursive: jobIsRecursive(input),
    sendDecrypted: input.sendDecrypted,
    compressedStream: input.compressedStream,
    bandwidthLimitKiBps: input.bandwidthLimitKiBps,
    exclude: input.exclude,
    sourceRetention: input.sourceRetention,
    targetRetention: input.targetRetention,
    keepGenerations: input.keepGenerations,
    keepGenerationDays: input.keepGenerationDays,
    rpoSeconds: input.rpoSeconds,
    rpoEffectiveSeconds: input.rpoSeconds ?? defaultRpoSeconds(schedule, input.timezone, at),
    nextRunAt: input.enabled && schedule ? nextRun(schedule, input.timezone, at) : null,
    target,
    node,
  };
}

/**
 * Jobs saved before RPOs existed get their default RPO (it is computed on save): up to `limit` per
 * call, from the Node entry's start and the Worker's cron trigger. Returns how many were set.
 */
export async function backfillRpo(db: DB, at: number, limit = 500): Promise<number> {
  const rows = await db
    .select({ id: jobs.id, schedule: jobs.schedule, timezone: jobs.timezone })
    .from(jobs)
    .where(and(isNull(jobs.rpoEffectiveSeconds), isNull(jobs.rpoSeconds), ne(jobs.schedule, '')))
    .limit(limit);
  for (const r of rows) {
    const rpo = defaultRpoSeconds(r.schedule, r.timezone, at);
    if (rpo !== null)
      await db
        .update(jobs)
        .set({ rpoEffectiveSeconds: rpo })
        .where(and(eq(jobs.id, r.id), isNull(jobs.rpoEffectiveSeconds)));
  }
  return rows.length;
}

export async function loadJob(db: DB, id: number): Promise<JobRow> {
  const [j] = await db.select().from(jobs).where(eq(jobs.id, id));
  if (!j) throw notFound(`job ${id}`);
  return j;
}

export const listJobs = async (db: DB, at: number) => (await db.select().from(jobs).orderBy(asc(jobs.name))).map((j) => jobView(j, at));

function saveError(err: unknown): never {
  if (isUniqueViolation(err)) throw conflict('a job with this name already exists', { name: 'is already used by another job' });
  throw err;
}

type JobDeps = Pick<AppDeps, 'db' | 'waker' | 'now'>;

/** A new job (the body's omitted fields take their defaults) and its generation 1. */
export async function createJob(deps: JobDeps & Pick<AppDeps, 'config'>, b: z.infer<typeof JobCreate>, at: number): Promise<JobRow> {
  const { db, config } = deps;
  const input: JobInput = {
    name: b.name,
    targetId: b.targetId,
    nodeId: b.nodeId,
    mode: b.mode,
    source: b.source,
    schedule: b.schedule ?? '',
    timezone: b.timezone ?? config.defaultTimezone,
    keepLast: b.keepLast ?? 0,
    enabled: b.enabled ?? true,
    pruneTarget: b.pruneTarget ?? false,
    stopBeforeBackup: b.stopBeforeBackup ?? false,
    recursive: b.recursive ?? false,
    sendDecrypted: b.sendDecrypted ?? false,
    compressedStream: b.compressedStream ?? true,
    bandwidthLimitKiBps: b.bandwidthLimitKiBps ?? null,
    exclude: b.exclude ?? [],
    sourceRetention: b.sourceRetention ?? null,
    targetRetention: b.targetRetention ?? null,
    rpoSeconds: b.rpoSeconds ?? null,
    // a new job keeps the current and the previous generation unless it says otherwise (jobs from
    // before generation retention keep every generation: drizzle/migrations/0011)
    keepGenerations: b.keepGenerations === undefined ? 2 : b.keepGenerations,
    keepGenerationDays: b.keepGenerationDays ?? null,
  };
  const { target: _t, node: _n, ...values } = await checkJob(db, input, at, undefined, undefined, (n) => refreshInventory(deps, n));
  const [row] = await db
    .insert(jobs)
    .values({ ...values, createdAt: at, updatedAt: at })
    .returning()
    .catch(saveError);
  await db.insert(generations).values({ jobId: row.id, generation: 1, reason: 'first backup', createdAt: at });
  // a held claim re-reads when its node's next run falls due (the Workers waker sets its alarm then)
  if (row.nextRunAt !== null) await deps.waker?.notify(row.nodeId);
  return row;
}

/** The job with the patch applied, checked as a whole; nextRunAt is recomputed only when the schedule changed. */
export async function updateJob(deps: JobDeps, id: number, b: z.infer<typeof JobPatch>, at: number): Promise<JobRow> {
  const { db } = deps;
  const cur = await loadJob(db, id);
  const merged: JobInput = { ...cur, ...b, nodeId: b.nodeId ?? cur.nodeId };
  const { target: _t, node: _n, ...values } = await checkJob(db, merged, at, id, cur.targetId, (n) => refreshInventory(deps, n));
  const scheduleChanged = values.schedule !== cur.schedule || values.timezone !== cur.timezone || values.enabled !== cur.enabled;
  const [row] = await db
    .update(jobs)
    .set({
      ...values,
      nextRunAt: scheduleChanged ? values.nextRunAt : cur.nextRunAt,
      updatedAt: at,
    })
    .where(eq(jobs.id, id))
    .returning()
    .catch(saveError);
  // the node's held claim learns the new next run (createJob says why)
  if (scheduleChanged || row.nodeId !== cur.nodeId) await deps.waker?.notify(row.nodeId);
  return row;
}

export async function deleteJob(db: DB, id: number): Promise<void> {
  await loadJob(db, id);
  // One statement: a backup queued in between makes the delete refuse instead of orphaning it.
  const [gone] = await db
    .delete(jobs)
    .where(and(eq(jobs.id, id), sql`NOT EXISTS (SELECT 1 FROM events e WHERE e.job_id = ${id} AND e.status IN ('queued','running'))`))
    .returning({ id: jobs.id });
  if (!gone) {
    const [active] = await db
      .select({ id: events.id })
      .from(events)
      .where(and(eq(events.jobId, id), inArray(events.status, [...ACTIVE_STATUSES])))
      .limit(1);
    throw new ApiError('busy', 'the job has work queued or running; cancel it or wait', {}, { activeEventId: active?.id ?? null });
  }
}

/** A new webhook token for the job (stored hashed; the old one stops working); returns the token. */
export async function newWebhookToken(db: DB, id: number, at: number): Promise<string> {
  const job = await loadJob(db, id);
  const token = randomToken('lbw');
  await db
    .update(jobs)
    .set({ webhookTokenHash: await sha256Hex(token), updatedAt: at })
    .where(eq(jobs.id, job.id));
  return token;
}

/** The job when `token` is its webhook token, else null (a missing job and a wrong token look the same). */
export async function webhookJob(db: DB, id: number, token: string): Promise<JobRow | null> {
  const [job] = await db.select().from(jobs).where(eq(jobs.id, id));
  if (!job || !job.webhookTokenHash || !digestEquals(await sha256Hex(token), job.webhookTokenHash)) return null;
  return job;
}
