// Jobs: CRUD, Run Now, webhooks, generations and restore from a job (the work is in
// services/jobs.ts, job-runs.ts and generations.ts).
import { createRoute, z } from '@hono/zod-openapi';
import {
  Accepted,
  Generations,
  IdParam,
  Job,
  JobCreate,
  JobPatch,
  RestoreFromJob,
  RetentionPreview,
  RetentionPreviewQuery,
  RetentionPreviewRequest,
  WebhookToken,
  list,
} from '../contract/api.ts';
import { ApiError } from '../lib/errors.ts';
import { type App, errors, jsonBody, now, ok } from '../lib/http.ts';
import { bearer } from '../lib/auth.ts';
import { jobGenerations } from '../services/generations.ts';
import { restoreFromJob, runJobNow } from '../services/job-runs.ts';
import { createJob, deleteJob, listJobs, loadJob, newWebhookToken, updateJob, webhookJob } from '../services/jobs.ts';
import { previewGiven, previewJob } from '../services/retention-preview.ts';
import { jobView } from '../services/views.ts';

const tags = ['jobs'];

export function registerJobs(app: App) {
  app.openapi(createRoute({ method: 'get', path: '/jobs', tags, responses: { 200: ok(list(Job)), ...errors } }), async (c) => {
    return c.json({ items: await listJobs(c.var.deps.db, now(c)), nextCursor: null }, 200);
  });

  app.openapi(
    createRoute({ method: 'post', path: '/jobs', tags, request: jsonBody(JobCreate), responses: { 201: ok(Job, 'Created'), ...errors } }),
    async (c) => {
      return c.json(jobView(await createJob(c.var.deps, c.req.valid('json'), now(c)), now(c)), 201);
    },
  );

  // before /jobs/{id}: `retention` is no id
  app.openapi(
    createRoute({
      method: 'post',
      path: '/jobs/retention/preview',
      tags,
      request: jsonBody(RetentionPreviewRequest),
      responses: { 200: ok(RetentionPreview), ...errors },
    }),
    async (c) => {
      return c.json(previewGiven(c.req.valid('json'), now(c)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/jobs/{id}/retention/preview',
      tags,
      request: { params: IdParam, query: RetentionPreviewQuery },
      responses: { 200: ok(RetentionPreview), ...errors },
    }),
    async (c) => {
      return c.json(await previewJob(c.var.deps.db, c.req.valid('param').id, c.req.valid('query').side, now(c)), 200);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/jobs/{id}', tags, request: { params: IdParam }, responses: { 200: ok(Job), ...errors } }),
    async (c) => {
      return c.json(jobView(await loadJob(c.var.deps.db, c.req.valid('param').id), now(c)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/jobs/{id}',
      tags,
      request: { params: IdParam, ...jsonBody(JobPatch) },
      responses: { 200: ok(Job), ...errors },
    }),
    async (c) => {
      return c.json(jobView(await updateJob(c.var.deps, c.req.valid('param').id, c.req.valid('json'), now(c)), now(c)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/jobs/{id}',
      tags,
      request: { params: IdParam },
      responses: { 200: ok(z.object({ deleted: z.boolean() })), ...errors },
    }),
    async (c) => {
      await deleteJob(c.var.deps.db, c.req.valid('param').id);
      return c.json({ deleted: true }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/jobs/{id}/run',
      tags,
      request: { params: IdParam },
      responses: { 202: ok(Accepted, 'Queued'), ...errors },
    }),
    async (c) => {
      const job = await loadJob(c.var.deps.db, c.req.valid('param').id);
      return c.json({ eventId: await runJobNow(c.var.deps, job, 'manual', now(c)) }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/jobs/{id}/webhook-token',
      tags,
      request: { params: IdParam },
      responses: { 201: ok(WebhookToken, 'Created (shown once)'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const token = await newWebhookToken(c.var.deps.db, id, now(c));
      return c.json({ token, url: `${c.var.deps.config.publicUrl}/api/v1/hooks/jobs/${id}/run` }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/jobs/{id}/generations',
      tags,
      request: { params: IdParam },
      responses: { 200: ok(Generations), ...errors },
    }),
    async (c) => {
      const db = c.var.deps.db;
      return c.json(await jobGenerations(db, await loadJob(db, c.req.valid('param').id)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/jobs/{id}/restore',
      tags,
      request: { params: IdParam, ...jsonBody(RestoreFromJob) },
      responses: { 202: ok(Accepted, 'Queued'), ...errors },
    }),
    async (c) => {
      const job = await loadJob(c.var.deps.db, c.req.valid('param').id);
      const { generation, snapshot, keepReplaced } = c.req.valid('json');
      return c.json({ eventId: await restoreFromJob(c.var.deps, job, generation, snapshot, keepReplaced, now(c)) }, 202);
    },
  );
}

/** POST /hooks/jobs/:id/run: the job's webhook token runs that job only. */
export function registerHooks(app: App) {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/hooks/jobs/{id}/run',
      tags: ['webhooks'],
      request: { params: IdParam },
      responses: { 202: ok(Accepted, 'Queued'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const token = bearer(c.req.header('authorization')) ?? c.req.header('x-lifeboat-token') ?? null;
      if (!token) throw new ApiError('unauthorized', 'a webhook token is required (Authorization: Bearer …)');
      // Same answer for a missing job and a wrong token: the hook reveals nothing.
      const job = await webhookJob(c.var.deps.db, id, token);
      if (!job) throw new ApiError('unauthorized', 'the webhook token is not valid for this job');
      return c.json({ eventId: await runJobNow(c.var.deps, job, 'webhook', now(c)) }, 202);
    },
  );
}
