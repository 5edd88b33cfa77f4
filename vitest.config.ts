import { configDefaults, defineConfig } from 'vitest/config';

// The zfs-fuse tier (docs/testing.md) is three projects, one file at a time each:
//   zfs   the suites that drive the zfs-fuse daemon (and sshd, Chromium);
//   side  the suites that need no ZFS at all (the control plane on its file DB, unit tests, packaging);
//   load  the load test alone: it saturates both cores by design (in `side` it took 356 s instead
//         of 166 s and slowed the zfs-fuse suites as much, fresh-clone CI 2026-12-01).
// `npm test` (scripts/test.mjs) runs `zfs` and `side` as two vitest processes side by side, then
// `load` after `zfs`, never beside the OpenZFS tier's tests; `npx vitest run` runs all three in turn.
const SIDE = [
  'tests/functions/**/*.test.ts',
  'tests/packaging/**/*.test.ts',
  '{functions,node-runner,protocol}/src/**/*.test.ts',
  'frontend/src/lib/**/*.test.ts',
];

const LOAD = 'tests/faults/load.test.ts';

export default defineConfig({
  // the frontend's alias for the shared protocol (frontend/svelte.config.js), for its unit tests
  resolve: { alias: { $protocol: new URL('./protocol/src', import.meta.url).pathname } },
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll waits for a condition, it does not time it: its 1 s default failed tests on a loaded
    // machine (tests/ui/loading.test.ts, CI 2026-12-02; docs/testing.md: no wall-clock assertions)
    expect: { poll: { timeout: 30_000 } },
    projects: [
      {
        extends: true,
        test: {
          name: 'zfs',
          include: ['tests/**/*.test.ts'],
          // tests/openzfs/ is the OpenZFS tier: it needs the test VM and runs with vitest.openzfs.config.ts.
          exclude: [...configDefaults.exclude, 'tests/openzfs/**', ...SIDE, LOAD],
          fileParallelism: false,
        },
      },
      { extends: true, test: { name: 'load', include: [LOAD] } },
      {
        extends: true,
        test: { name: 'side', include: SIDE, exclude: [...configDefaults.exclude, 'tests/openzfs/**'], fileParallelism: false },
      },
    ],
  },
});
