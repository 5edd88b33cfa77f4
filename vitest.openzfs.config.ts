import { defineConfig } from 'vitest/config';

// The OpenZFS tier (scripts/test.mjs): tests/openzfs/ against the OpenZFS 2.3 test VM
// (LIFEBOAT_OPENZFS_VM, see tests/helpers/openzfs-vm.ts). The guest runs under software emulation,
// so everything is 10-50x slower than on the host: long timeouts, one file at a time (two files at
// once were measured 2.5x slower in total: the emulated guest's CPUs are the bottleneck).
export default defineConfig({
  test: {
    include: ['tests/openzfs/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 600_000,
    // expect.poll waits for a condition, it does not time it: its 1 s default failed tests on a loaded
    // machine (tests/ui/loading.test.ts, CI 2026-12-02; docs/testing.md: no wall-clock assertions)
    expect: { poll: { timeout: 30_000 } },
  },
});
