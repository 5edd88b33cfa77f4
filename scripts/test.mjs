#!/usr/bin/env node
// npm test: provision the real parts (zfs-fuse, sshd binaries, Chromium), run every suite once,
// stop what we started (by PID), and end with one line "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tmp = join(root, '.tmp');
mkdirSync(tmp, { recursive: true });
const pidFile = join(tmp, 'zfs-fuse.pid');
const report = join(tmp, 'vitest-report.json');
rmSync(pidFile, { force: true });
rmSync(report, { force: true });

const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });

let exitCode = 0;
const prov = run('bash', [join(root, 'scripts/provision-test-host.sh'), pidFile], {
  env: { ...process.env, LIFEBOAT_TEST_PACKAGES: [process.env.LIFEBOAT_TEST_PACKAGES, 'chromium'].filter(Boolean).join(' ') },
});
let passed = 0;
let failed = 0;
try {
  if (prov.status !== 0) {
    console.error('test host provisioning failed: the real-ZFS, SSH and browser suites cannot run');
    failed += 1;
    exitCode = 1;
  }
  // Build the UI once so the browser suite tests what the server serves.
  // Several engineers run npm test in one working tree: two vite builds at once break each other
  // (a failed build, or a half-written frontend/build). One build at a time, under flock when present.
  const lock = join(tmp, 'frontend-build.lock');
  const build = spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0
    ? run('flock', [lock, 'npm', 'run', 'build', '--silent'])
    : run('npm', ['run', 'build', '--silent']);
  if (build.status !== 0) { console.error('frontend build failed'); failed += 1; exitCode = 1; }
  const vt = run(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)]);
  if (existsSync(report)) {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    // A file that failed before running any test (import error, failed hook) still counts as a failure.
    for (const f of r.testResults ?? []) if (f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')) failed += 1;
  } else {
    failed += 1;
  }
  if (vt.status !== 0) exitCode = 1;
} finally {
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 0) { try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ } }
  }
}
if (failed > 0) exitCode = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(exitCode);
