// Fleet scale (issue 17 #5): BENCH_NODES simulated runners (default 1,000) with BENCH_JOBS jobs each
// (default 10) against each server of BENCH_FLEET_SERVERS (default `node,workerd`): the Node server
// bundle with its file DB in a child process, and the Worker bundle under workerd (miniflare, as
// tests/helpers/workerd.ts starts it) with a local D1 and its Durable Objects, the cron fired every
// minute as Cloudflare does.
// A simulated runner speaks the real runner API (join, inventory, long-poll claims) and "runs" what
// it claims at once (finish: success). The jobs are made with a yearly schedule, so the fleet is
// first idle; then every job gets an hourly schedule, the minutes spread over the hour (the next
// three left out), and the fleet is busy:
//   idle   BENCH_IDLE_MINUTES (default 1) with nothing due: server CPU (cores), RSS, the claims' rate
//   busy   BENCH_BUSY_MINUTES (default 2; 0: none) of due jobs, plus a burst of BENCH_BURST Run Nows (200):
//          due → claimed (claim time minus the occurrence's time), Run Now → claimed, CPU, RSS
// CPU and memory come from /proc/<pid> of the server or of the workerd process; the simulated
// runners run in this process on the same cores (their cost is not the server's, but it competes
// with it). BENCH_CLAIM_WAIT_MS sets LIFEBOAT_CLAIM_WAIT_MS of both. DB statements are the server's
// own count (GET /metrics, lifeboat_db_statements_total): the Node process's to libSQL, the Worker
// isolate's to D1 (db/statement-counter.ts).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNNER_PROTOCOL, RUNNER_PROTOCOL_HEADER } from '../protocol/src/runner-protocol.ts';
import { TEST_KEY } from '../tests/helpers/control.ts';
import { freePort } from '../tests/helpers/server.ts';
import { startWorkerd } from '../tests/helpers/workerd.ts';

const NODES = Number(process.env.BENCH_NODES ?? 1000);
const JOBS = Number(process.env.BENCH_JOBS ?? 10);
const IDLE_MIN = Number(process.env.BENCH_IDLE_MINUTES ?? 1);
const BUSY_MIN = Number(process.env.BENCH_BUSY_MINUTES ?? 2);
const BURST = Number(process.env.BENCH_BURST ?? 200);
const MINUTE = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** utime + stime of a process in seconds, and its RSS in MiB. */
function procStats(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = 100; // CLK_TCK on Linux
  const cpu = (Number(f[11]) + Number(f[12])) / ticks;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
  return { cpu, rss };
}

/** A server under test: where it listens, the process whose CPU and memory are its cost. */
interface Served {
  label: string;
  url: string;
  admin: string;
  pid: number;
  /** How long it holds a claim: the runners' first claims are spread over it, as a fleet's are. */
  claimWaitMs: number;
  /** The cron trigger (workerd), fired at the start of every minute as Cloudflare does. */
  cron?: () => Promise<void>;
  stop: () => Promise<void>;
}

const claimWait: Record<string, string> = process.env.BENCH_CLAIM_WAIT_MS
  ? { LIFEBOAT_CLAIM_WAIT_MS: process.env.BENCH_CLAIM_WAIT_MS }
  : {};

