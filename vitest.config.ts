import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  // the frontend's alias for the shared protocol (frontend/svelte.config.js), for its unit tests
  resolve: { alias: { $protocol: new URL('./protocol/src', import.meta.url).pathname } },
  test: {
    // unit tests of pure modules live beside them (docs/testing.md); system tests under tests/
    include: ['tests/**/*.test.ts', '{functions,node-runner,protocol}/src/**/*.test.ts', 'frontend/src/lib/**/*.test.ts'],
    // tests/openzfs/ is the OpenZFS tier: it needs the test VM and runs with vitest.openzfs.config.ts.
    exclude: [...configDefaults.exclude, 'tests/openzfs/**'],
    pool: 'forks',
    // Real ZFS and sshd suites share one zfs-fuse daemon and two cores: one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
