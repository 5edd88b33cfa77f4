// workerd entry (Cloudflare Workers / miniflare) with a D1 binding. Migrations are applied to D1
// from drizzle/migrations at deploy time (wrangler d1 migrations apply), not by the worker.
import { Hono } from 'hono';
import { createApp } from './app.ts';
import { securityHeaders } from './headers.ts';
import { configFromEnv, eventRetention } from './config.ts';
import { createSecretBox } from './lib/secrets.ts';
import { sha256Hex } from './lib/tokens.ts';
import { seedAdminPassword } from './services/admin-password.ts';
import { backfillRpo } from './services/jobs.ts';
import { nodesWithDueJobs, sweepExpiredLeases } from './services/queue.ts';
import { ClaimWaker, durableWaker, notifyDue, type DurableObjectNamespace } from './worker-waker.ts';
import { d1Database, statements } from './worker-db.ts';
import { DueScheduler } from './worker-due.ts';
import { applyEventRetention } from './services/event-retention.ts';
import { deliverNotifications, evaluateNotifications, pruneDeliveries } from './services/notifications.ts';

// The Durable Object classes (wrangler.toml): CLAIM_WAKER, one per node; DUE_SCHEDULER, one for the fleet.
export { ClaimWaker, DueScheduler };

/**
 * A held claim on Workers: longer than on Node (25 s), so an idle node costs D1 little (two reads a
 * claim: README, Fleet scale), and under the 100 s after which proxies commonly give up on an answer.
 * Not exported: a Worker module exports handlers and classes only.
 */
const WORKER_CLAIM_WAIT_MS = 90_000;

export interface WorkerEnv {
  DB: unknown; // D1Database
  /** The ClaimWaker namespace; without it held claims poll D1 every LIFEBOAT_CLAIM_RECHECK_MS. */
  CLAIM_WAKER?: DurableObjectNamespace;
  /** The DueScheduler namespace; without it each woken claim creates its node's due runs itself. */
  DUE_SCHEDULER?: DurableObjectNamespace;
  LIFEBOAT_ADMIN_TOKEN: string;
  LIFEBOAT_SECRET_KEY: string;
  [key: string]: unknown;
}

let cached: { env: WorkerEnv; app: Promise<Hono> } | null = null;

function stringEnv(env: WorkerEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = { LIFEBOAT_CLAIM_WAIT_MS: String(WORKER_CLAIM_WAIT_MS) };
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') out[k] = v;
  return out;
}

const database = (env: WorkerEnv) => d1Database(env.DB);

async function build(env: WorkerEnv) {
  if (!env.LIFEBOAT_ADMIN_TOKEN || !env.LIFEBOAT_SECRET_KEY) {
    throw new Error('LIFEBOAT_ADMIN_TOKEN and LIFEBOAT_SECRET_KEY must be set as Worker secrets');
  }
  const db = database(env);
  // First admin password from the LIFEBOAT_ADMIN_PASSWORD secret, only while none is stored (pure-JS scrypt here).
  if (typeof env.LIFEBOAT_ADMIN_PASSWORD === 'string') await seedAdminPassword(db, env.LIFEBOAT_ADMIN_PASSWORD);
  const api = createApp({
    db,
    config: configFromEnv(stringEnv(env)),
    adminTokenHash: await sha256Hex(env.LIFEBOAT_ADMIN_TOKEN),
    secrets: await createSecretBox(env.LIFEBOAT_SECRET_KEY),
    waker: env.CLAIM_WAKER ? durableWaker(env.CLAIM_WAKER) : undefined,
    dbStatements: statements,
    batchClaims: true, // each D1 call is a round trip through the database's one queue
    // Cloudflare sets this header itself; a client cannot forge it through the edge.
    clientAddress: (c) => c.req.header('cf-connecting-ip') ?? undefined,
  });
  // The Node entry's security headers (README, Security headers); no UI page here, so no script hashes.
  const app = new Hono();
  app.use('*', await securityHeaders(null));
  app.route('/', api);
  return app;
}

function appFor(env: WorkerEnv) {
  if (!cached || cached.env !== env) cached = { env, app: build(env) };
  return cached.app;
}

export default {
  async fetch(request: Request, env: WorkerEnv, ctx: unknown) {
    return (await appFor(env)).fetch(request, env, ctx as Parameters<Hono['fetch']>[2]);
  },
  /**
   * Cron trigger: sweep expired leases, have the due runs of the nodes with due jobs created and
   * their held claims woken (the safety net of the Durable Objects' alarms: worker-waker.ts), then,
   * LIFEBOAT_CRON_HOUSEKEEPING_DELAY_SECONDS later, apply retention, evaluate and deliver
   * notifications (the Node entry does this with timers). The cron fires in the second schedules
   * fall due (they have a minute's resolution): housekeeping run at once would queue ahead of the
   * due runs' statements in the database's one queue (README, Fleet scale).
   */
  async scheduled(_event: unknown, env: WorkerEnv) {
    const db = database(env);
    const config = configFromEnv(stringEnv(env));
    await sweepExpiredLeases(db, Date.now());
    const claimWaker = env.CLAIM_WAKER;
    if (claimWaker) await Promise.all((await nodesWithDueJobs(db, Date.now())).map((id) => notifyDue(claimWaker, id)));
    // a wait, not work: Workers bill a scheduled run's CPU, and its wall time is not limited
    if (config.cronHousekeepingDelayMs) await new Promise((r) => setTimeout(r, config.cronHousekeepingDelayMs));
    await applyEventRetention(db, Date.now(), eventRetention(config));
    await pruneDeliveries(db, Date.now(), config.eventsMaxAgeDays);
    await backfillRpo(db, Date.now());
    await evaluateNotifications(db, Date.now(), { nodeSilentMs: config.notifyNodeSilentMs });
    await deliverNotifications(db, await createSecretBox(env.LIFEBOAT_SECRET_KEY), Date.now());
  },
};
