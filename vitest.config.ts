import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // tests/openzfs/ is the OpenZFS tier: it needs the test VM and runs with vitest.openzfs.config.ts.
    exclude: [...configDefaults.exclude, 'tests/openzfs/**'],
    pool: 'forks',
    // Real ZFS and sshd suites share one zfs-fuse daemon and two cores: one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
