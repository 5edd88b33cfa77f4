import { defineConfig } from 'vitest/config';

// The OpenZFS tier (scripts/test.mjs): tests/openzfs/ against the OpenZFS 2.3 test VM
// (LIFEBOAT_OPENZFS_VM, see tests/helpers/openzfs-vm.ts). The guest runs under software emulation,
// so everything is 10-50x slower than on the host: long timeouts. Each file has its own pools,
// server, runner and target user key in the one VM (unique names), and most of a file's time is
// spent waiting on the guest's process starts, so two files run at a time.
export default defineConfig({
  test: {
    include: ['tests/openzfs/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
