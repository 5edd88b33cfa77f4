// Load bench: 200 jobs over 4 runner processes, every job every minute for 10
// minutes, on zfs-fuse with a real sshd (needs root and the zfs-fuse daemon). Prints the DB
// accounting and the claim latency with nothing due. tests/faults/load.test.ts runs 2 minutes of it with 100 jobs.
import { formatFigures, runLoad } from '../tests/faults/load-scenario.ts';

export async function benchLoad() {
  const minutes = Number(process.env.BENCH_LOAD_MINUTES ?? 10);
  const f = await runLoad({ jobs: Number(process.env.BENCH_LOAD_JOBS ?? 200), runners: 4, minutes, log: (s) => console.log(`  ${s}`) });
  console.log(formatFigures(f));
  const ok =
    f.duplicates === 0 &&
    f.gaps === 0 &&
    f.catchUpWithoutNote === 0 &&
    Object.keys(f.statuses).join() === 'success' &&
    f.claimQuiet.p99 < 20;
  console.log(
    ok
      ? 'load: every occurrence ran once or was coalesced with a note; claim p99 with nothing due within 20 ms'
      : 'load: FAILED (see above)',
  );
  return f;
}
