// Control-plane latency with 10,000 jobs and 1,000,000 events in the embedded file DB, over real HTTP.
// Baseline measured in the same run: GET /health (one trivial query through the same stack).
import { serve } from '@hono/node-server';
import { sql } from 'drizzle-orm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp } from '../functions/src/app.ts';
import { configFromEnv } from '../functions/src/config.ts';
import { openDatabase } from '../functions/src/db/libsql.ts';
import { createSecretBox } from '../functions/src/lib/secrets.ts';
import { sha256Hex } from '../functions/src/lib/tokens.ts';
import { createWaker } from '../functions/src/waker.ts';
import { metricsText as buildMetrics } from '../functions/src/services/metrics.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 10_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const ADMIN = 'bench-admin';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

export async function benchControlPlane() {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-'));
  const { db, close } = await openDatabase(`file:${join(dir, 'bench.db')}`);
  const config = { ...configFromEnv({}), claimWaitMs: 5000, claimRecheckMs: 100 };
  const app = createApp({
    db,
    config,
    adminTokenHash: await sha256Hex(ADMIN),
    secrets: await createSecretBox('bench'),
    waker: createWaker(),
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  const call = async <T = unknown>(
    method: string,
    path: string,
    token: string,
    body?: unknown,
    retry = true,
  ): Promise<{ status: number; body: T }> => {
    // A keep-alive connection the server closed while we were seeding resets once: retry it.
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((err) => {
      if (retry) return null;
      throw err;
    });
    if (!res) return call<T>(method, path, token, body, false);
    return { status: res.status, body: (await res.json()) as T };
  };
  try {
    const t0 = performance.now();
    const jt = await call<{ token: string }>('POST', '/nodes/join-tokens', ADMIN);
    const node = (
      await call<{ nodeId: number; nodeToken: string }>('POST', '/runner/join', '', { joinToken: jt.body.token, name: 'bench' })
    ).body;
    await call('POST', '/runner/inventory', node.nodeToken, { zfsVersion: 'bench', datasets: [{ name: 'tank' }, { name: 'tank/data' }] });
    const target = (
      await call<{ id: number }>('POST', '/targets', ADMIN, {
        name: 'bt',
        sshHost: 'b.example',
        sshPrivateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----',
        backupRoot: 'backup/lb',
      })
    ).body;
    const far = Date.now() + 365 * 86_400_000;
    await db.run(sql`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${JOBS})
      INSERT INTO jobs (name, target_id, node_id, mode, source, schedule, timezone, next_run_at, created_at, updated_at)
      SELECT 'job-' || x, ${target.id}, ${node.nodeId}, 'dataset', 'tank/data', '0 3 * * *', 'UTC', ${far}, 0, 0 FROM c`);
    const now = Date.now();
    await db.run(sql`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${EVENTS})
      INSERT INTO events (kind, job_id, job_name, node_id, target_id, trigger, status, source, destination, bytes_done, created_at, started_at, finished_at)
      SELECT 'backup', (x % ${JOBS}) + 1, 'job-' || ((x % ${JOBS}) + 1), ${node.nodeId}, ${target.id}, 'schedule',
             CASE WHEN x % 17 = 0 THEN 'failed' ELSE 'success' END, 'tank/data', 'backup/lb', x, ${now} - (${EVENTS} - x) * 1000, 0, 0 FROM c`);
    // every job has a last backup and snapshot counts, as after a day of runs (the metrics read them)
    await db.run(sql`UPDATE jobs SET last_success_at = ${now} - id * 1000, last_backup_status = 'success',
      last_backup_duration_ms = 1000 + id, last_backup_bytes = id * 4096, rpo_effective_seconds = 172800,
      source_snapshot_count = 24, target_snapshot_count = 48`);
    await db.run(sql`ANALYZE`);
    console.log(`seeded ${JOBS} jobs and ${EVENTS} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const time = async (n: number, f: () => Promise<unknown>) => {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const s = performance.now();
        await f();
        xs.push(performance.now() - s);
      }
      return xs;
    };
    await time(20, () => call('GET', '/health', ''));
    const health = await time(300, () => call('GET', '/health', ''));
    const claims = await time(300, () => call('POST', '/runner/claim', node.nodeToken, { max: 2, waitMs: 0 }));
    const pages = await time(100, () => call('GET', `/events?jobId=${1 + Math.floor(Math.random() * JOBS)}&limit=50`, ADMIN));
    const firstPage = await time(50, () => call('GET', '/events?limit=50', ADMIN));
    const metricsText = async () => {
      const res = await fetch(base + '/metrics', { headers: { authorization: `Bearer ${ADMIN}` } });
      if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
      return res.text();
    };
    const lines = (await metricsText()).split('\n').length;
    const metrics = await time(30, metricsText);
    // the same text built in the process (no HTTP: the 8 MB answer's transfer is most of the rest)
    const metricsBuilt = await time(30, () => buildMetrics(db, Date.now()));

    // Run Now → a runner already holding a long-poll claim.
    const reach: number[] = [];
    for (let i = 0; i < 30; i++) {
      const jobId = 1 + i;
      const claim = call<{ events?: { id: number }[] }>('POST', '/runner/claim', node.nodeToken, { max: 1, waitMs: 5000 });
      await new Promise((r) => setTimeout(r, 50)); // let the claim start waiting
      const s = performance.now();
      const run = await call<{ eventId: number }>('POST', `/jobs/${jobId}/run`, ADMIN);
      const got = await claim;
      const e = performance.now() - s;
      if (got.body.events?.[0]?.id !== run.body.eventId) throw new Error('runner did not get the Run Now event');
      reach.push(e);
      await call('POST', `/runner/events/${run.body.eventId}/finish`, node.nodeToken, { status: 'success' });
    }
    const h50 = pct(health, 50);
    const rows = [
      ['baseline GET /health', pct(health, 50), pct(health, 99), null],
      ['claim, nothing due (budget p99 < 20 ms)', pct(claims, 50), pct(claims, 99), 20],
      ['events by job, first page (budget < 50 ms)', pct(pages, 50), pct(pages, 99), 50],
      ['events, first page unfiltered', pct(firstPage, 50), pct(firstPage, 99), null],
      [`GET /metrics, ${JOBS} jobs, ${lines} lines`, pct(metrics, 50), pct(metrics, 99), null],
      [`metrics text built, ${JOBS} jobs (goal < 100 ms)`, pct(metricsBuilt, 50), pct(metricsBuilt, 99), 100],
      ['Run Now → long-polling runner (budget p50 < 500 ms)', pct(reach, 50), pct(reach, 99), 500],
    ] as const;
    console.log('\ncontrol plane                                         p50        p99   p50/baseline');
    for (const [name, p50, p99] of rows)
      console.log(`${name.padEnd(52)} ${fmt(p50).padStart(10)} ${fmt(p99).padStart(10)} ${(p50 / h50).toFixed(1).padStart(8)}x`);
    return {
      metricsP50: pct(metrics, 50),
      claimP99: pct(claims, 99),
      pageByJobMax: Math.max(...pages),
      pageByJobP99: pct(pages, 99),
      runNowP50: pct(reach, 50),
    };
  } finally {
    server.close();
    close();
    rmSync(dir, { recursive: true, force: true });
  }
}
