// The retention planner at fleet scale (README, "Retention"): BENCH_DATASETS datasets (default
// 1,000) with BENCH_SNAPSHOTS_EACH snapshots each (default 10,000, hourly, so across DST changes)
// under a calendar policy in Europe/Berlin, with each side's newest snapshot common. The baseline
// in the same run is the simple form (Keep Last 3) over the same listings: the ratio says what the
// calendar rules add. Median of BENCH_ROUNDS (default 3) after one warm-up. No ZFS, no I/O.
import { performance } from 'node:perf_hooks';
import { keepLastPolicy, planRetention, type RetentionPolicy, type RetentionSnapshot } from '../protocol/src/retention.ts';

const DATASETS = Number(process.env.BENCH_DATASETS ?? 1000);
const EACH = Number(process.env.BENCH_SNAPSHOTS_EACH ?? 10_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const JOB = 1;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const CALENDAR: RetentionPolicy = { last: 24, hourly: 48, daily: 30, weekly: 8, monthly: 12, yearly: 2, within: '48h' };

export async function benchRetention(): Promise<void> {
  const start = Date.parse('2025-06-01T00:00:00Z') / 1000;
  const now = start + EACH * 3600;
  const listings: RetentionSnapshot[][] = [];
  for (let d = 0; d < DATASETS; d++) {
    const l: RetentionSnapshot[] = new Array(EACH);
    for (let s = 0; s < EACH; s++)
      l[s] = {
        name: `lb_j1_${s}`,
        guid: String(1e15 + d * 100_000 + s),
        createtxg: 1000 + s,
        creation: start + s * 3600,
        job: JOB,
        generation: 1,
        userrefs: 0,
        cloned: false,
      };
    listings.push(l);
  }
  const common = listings.map((l) => [l[l.length - 1].guid]);
  console.log(`${DATASETS} datasets × ${EACH} snapshots (hourly from 2025-06-01), policy ${JSON.stringify(CALENDAR)}, Europe/Berlin`);

  const plan = (policy: RetentionPolicy) => {
    let kept = 0;
    for (let d = 0; d < DATASETS; d++) {
      const p = planRetention({
        side: 'target',
        jobId: JOB,
        policy,
        generation: 1,
        timeZone: 'Europe/Berlin',
        now,
        snapshots: listings[d],
        otherSideGuids: common[d],
      });
      kept += p.verdicts.length - p.destroy.length;
    }
    return kept;
  };
  const time = (f: () => number) => {
    const t0 = performance.now();
    const n = f();
    return { s: (performance.now() - t0) / 1000, n };
  };
  time(() => plan(keepLastPolicy(3)));
  time(() => plan(CALENDAR));
  const b: number[] = [];
  const c: number[] = [];
  let kept = 0;
  for (let r = 0; r < ROUNDS; r++) {
    b.push(time(() => plan(keepLastPolicy(3))).s);
    const t = time(() => plan(CALENDAR));
    c.push(t.s);
    kept = t.n;
  }
  const mb = median(b);
  const mc = median(c);
  console.log(`keep last 3 (baseline)   median ${mb.toFixed(3)} s`);
  console.log(
    `calendar policy          median ${mc.toFixed(3)} s   (${(mc / mb).toFixed(2)}x the baseline; ${kept / DATASETS} kept per dataset; goal < 2 s)`,
  );
}
