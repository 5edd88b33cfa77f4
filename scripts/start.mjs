#!/usr/bin/env node
// npm start: make this machine able to run the whole system, then start it
// (API + web UI + local runner on the embedded file: DB; migrations apply on start).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

// A node without ZFS gets zfs-fuse (the same provisioning the test suites use). A host that has
// OpenZFS already is left alone: installing zfs-fuse next to it would be wrong.
if (!has('zfs') && process.getuid?.() === 0 && has('apt-get')) {
  mkdirSync(join(root, '.tmp'), { recursive: true });
  const r = spawnSync('bash', [join(root, 'scripts/provision-test-host.sh'), join(root, '.tmp/zfs-fuse.pid')], { stdio: 'inherit' });
  if (r.status !== 0) console.error('[lifeboat] could not provision zfs-fuse; the local runner will report no ZFS');
} else if (!has('zfs')) {
  console.error('[lifeboat] no zfs command on this machine: the local runner will report no ZFS');
}

if (!existsSync(join(root, 'frontend/build/index.html'))) {
  const b = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) console.error('[lifeboat] the web UI did not build; serving the API only');
}

const server = spawn(process.execPath, ['--import', 'tsx', join(root, 'functions/src/node.ts')], { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.kill(sig));
server.on('exit', (code, sig) => process.exit(code ?? (sig ? 1 : 0)));
