// Jobs: CRUD, Run Now, webhooks, generations and restore from a job.
import { ACTIVE_STATUSES } from '../../../protocol/src/events.ts';
import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import { catalogDatasets, catalogSnapshots, events, generations, jobs, targets } from '../db/schema.ts';
import { Accepted, Generations, IdParam, Job, JobCreate, JobPatch, RestoreFromJob, WebhookToken, list } from '../contract/api.ts';
import { ApiError, conflict, invalid, isUniqueViolation, notFound } from '../lib/errors.ts';
import { type App, type Ctx, errors, iso, jsonBody, now, ok } from '../lib/http.ts';
import { bearer } from '../lib/auth.ts';
import { digestEquals, randomToken, sha256Hex } from '../lib/tokens.ts';
import { checkJob, type JobInput } from '../services/jobs.ts';
import { backupEvent, enqueueJobWork } from '../services/queue.ts';
import { refreshInventory } from '../services/inventory.ts';
import { jobView } from '../services/views.ts';

const tags = ['jobs'];

async function loadJob(c: Ctx, id: number) {
  const [j] = await c.var.deps.db.select().from(jobs).where(eq(jobs.id, id));
  if (!j) throw notFound(`job ${id}`);
  return j;
}

function saveError(err: unknown): never {
  if (isUniqueViolation(err)) throw conflict('a job with this name already exists', { name: 'is already used by another job' });
  throw err;
}

/** Queue a backup of the job now (admin or webhook). */
export async function runNow(c: Ctx, job: typeof jobs.$inferSelect, trigger: string) {
  const db = c.var.deps.db;
  const [t] = await db.select({ name: targets.name, backupRoot: targets.backupRoot, enabled: targets.enabled }).from(targets).where(eq(targets.id, job.targetId));
  if (t && !t.enabled) throw conflict(`target "${t.name}" is disabled: it takes no backups until it is enabled again`, { targetId: 'is disabled' });
  const eventId = await enqueueJobWork(db, backupEvent(job, t?.backupRoot ?? null, trigger, now(c)));
  c.var.deps.waker?.notify(job.nodeId);
  return c.json({ eventId }, 202);
}

