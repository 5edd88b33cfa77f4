// createApp(deps): the runtime-agnostic control plane (no Node-only imports).
import { describeOperations, SECURITY_SCHEMES } from './contract/operations.ts';
import { OpenAPIHono } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import { ApiError, isBusy } from './lib/errors.ts';
import { requireAdmin } from './lib/auth.ts';
import type { AppDeps, Env } from './lib/http.ts';
import { registerAuth } from './routes/auth.ts';
import { registerEvents } from './routes/events.ts';
import { registerEventStream } from './routes/event-stream.ts';
import { registerHealth, registerMetrics } from './routes/health.ts';
import { registerHooks, registerJobs } from './routes/jobs.ts';
import { registerNodes } from './routes/nodes.ts';
import { registerNotifications } from './routes/notifications.ts';
import { registerOverview } from './routes/overview.ts';
import { registerRestores } from './routes/restores.ts';
import { registerKeptDatasets } from './routes/kept-datasets.ts';
import { registerRunner } from './routes/runner.ts';
import { registerTargets } from './routes/targets.ts';

export type { AppDeps } from './lib/http.ts';

/** zod issues → { field: message } (unknown keys are named too). */
function fieldsOf(issues: { path: PropertyKey[]; message: string; code?: string; keys?: string[]; expected?: string }[]) {
  // A Map, not a plain object: field names come from the request ("constructor", "__proto__", "valueOf" …).
  const fields = new Map<string, string>();
  const add = (k: string, v: string) => {
    if (!fields.has(k)) fields.set(k, v);
  };
  for (const i of issues) {
    if (i.code === 'unrecognized_keys' && i.keys) {
      for (const k of i.keys) add([...i.path, k].join('.'), 'is not a known field');
      continue;
    }
    const key = i.path.map(String).join('.') || 'body';
    const msg =
      i.code !== 'invalid_type'
        ? i.message
        : /received undefined/.test(i.message)
          ? 'is required'
          : `must be ${i.expected === 'int' ? 'an integer' : i.expected === 'array' ? 'a list' : `a ${i.expected ?? 'valid value'}`}`;
    add(key, msg);
  }
  return Object.fromEntries(fields);
}

/** Largest request body per route: small where anyone may call, larger where runners report. */
export function bodyLimitFor(path: string): number {
  if (path === '/auth/login' || path === '/runner/join') return 16 * 1024;
  if (path === '/runner/inventory' || /^\/runner\/events\/[^/]+\/progress$/.test(path)) return 8 << 20;
  if (path === '/runner/catalog' || /^\/runner\/events\/[^/]+\/finish$/.test(path)) return 64 << 20;
  return 1 << 20;
}

export interface CreateAppOptions {
  /** Called when the database reports SQLITE_BUSY (README design notes, one writer per DB file: fatal for the process on Node). */
  onBusy?: (err: unknown) => void;
  log?: (msg: string) => void;
}

export function createApp(deps: AppDeps, opts: CreateAppOptions = {}) {
  const api = new OpenAPIHono<Env>({
    defaultHook: (result) => {
      if (!result.success) {
        const fields = fieldsOf(result.error.issues);
        const [first] = Object.entries(fields);
        throw new ApiError('invalid', first ? `${first[0]}: ${first[1]}` : 'invalid request', fields);
      }
    },
  });

  api.use('*', async (c, next) => {
    c.set('deps', deps);
    await next();
  });
  // Any write may have changed an event (a runner's report, Run Now, a cancel …): wake this
  // process's event streams to look now (a hint; they read what changed: routes/event-stream.ts).
  if (deps.changes) {
    const hint = deps.changes;
    api.use('*', async (c, next) => {
      try {
        await next();
      } finally {
        if (c.req.method !== 'GET' && c.req.method !== 'HEAD') hint.notify();
      }
    });
  }
  // Request bodies are bounded before they are read (README, Operations: limits).
  const limiters = new Map<number, ReturnType<typeof bodyLimit>>();
  api.use('*', (c, next) => {
    const max = bodyLimitFor(c.req.path.replace(/^\/api\/v1/, ''));
    let l = limiters.get(max);
    if (!l) {
      limiters.set(
        max,
        (l = bodyLimit({
          maxSize: max,
          onError: () => {
            throw new ApiError('too_large', `body: larger than ${max} bytes`, { body: `is larger than ${max} bytes` });
          },
        })),
      );
    }
    return l(c, next);
  });
  // Public: health, the OpenAPI document, sign-in/out and the session probe, the runner join;
  // own auth: runner routes (node token), webhooks (job token). Everything else: requireAdmin.
  const PUBLIC = new Set(['/health', '/openapi.json', '/auth/login', '/auth/logout', '/auth/session']);
  api.use('*', async (c, next) => {
    const p = c.req.path.replace(/^\/api\/v1/, '');
    if (PUBLIC.has(p) || p.startsWith('/runner/') || p.startsWith('/hooks/')) return next();
    return requireAdmin(c, next);
  });

  registerHealth(api);
  registerAuth(api);
  registerMetrics(api);
  registerNodes(api);
  registerTargets(api);
  registerJobs(api);
  registerHooks(api);
  registerEventStream(api, opts.log ?? console.error); // before /events/{id}: `stream` is no id
  registerEvents(api);
  registerOverview(api);
  registerRestores(api);
  registerKeptDatasets(api);
  registerRunner(api);
  registerNotifications(api);

  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) api.openAPIRegistry.registerComponent('securitySchemes', name, scheme);
  // every operation named, summarised and with the credentials it really takes (contract/operations.ts)
  let served: unknown = null;
  api.get('/openapi.json', (c) =>
    c.json(
      (served ??= describeOperations(
        api.getOpenAPIDocument({
          openapi: '3.0.0',
          info: { title: 'Lifeboat API', version: '1', description: 'ZFS backups of datasets, jails and VMs to SSH targets.' },
          security: [{ bearer: [] }, { session: [] }],
        }),
      )),
    ),
  );

  const app = new Hono<Env>();
  app.route('/api/v1', api);
  app.notFound((c) => c.json(new ApiError('not_found', `no route ${c.req.method} ${c.req.path}`).body(), 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.body(), err.status as 400);
    if (err instanceof HTTPException) {
      // Malformed JSON, wrong content type and the like: the request body is the culprit.
      const status = err.status >= 400 && err.status < 500 ? err.status : 400;
      const message = err.message || 'malformed request';
      return c.json(new ApiError('invalid', `body: ${message}`, { body: message }).body(), status as 400);
    }
    if (isBusy(err)) opts.onBusy?.(err);
    (opts.log ?? console.error)(`internal error on ${c.req.method} ${c.req.path}: ${(err as Error)?.stack ?? err}`);
    return c.json(new ApiError('internal', 'internal error; see the server log').body(), 500);
  });
  return app;
}
