// npm run bench [name…]: runs the benchmarks (not part of npm test) and prints ratios against
// baselines measured in the same run.
import { benchControlPlane } from './control-plane.ts';
import { benchThroughput } from './throughput.ts';
import { benchUi } from './ui.ts';
import { benchLoad } from './load.ts';
import { benchOpenzfs } from './openzfs.ts';
import { benchIncremental } from './incremental.ts';
import { benchIncrementalOpenzfs } from './incremental-openzfs.ts';
import { benchBwlimit } from './bwlimit.ts';
import { benchPlanner } from './planner.ts';
import { benchMany, benchManyOpenzfs } from './many.ts';
import { benchRestoreIncremental } from './restore-incremental.ts';
import { benchRetention } from './retention.ts';
import { benchFleet } from './fleet.ts';

const benches: Record<string, () => Promise<unknown>> = {
  'control-plane': benchControlPlane,
  throughput: benchThroughput,
  ui: benchUi,
  load: benchLoad,
  openzfs: benchOpenzfs,
  incremental: benchIncremental,
  'incremental-openzfs': benchIncrementalOpenzfs,
  bwlimit: benchBwlimit,
  planner: benchPlanner,
  many: benchMany,
  'many-openzfs': benchManyOpenzfs,
  'restore-incremental': benchRestoreIncremental,
  retention: benchRetention,
  fleet: benchFleet,
};

const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(benches);
for (const name of chosen) {
  const b = benches[name];
  if (!b) {
    console.error(`unknown bench "${name}"; have: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== ${name} ==`);
  await b();
}
process.exit(0);
