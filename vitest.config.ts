import { configDefaults, defineConfig } from 'vitest/config';

// The zfs-fuse tier (docs/testing.md) is two projects, one file at a time each:
//   zfs   the suites that drive the zfs-fuse daemon (and sshd, Chromium);
//   side  the suites that need no ZFS at all (the control plane on its file DB, unit tests, packaging).
// `npm test` (scripts/test.mjs) runs them as two vitest processes side by side (vitest itself runs
// projects that are one file at a time one after the other); `npx vitest run` runs both in turn.
// The load test stays in `zfs`: beside the zfs-fuse suites it took 356 s instead of 166 s and
// slowed them as much (fresh-clone CI, 2026-12-01), the two cores being busy with both.
const SIDE = [
  'tests/functions/**/*.test.ts',
  'tests/packaging/**/*.test.ts',
  '{functions,node-runner,protocol}/src/**/*.test.ts',
  'frontend/src/lib/**/*.test.ts',
];

export default defineConfig({
  // the frontend's alias for the shared protocol (frontend/svelte.config.js), for its unit tests
  resolve: { alias: { $protocol: new URL('./protocol/src', import.meta.url).pathname } },
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'zfs',
          include: ['tests/**/*.test.ts'],
          // tests/openzfs/ is the OpenZFS tier: it needs the test VM and runs with vitest.openzfs.config.ts.
          exclude: [...configDefaults.exclude, 'tests/openzfs/**', ...SIDE],
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: { name: 'side', include: SIDE, exclude: [...configDefaults.exclude, 'tests/openzfs/**'], fileParallelism: false },
      },
    ],
  },
});