async function startNode(): Promise<Served> {
  const root = new URL('../', import.meta.url).pathname;
  execFileSync(process.execPath, [join(root, 'scripts/build-bundles.mjs'), '--if-stale'], { stdio: 'inherit' });
  const dataDir = mkdtempSync(join(tmpdir(), 'lb-fleet-'));
  const port = await freePort();
  const admin = `lba_fleet_${Math.random().toString(36).slice(2)}`;
  // BENCH_SERVER_NODE_ARGS: node flags for the server (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof)
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const server = spawn(process.execPath, [...nodeArgs, join(root, 'functions/dist/lifeboat-server.mjs')], {
    env: {
      ...process.env,
      LIFEBOAT_DATA_DIR: dataDir,
      LIFEBOAT_PORT: String(port),
      LIFEBOAT_ADMIN_TOKEN: admin,
      LIFEBOAT_LOCAL_RUNNER: '0',
      ...claimWait,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    label: 'Node + file DB',
    url: `http://127.0.0.1:${port}/api/v1`,
    admin,
    pid: server.pid!,
    claimWaitMs: Number(process.env.BENCH_CLAIM_WAIT_MS ?? 25_000), // config.ts's default
    async stop() {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        server.kill('SIGTERM');
        await Promise.race([exited, sleep(15_000)]);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The workerd process miniflare started: a child of this process (miniflare spawns it). */
function workerdPid(): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'workerd' && ppid === process.pid) return Number(d);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('no workerd process found under this one');
}

async function startWorkerdServer(): Promise<Served> {
  // the production default of the cron's housekeeping delay (the test helper sets 0); BENCH_CRON_DELAY_SECONDS to compare
  const w = await startWorkerd({ ...claimWait, LIFEBOAT_CRON_HOUSEKEEPING_DELAY_SECONDS: process.env.BENCH_CRON_DELAY_SECONDS ?? '20' });
  return {
    label: 'workerd + D1 (miniflare)',
    url: `${w.url}/api/v1`,
    admin: w.admin,
    pid: workerdPid(),
    claimWaitMs: Number(process.env.BENCH_CLAIM_WAIT_MS ?? 90_000), // worker.ts's default
    cron: w.scheduled,
    stop: w.stop,
  };
}

export async function benchFleet() {
  const servers = (process.env.BENCH_FLEET_SERVERS ?? 'node,workerd').split(',').filter(Boolean);
  const results: { label: string; r: Awaited<ReturnType<typeof fleetOn>> }[] = [];
  for (const name of servers) {
    const start = { node: startNode, workerd: startWorkerdServer }[name];
    if (!start) throw new Error(`BENCH_FLEET_SERVERS: unknown server "${name}" (node, workerd)`);
    const served = await start();
    console.log(`\n-- ${served.label} --`);
    results.push({ label: served.label, r: await fleetOn(served) });
  }
  if (results.length > 1) {
    console.log(`\n${NODES} nodes × ${JOBS} jobs, side by side:`);
    for (const { label, r } of results) console.log(`  ${label}: ${r.summary}`);
  }
  return results;
}

async function fleetOn(served: Served) {
  const { url, admin } = served;
  const server = { pid: served.pid };
  const call = async (method: string, path: string, body?: unknown, token = admin) => {
    const send = () =>
      fetch(url + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          [RUNNER_PROTOCOL_HEADER]: String(RUNNER_PROTOCOL),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // a kept-alive connection the server closed as it was reused (seen once with workerd, PATCH
    // /jobs under load): sent again once, as the runner's client retries transport failures
    const res = await send().catch(send);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : null;
  };
  /** The server's SQL statements so far (GET /metrics, lifeboat_db_statements_total; a scrape itself reads 4). */
  const statements = async () => {
    const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${admin}` } })).text();
    const n = (kind: string) => Number(new RegExp(`^lifeboat_db_statements_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { read: n('read'), write: n('write') };
  };
  let stopping = false;
  try {
    for (let i = 0; ; i++) {
      try {
        await call('GET', '/health');
        break;
      } catch (e) {
        if (i > 200) throw e;
        await sleep(100);
      }
    }
    // ---- seed: a target, the nodes (join + inventory), the jobs --------------------------------
    const t0 = Date.now();
    const target = await call('POST', '/targets', {
      name: 't',
      sshHost: 'backup.example.org',
      sshPrivateKey: TEST_KEY,
      backupRoot: 'b/lb',
    });
    const nodes: { id: number; token: string }[] = [];
    const jobMinute = new Map<number, number>();
    const pool = async <T>(items: T[], n: number, f: (x: T, i: number) => Promise<void>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: n }, async () => {
          for (let i = next++; i < items.length; i = next++) await f(items[i], i);
        }),
      );
    };
    await pool(
      Array.from({ length: NODES }, (_, i) => i),
      8,
      async (i) => {
        const jt = await call('POST', '/nodes/join-tokens');
        const j = await call('POST', '/runner/join', { joinToken: jt.token, name: `fleet-${i}` }, '');
        await call(
          'POST',
          '/runner/inventory',
          {
            zfsVersion: 'zfs-2.2.4',
            capabilities: { resumableRecv: true },
            pools: ['tank'],
            datasets: [{ name: 'tank' }, ...Array.from({ length: JOBS }, (_, k) => ({ name: `tank/d${k}` }))],
            guests: [],
          },
          j.nodeToken,
        );
        nodes[i] = { id: j.nodeId, token: j.nodeToken };
      },
    );
    const specs = nodes.flatMap((n, i) => Array.from({ length: JOBS }, (_, k) => ({ n, i, k })));
    const jobIds: number[] = [];
    await pool(specs, 8, async ({ n, i, k }) => {
      const job = await call('POST', '/jobs', {
        name: `f${i}-${k}`,
        targetId: target.id,
        nodeId: n.id,
        mode: 'dataset',
        source: `tank/d${k}`,
        schedule: '0 0 1 1 *', // yearly: nothing due while idle
        timezone: 'UTC',
      });
      jobIds.push(job.id);
    });
    console.log(`seeded ${NODES} nodes × ${JOBS} jobs in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

    // ---- the simulated runners -----------------------------------------------------------------
    const dueToClaimed: number[] = [];
    const burstToClaimed: number[] = [];
    const burstAt = new Map<number, number>();
    let claims = 0;
    const runner = async (n: { token: string }) => {
      while (!stopping) {
        let res: { events: { id: number; kind: string; trigger: string; job?: { id: number } }[] };
        try {
          res = await call('POST', '/runner/claim', { max: 4 }, n.token);
        } catch (e) {
          if (!stopping) console.error(`claim: ${(e as Error).message}`);
          await sleep(1000);
          continue;
        }
        claims++;
        const at = Date.now();
        for (const e of res.events) {
          if (e.trigger === 'schedule' && e.job) {
            const due = Math.floor(at / MINUTE) * MINUTE; // the occurrence: this minute's, the job's minute
            if (new Date(due).getUTCMinutes() === jobMinute.get(e.job.id)) dueToClaimed.push(at - due);
          }
          const b = burstAt.get(e.id);
          if (b !== undefined) burstToClaimed.push(at - b);
          await call(
            'POST',
            `/runner/events/${e.id}/finish`,
            {
              status: 'success',
              result: { snapshot: `lb_j${e.job?.id}_x`, generation: 1, bytesSent: 1 },
            },
            n.token,
          ).catch(() => undefined);
        }
      }
    };
    // each loops until `stopping`; their first claims spread over one claim's hold, so that claims
    // end (and cost) evenly over time, not all at once as when the bench started them together
    for (const n of nodes) void sleep(Math.random() * served.claimWaitMs).then(() => runner(n));
    // Cloudflare fires the cron at the start of every minute
    const cronLoop = async () => {
      // BENCH_FLEET_CRON=0: without it, to see what the cron's work at the minute costs the claims
      while (!stopping && served.cron && process.env.BENCH_FLEET_CRON !== '0') {
        await sleep(MINUTE - (Date.now() % MINUTE));
        // a cron still in its housekeeping wait when the bench stops workerd fails: not a finding
        if (!stopping) await served.cron().catch((e) => stopping || console.error(`cron: ${(e as Error).message}`));
      }
    };
    void cronLoop();
    await sleep(served.claimWaitMs + 5000); // every runner has claimed by now
    const phase = async (minutes: number, during?: () => Promise<void>) => {
      const a = procStats(server.pid!);
      const s0 = await statements();
      const c0 = claims;
      const w0 = Date.now();
      const bg = during?.();
      await sleep(minutes * MINUTE);
      await bg;
      const b = procStats(server.pid!);
      const s1 = await statements();
      const secs = (Date.now() - w0) / 1000;
      return {
        cores: (b.cpu - a.cpu) / secs,
        rss: b.rss,
        claimsPerS: (claims - c0) / secs,
        readsPerMin: ((s1.read - s0.read) * 60) / secs,
        writesPerMin: ((s1.write - s0.write) * 60) / secs,
      };
    };
    const dbLine = (p: { readsPerMin: number; writesPerMin: number }) =>
      `DB ${p.readsPerMin.toFixed(0)} reads/min (${(p.readsPerMin / NODES).toFixed(2)} per node), ${p.writesPerMin.toFixed(0)} writes/min`;
    const idle = await phase(IDLE_MIN);
    console.log(
      `idle: ${idle.cores.toFixed(3)} cores, RSS ${idle.rss.toFixed(0)} MiB, ${idle.claimsPerS.toFixed(0)} claims/s, ${dbLine(idle)}`,
    );
    if (BUSY_MIN <= 0) return { idle, summary: `idle ${dbLine(idle)}, ${idle.cores.toFixed(3)} cores` };
    // hourly schedules, the minutes spread over the hour but for the next three (no job falls due
    // while they are set); BENCH_SPREAD_MINUTES (57) spreads them over fewer, from the fourth minute
    // on: a smaller fleet with a 1,000-node fleet's runs per minute, a quicker loop
    const now = new Date().getUTCMinutes();
    const spread = Math.min(57, Math.max(1, Number(process.env.BENCH_SPREAD_MINUTES ?? 57)));
    const minutes = Array.from({ length: spread }, (_, k) => (now + 3 + k) % 60);
    const t1 = Date.now();
    await pool(jobIds, 8, async (id, idx) => {
      const minute = minutes[idx % minutes.length];
      await call('PATCH', `/jobs/${id}`, { schedule: `${minute} * * * *` });
      jobMinute.set(id, minute);
    });
    console.log(`${jobIds.length} schedules set in ${((Date.now() - t1) / 1000).toFixed(0)} s`);
    const firstDue = (now + 3) % 60;
    while (new Date().getUTCMinutes() !== firstDue) await sleep(200);
    const busy = await phase(BUSY_MIN, async () => {
      await sleep(30_000);
      const jobs = [...jobIds].sort(() => Math.random() - 0.5).slice(0, BURST);
      await Promise.all(
        jobs.map(async (id) => {
          const t = Date.now();
          const r = await call('POST', `/jobs/${id}/run`).catch(() => null);
          if (r) burstAt.set(r.eventId, t);
        }),
      );
    });
    console.log(
      `busy: ${busy.cores.toFixed(3)} cores, RSS ${busy.rss.toFixed(0)} MiB, ${busy.claimsPerS.toFixed(0)} claims/s, ${dbLine(busy)}`,
    );
    const f = (xs: number[]) => `p50 ${pct(xs, 50)} ms, p99 ${pct(xs, 99)} ms (n=${xs.length})`;
    console.log(`due → claimed: ${f(dueToClaimed)}`);
    console.log(`Run Now → claimed: ${f(burstToClaimed)}`);
    console.log(`\n${NODES} nodes × ${JOBS} jobs on ${served.label}:`);
    console.log(
      `  idle CPU ${idle.cores.toFixed(3)} cores (goal < 0.25), busy ${busy.cores.toFixed(3)}; RSS idle ${idle.rss.toFixed(0)} MiB, busy ${busy.rss.toFixed(0)} MiB`,
    );
    console.log(`  due → claimed p99 ${pct(dueToClaimed, 99)} ms (goal < 1000); Run Now → claimed p99 ${pct(burstToClaimed, 99)} ms`);
    console.log(`  idle ${dbLine(idle)}; busy ${dbLine(busy)}`);
    const summary =
      `idle ${idle.cores.toFixed(3)} cores, busy ${busy.cores.toFixed(3)}; RSS ${idle.rss.toFixed(0)}/${busy.rss.toFixed(0)} MiB; ` +
      `due → claimed p50 ${pct(dueToClaimed, 50)} ms, p99 ${pct(dueToClaimed, 99)} ms; Run Now → claimed p99 ${pct(burstToClaimed, 99)} ms; ` +
      `idle ${dbLine(idle)}; busy ${dbLine(busy)}`;
    return { idle, busy, dueToClaimed, burstToClaimed, summary };
  } finally {
    stopping = true;
    await served.stop();
  }
}
