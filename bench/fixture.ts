// What the zfs-fuse benches share: the test host (zfs-fuse daemon and packages), a target on the
// test sshd as the runner gets it from the server (host key pinned), and key files for commands
// typed by hand.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateTarget } from '../node-runner/src/executors/validate.ts';
import type { TargetSpec } from '../node-runner/src/executors/types.ts';
import type { TestSshd } from '../tests/helpers/sshd.ts';
import { testContext } from '../tests/helpers/zfs.ts';

/**
 * Provision the test host (scripts/provision-test-host.sh, with `packages` besides its own); returns
 * the function that stops the zfs-fuse daemon afterwards, only if this call had to start it.
 */
export function provisionTestHost(packages = ''): () => void {
  const pidFile = join(tmpdir(), `lifeboat-bench-zfs-fuse-${process.pid}.pid`);
  spawnSync('bash', [new URL('../scripts/provision-test-host.sh', import.meta.url).pathname, pidFile], {
    stdio: 'inherit',
    env: { ...process.env, ...(packages ? { LIFEBOAT_TEST_PACKAGES: packages } : {}) },
  });
  return () => {
    if (!existsSync(pidFile)) return;
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGTERM');
    } catch {
      /* already gone */
    }
    rmSync(pidFile, { force: true });
  };
}

/** A target on the test sshd (root, `backupRoot` already there), validated: its host key pinned. */
export async function loopbackTarget(sshd: TestSshd, backupRoot: string): Promise<TargetSpec> {
  const target: TargetSpec = {
    id: 1,
    name: 'bench',
    sshHost: '127.0.0.1',
    sshUser: 'root',
    sshPort: sshd.port,
    sshPrivateKey: sshd.clientKey,
    backupRoot,
    createBackupRoot: false,
    hostKey: null,
  };
  target.hostKey = (await validateTarget(target, testContext().ctx)).hostKey;
  return target;
}

/** The client key and a known_hosts file with the sshd's host key, for ssh typed by hand. */
export async function sshFiles(sshd: TestSshd): Promise<{ keyFile: string; known: string }> {
  const keyFile = join(sshd.dir, 'bench_key');
  writeFileSync(keyFile, sshd.clientKey, { mode: 0o600 });
  const known = join(sshd.dir, 'bench_known_hosts');
  writeFileSync(known, (await sshd.hostKeyLine()) + '\n');
  return { keyFile, known };
}