export function registerJobs(app: App) {
  app.openapi(createRoute({ method: 'get', path: '/jobs', tags, responses: { 200: ok(list(Job)), ...errors } }), async (c) => {
    const rows = await c.var.deps.db.select().from(jobs).orderBy(asc(jobs.name));
    return c.json({ items: rows.map(jobView), nextCursor: null }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/jobs', tags, request: jsonBody(JobCreate), responses: { 201: ok(Job, 'Created'), ...errors } }), async (c) => {
    const b = c.req.valid('json');
    const { db, config } = c.var.deps;
    const at = now(c);
    const input: JobInput = {
      name: b.name, targetId: b.targetId, nodeId: b.nodeId, mode: b.mode, source: b.source,
      schedule: b.schedule ?? '', timezone: b.timezone ?? config.defaultTimezone, keepLast: b.keepLast ?? 0,
      enabled: b.enabled ?? true, pruneTarget: b.pruneTarget ?? false, stopBeforeBackup: b.stopBeforeBackup ?? false,
      recursive: b.recursive ?? false, sendDecrypted: b.sendDecrypted ?? false,
    };
    const { target: _t, node: _n, ...values } = await checkJob(db, input, at, undefined, undefined, (n) => refreshInventory(c.var.deps, n));
    const [row] = await db.insert(jobs).values({ ...values, createdAt: at, updatedAt: at }).returning().catch(saveError);
    await db.insert(generations).values({ jobId: row.id, generation: 1, reason: 'first backup', createdAt: at });
    return c.json(jobView(row), 201);
  });

  app.openapi(createRoute({ method: 'get', path: '/jobs/{id}', tags, request: { params: IdParam }, responses: { 200: ok(Job), ...errors } }), async (c) => {
    return c.json(jobView(await loadJob(c, c.req.valid('param').id)), 200);
  });

  app.openapi(createRoute({ method: 'patch', path: '/jobs/{id}', tags, request: { params: IdParam, ...jsonBody(JobPatch) }, responses: { 200: ok(Job), ...errors } }), async (c) => {
    const { id } = c.req.valid('param');
    const b = c.req.valid('json');
    const db = c.var.deps.db;
    const cur = await loadJob(c, id);
    const at = now(c);
    const merged: JobInput = { ...cur, ...b, nodeId: b.nodeId ?? cur.nodeId };
    const { target: _t, node: _n, ...values } = await checkJob(db, merged, at, id, cur.targetId, (n) => refreshInventory(c.var.deps, n));
    const scheduleChanged = values.schedule !== cur.schedule || values.timezone !== cur.timezone || values.enabled !== cur.enabled;
    const [row] = await db.update(jobs).set({
      ...values,
      nextRunAt: scheduleChanged ? values.nextRunAt : cur.nextRunAt,
      updatedAt: at,
    }).where(eq(jobs.id, id)).returning().catch(saveError);
    return c.json(jobView(row), 200);
  });

  app.openapi(createRoute({ method: 'delete', path: '/jobs/{id}', tags, request: { params: IdParam }, responses: { 200: ok(z.object({ deleted: z.boolean() })), ...errors } }), async (c) => {
    const { id } = c.req.valid('param');
    const db = c.var.deps.db;
    await loadJob(c, id);
    // One statement: a backup queued in between makes the delete refuse instead of orphaning it.
    const [gone] = await db.delete(jobs).where(and(eq(jobs.id, id), sql`NOT EXISTS (SELECT 1 FROM events e WHERE e.job_id = ${id} AND e.status IN ('queued','running'))`)).returning({ id: jobs.id });
    if (!gone) {
      const [active] = await db.select({ id: events.id }).from(events).where(and(eq(events.jobId, id), inArray(events.status, [...ACTIVE_STATUSES]))).limit(1);
      throw new ApiError('busy', 'the job has work queued or running; cancel it or wait', {}, { activeEventId: active?.id ?? null });
    }
    return c.json({ deleted: true }, 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/jobs/{id}/run', tags, request: { params: IdParam }, responses: { 202: ok(Accepted, 'Queued'), ...errors } }), async (c) => {
    return runNow(c, await loadJob(c, c.req.valid('param').id), 'manual');
  });

  app.openapi(createRoute({ method: 'post', path: '/jobs/{id}/webhook-token', tags, request: { params: IdParam }, responses: { 201: ok(WebhookToken, 'Created (shown once)'), ...errors } }), async (c) => {
    const job = await loadJob(c, c.req.valid('param').id);
    const token = randomToken('lbw');
    await c.var.deps.db.update(jobs).set({ webhookTokenHash: await sha256Hex(token), updatedAt: now(c) }).where(eq(jobs.id, job.id));
    return c.json({ token, url: `${c.var.deps.config.publicUrl}/api/v1/hooks/jobs/${job.id}/run` }, 201);
  });

  app.openapi(createRoute({ method: 'get', path: '/jobs/{id}/generations', tags, request: { params: IdParam }, responses: { 200: ok(Generations), ...errors } }), async (c) => {
    const job = await loadJob(c, c.req.valid('param').id);
    return c.json(await jobGenerations(c, job), 200);
  });

  app.openapi(createRoute({ method: 'post', path: '/jobs/{id}/restore', tags, request: { params: IdParam, ...jsonBody(RestoreFromJob) }, responses: { 202: ok(Accepted, 'Queued'), ...errors } }), async (c) => {
    const job = await loadJob(c, c.req.valid('param').id);
    const { generation, snapshot } = c.req.valid('json');
    const gens = await jobGenerations(c, job);
    const gen = gens.find((g) => g.generation === generation);
    if (!gen) throw invalid('generation', `job "${job.name}" has no generation ${generation}`);
    const snap = gen.snapshots.find((s) => s.name === snapshot || s.guid === snapshot);
    if (!snap) throw invalid('snapshot', `generation ${generation} has no snapshot "${snapshot}" in the catalog`);
    const eventId = await enqueueJobWork(c.var.deps.db, {
      kind: 'restore', jobId: job.id, jobName: job.name, nodeId: job.nodeId, targetId: job.targetId, trigger: 'manual',
      status: 'queued', source: `${snap.dataset}@${snap.name}`, destination: job.source, generation, snapshot: snap.name,
      params: { generation, snapshot: snap.name, guid: snap.guid, dataset: snap.dataset }, createdAt: now(c),
    });
    c.var.deps.waker?.notify(job.nodeId);
    return c.json({ eventId }, 202);
  });
}

/** Generations of a job from the catalog, newest first; snapshots are those of the job's root source. */
async function jobGenerations(c: Ctx, job: typeof jobs.$inferSelect) {
  const db = c.var.deps.db;
  const gens = await db.select().from(generations).where(eq(generations.jobId, job.id)).orderBy(desc(generations.generation));
  const rows = await db.select({ s: catalogSnapshots, source: catalogDatasets.source }).from(catalogSnapshots)
    .innerJoin(catalogDatasets, and(eq(catalogDatasets.targetId, catalogSnapshots.targetId), eq(catalogDatasets.dataset, catalogSnapshots.dataset)))
    .where(and(eq(catalogSnapshots.targetId, job.targetId), eq(catalogSnapshots.jobId, job.id),
      job.mode === 'dataset' ? eq(catalogDatasets.source, job.source) : undefined))
    .orderBy(desc(catalogSnapshots.createdAt), desc(catalogSnapshots.id));
  // A dataset job lists its root's snapshots. A jail/VM job's source is the guest id: every root
  // carries the same snapshot names, so list each once, from the first root (by source path).
  const firstRoot = new Map<string, (typeof rows)[number]>();
  for (const r of rows) {
    const key = `${r.s.generation}\u0000${r.s.name}`;
    const seen = firstRoot.get(key);
    if (!seen || (r.source ?? '') < (seen.source ?? '')) firstRoot.set(key, r);
  }
  const snaps = rows.filter((r) => firstRoot.get(`${r.s.generation}\u0000${r.s.name}`) === r);
  const known = new Set(gens.map((g) => g.generation));
  const extra = [...new Set(snaps.map((r) => r.s.generation ?? 0))].filter((g) => !known.has(g));
  const all = [...gens.map((g) => ({ generation: g.generation, createdAt: g.createdAt, reason: g.reason })),
    ...extra.map((g) => ({ generation: g, createdAt: null as number | null, reason: null as string | null }))]
    .sort((a, b) => b.generation - a.generation);
  return all.map((g) => ({
    generation: g.generation,
    current: g.generation === job.currentGeneration,
    createdAt: iso(g.createdAt),
    reason: g.reason,
    snapshots: snaps.filter((r) => r.s.generation === g.generation).map(({ s }) => ({
      name: s.name, guid: s.guid, createdAt: iso(s.createdAt), usedBytes: s.usedBytes, referencedBytes: s.referencedBytes, dataset: s.dataset,
    })),
  }));
}

/** POST /hooks/jobs/:id/run: the job's webhook token runs that job only. */
export function registerHooks(app: App) {
  app.openapi(createRoute({ method: 'post', path: '/hooks/jobs/{id}/run', tags: ['webhooks'], request: { params: IdParam }, responses: { 202: ok(Accepted, 'Queued'), ...errors } }), async (c) => {
    const { id } = c.req.valid('param');
    const token = bearer(c.req.header('authorization')) ?? c.req.header('x-lifeboat-token') ?? null;
    if (!token) throw new ApiError('unauthorized', 'a webhook token is required (Authorization: Bearer …)');
    const [job] = await c.var.deps.db.select().from(jobs).where(eq(jobs.id, id));
    // Same answer for a missing job and a wrong token: the hook reveals nothing.
    if (!job || !job.webhookTokenHash || !digestEquals(await sha256Hex(token), job.webhookTokenHash)) {
      throw new ApiError('unauthorized', 'the webhook token is not valid for this job');
    }
    return runNow(c, job, 'webhook');
  });
}
