// The control plane as it runs on Cloudflare Workers: the Worker bundle (what wrangler.toml deploys)
// under workerd through miniflare, with a local D1 migrated by the same SQL files, listening on a
// free 127.0.0.1 port so real runner processes can reach it. Beside the app, a second worker runs SQL
// on the same D1 (what `wrangler d1 migrations apply` and `wrangler d1 execute` do): through a
// worker (an HTTP request) rather than mf.getD1Database(), whose Node-side proxy makes synchronous
// calls (Atomics.wait on a worker thread) whose reply was once lost under load.
import { Miniflare } from 'miniflare';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS_DIR } from '../../functions/src/db/libsql.ts';
import { buildWorkerBundle } from '../../scripts/build-bundles.mjs';
import type { ApiCall, LbEvent } from './api.ts';
import { adminApi, eventWaiter, poll } from './client.ts';
import { freePort } from './server.ts';

export interface TestWorkerd {
  mf: Miniflare;
  /** http://127.0.0.1:<port>: what runners are given as --server. */
  url: string;
  admin: string;
  api: ApiCall;
  waitFor: <T>(what: string, f: () => Promise<T | null | undefined | false>, ms?: number) => Promise<T>;
  waitEvent: (id: number, ms?: number) => Promise<LbEvent>;
  /** Statements run on the D1 database, in order. */
  sql: (statements: string[]) => Promise<void>;
  /** The cron trigger, as Cloudflare fires it every minute (worker.ts `scheduled`). */
  scheduled: () => Promise<void>;
  stop: () => Promise<void>;
}

/** The SQL of drizzle/migrations, statement by statement, in order. */
function migrationStatements(): string[] {
  const out: string[] = [];
  for (const f of readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort())
    for (const stmt of readFileSync(join(MIGRATIONS_DIR, f), 'utf8').split('--> statement-breakpoint')) if (stmt.trim()) out.push(stmt);
  return out;
}

export async function startWorkerd(bindings: Record<string, string> = {}): Promise<TestWorkerd> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-workerd-'));
  const out = join(dir, 'worker.mjs');
  await buildWorkerBundle(out);
  const admin = 'lba_workerd_' + Math.random().toString(36).slice(2);
  const port = await freePort();
  const d1Databases = { DB: 'lifeboat-e2e' };
  const mf = new Miniflare({
    host: '127.0.0.1',
    port,
    workers: [
      {
        name: 'app',
        modules: [{ type: 'ESModule', path: 'worker.mjs', contents: readFileSync(out, 'utf8') }],
        compatibilityDate: '2026-04-01',
        d1Databases,
        // held claims wait on their node's Durable Object, due runs are created by the fleet's one
        // (wrangler.toml, functions/src/worker-waker.ts, worker-due.ts)
        durableObjects: { CLAIM_WAKER: 'ClaimWaker', DUE_SCHEDULER: 'DueScheduler' },
        // the cron's housekeeping at once: tests fire it and wait for it (the fleet bench keeps the default)
        bindings: {
          LIFEBOAT_ADMIN_TOKEN: admin,
          LIFEBOAT_SECRET_KEY: 'workerd-e2e-secret',
          LIFEBOAT_CRON_HOUSEKEEPING_DELAY_SECONDS: '0',
          ...bindings,
        },
      },
      {
        name: 'sql',
        modules: true,
        compatibilityDate: '2026-04-01',
        d1Databases,
        routes: ['sql.test/*'],
        script: `export default { async fetch(req, env) {
          for (const stmt of await req.json()) await env.DB.prepare(stmt).run();
          return new Response('ok');
        } };`,
      },
    ],
    d1Persist: false,
    durableObjectsPersist: false,
  });
  const url = (await mf.ready).origin;
  const sql = async (statements: string[]) => {
    const r = await mf.dispatchFetch('http://sql.test/', { method: 'POST', body: JSON.stringify(statements) });
    if (r.status !== 200) throw new Error(`D1: ${await r.text()}`);
  };
  await sql(migrationStatements());
  const api = adminApi(url, () => admin);
  const waitFor = <T>(what: string, f: () => Promise<T | null | undefined | false>, ms = 60_000) => poll(what, f, { ms });
  const worker = (await mf.getWorker('app')) as unknown as { scheduled: (o: { cron: string }) => Promise<{ outcome: string }> };
  return {
    mf,
    url,
    admin,
    api,
    waitFor,
    waitEvent: eventWaiter(api, waitFor),
    sql,
    async scheduled() {
      const r = await worker.scheduled({ cron: '* * * * *' });
      if (r.outcome !== 'ok') throw new Error(`the cron trigger ended ${r.outcome}`);
    },
    async stop() {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
