#!/usr/bin/env node
// npm test: provision the real parts (zfs-fuse, sshd binaries, Chromium, qemu), run the suites in
// two tiers, stop what we started (by PID), and end with one line "N passed, N failed".
//
//   tier zfs-fuse: everything under tests/ except tests/openzfs/, on the host's zfs-fuse 0.7, in
//                  two lanes side by side (vitest.config.ts's projects: the suites that drive
//                  zfs-fuse, and the suites that need no ZFS, behind "[side]")
//   tier openzfs:  tests/openzfs/, against a VM with the real OpenZFS 2.3 kernel module
//                  (scripts/openzfs-vm.sh: image built once and cached, a fresh VM per run)
//
// The two tiers run at the same time: the OpenZFS tier waits on the emulated guest, the zfs-fuse
// tier largely on its own clocks, so together they take about as long as the longer one. Only the
// load test and the OpenZFS tests never overlap (exclusively, below). The OpenZFS tier's output is printed with an "[openzfs]" prefix as it comes.
// LIFEBOAT_TEST_TIERS=zfs-fuse or =openzfs runs one tier only. Arguments after `npm test --` are
// vitest filters (and flags) for the tier(s) that run; a tier none of whose files match is left out.
// A VM that cannot be built or booted is a failure, never a skip.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tmp = join(root, '.tmp');
mkdirSync(tmp, { recursive: true });
// Several engineers run npm test in one working tree: per-process names for what this run writes.
const pidFile = join(tmp, `zfs-fuse.${process.pid}.pid`);
const reportOf = (tier) => join(tmp, `vitest-report.${tier}.${process.pid}.json`);
const vitestBin = join(root, 'node_modules/vitest/vitest.mjs');
const vmScript = join(root, 'scripts/openzfs-vm.sh');

const TIERS = {
  // two lanes side by side: the suites that drive zfs-fuse, and the rest (vitest.config.ts says
  // which); then the load test (project `load`), once the `zfs` lane is over and the OpenZFS tier is not running
  'zfs-fuse': { config: join(root, 'vitest.config.ts'), lanes: ['zfs', 'side'], after: { zfs: 'load' } },
  openzfs: { config: join(root, 'vitest.openzfs.config.ts') },
};
const wanted = (process.env.LIFEBOAT_TEST_TIERS ?? '').split(/[\s,]+/).filter(Boolean);
for (const t of wanted) {
  if (!TIERS[t]) {
    console.error(`LIFEBOAT_TEST_TIERS: unknown tier "${t}" (tiers: ${Object.keys(TIERS).join(', ')})`);
    process.exit(2);
  }
}
const tiers = wanted.length ? Object.keys(TIERS).filter((t) => wanted.includes(t)) : Object.keys(TIERS);
const vitestArgs = process.argv.slice(2);

// --- child processes, interruption ---------------------------------------------------------------
const children = new Set();
let interrupted = null;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (!interrupted) console.error(`\n[test] ${sig}: stopping after the current step (the VM is stopped in any case)`);
    interrupted ??= sig;
    for (const c of children) {
      // A terminal's Ctrl-C reaches the child too (same process group); a signal sent to us alone does not.
      if (sig === 'SIGINT')
        setTimeout(() => {
          if (children.has(c)) c.kill('SIGINT');
        }, 3000).unref();
      else c.kill(sig);
    }
  });
}

/** Print a child's output line by line behind `prefix`. */
function prefixed(stream, out, prefix) {
  let rest = '';
  stream.on('data', (d) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop();
    for (const l of lines) out.write(`${prefix}${l}\n`);
  });
  stream.on('end', () => {
    if (rest) out.write(`${prefix}${rest}\n`);
  });
}

/**
 * Run a command; resolves { status, stdout } (stdout only when capture). Never rejects. With
 * `prefix`, its output is printed line by line behind it (for the tier that runs beside another).
 */
function run(cmd, args, { capture = false, env, prefix } = {}) {
  return new Promise((resolve) => {
    const piped = capture || prefix;
    const c = spawn(cmd, args, {
      cwd: root,
      env: env ?? process.env,
      stdio: ['ignore', piped ? 'pipe' : 'inherit', prefix ? 'pipe' : 'inherit'],
    });
    children.add(c);
    let stdout = '';
    if (capture)
      c.stdout.on('data', (d) => {
        stdout += d;
      });
    else if (prefix) prefixed(c.stdout, process.stdout, prefix);
    if (prefix) prefixed(c.stderr, process.stderr, prefix);
    c.once('error', (e) => {
      children.delete(c);
      console.error(`[test] ${cmd}: ${e.message}`);
      resolve({ status: -1, stdout });
    });
    c.once('close', (code, signal) => {
      children.delete(c);
      resolve({ status: code ?? (signal ? 128 : -1), signal, stdout });
    });
  });
}

const times = [];
async function timed(label, f) {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    const s = ((Date.now() - t0) / 1000).toFixed(1);
    times.push(`${label} ${s} s`);
    console.log(`[test] ${label}: ${s} s`);
  }
}

let passed = 0;
let failed = 0;
/** Each test file's time, for the list of the slowest printed at the end (where a tier's time goes). */
const slowest = [];
const fail = (msg) => {
  console.error(`[test] FAILED: ${msg}`);
  failed += 1;
};

/** Add a vitest JSON report to the totals; a missing report or a file that failed outside its tests counts as a failure. */
function count(tier, report, status) {
  if (!existsSync(report)) {
    fail(`${tier} tier: vitest wrote no report (exit ${status})`);
    return;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  rmSync(report, { force: true });
  slowest.push(...(r.testResults ?? []).map((f) => ({ tier, file: f.name.replace(root, ''), s: (f.endTime - f.startTime) / 1000 })));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  // A file that failed before running any test (import error, failed hook) still counts as a failure.
  for (const f of r.testResults ?? [])
    if (f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed')) failed += 1;
  if (status !== 0 && r.numFailedTests === 0 && !(r.testResults ?? []).some((f) => f.status === 'failed'))
    fail(`${tier} tier: vitest exited ${status}`);
}

/** With filters: does any file of the tier match? (true when it cannot tell: the run decides) */
async function tierMatches(tier) {
  if (!vitestArgs.length) return true;
  const out = join(tmp, `vitest-list.${tier}.${process.pid}.json`);
  const r = await run(
    process.execPath,
    [vitestBin, 'list', '--filesOnly', `--json=${out}`, '--config', TIERS[tier].config, ...vitestArgs],
    { capture: true },
  );
  if (r.status !== 0 || !existsSync(out)) return true;
  const files = JSON.parse(readFileSync(out, 'utf8'));
  rmSync(out, { force: true });
  return files.length > 0;
}

/** One vitest process over a tier (or one project of it); its report is added to the totals. */
async function vitest(tier, { project, env = process.env, prefix } = {}) {
  const name = project ? `${tier}.${project}` : tier;
  const report = reportOf(name);
  rmSync(report, { force: true });
  const r = await run(
    process.execPath,
    [
      vitestBin,
      'run',
      '--config',
      TIERS[tier].config,
      ...(project ? ['--project', project, '--passWithNoTests'] : []),
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${report}`,
      ...vitestArgs,
    ],
    { env, prefix },
  );
  count(name, report, r.status);
}

/**
 * The load test saturates both cores by design (200 jobs a minute on zfs-fuse); beside the OpenZFS
 * tier's tests it starved the emulated guest until its sshd missed the 10 s banner exchange and its
 * runner's lease expired (CI of f501a99; incremental-restore.test.ts timed out the same way the day
 * before). The two take turns, whichever is ready first runs first: `exclusively(f)` runs f once
 * everything queued before it is over.
 */
let exclusiveTail = Promise.resolve();
function exclusively(f) {
  const turn = exclusiveTail.then(f);
  exclusiveTail = turn.catch(() => undefined);
  return turn;
}

/**
 * A tier's vitest run: its projects (TIERS[tier].lanes) side by side, the first one unprefixed; a
 * lane's follower (TIERS[tier].after) runs once that lane is over, exclusively (above).
 */
async function vitestTier(tier, env = process.env, prefix) {
  const { lanes, after = {} } = TIERS[tier];
  const followers = [];
  const lane = async (project, i) => {
    await vitest(tier, { project, env, prefix: i ? `${prefix ?? ''}[${project}] ` : prefix });
    const next = after[project];
    if (next && !interrupted)
      followers.push(exclusively(() => timed(`${tier} ${next}`, () => vitest(tier, { project: next, env, prefix }))));
  };
  await timed(`tier ${tier}`, () => (lanes ? Promise.all(lanes.map(lane)) : vitest(tier, { env, prefix })));
  await Promise.all(followers);
}

// --- the run ----------------------------------------------------------------------------------------
let vmRunDir = null;
try {
  const packages = [process.env.LIFEBOAT_TEST_PACKAGES, tiers.includes('zfs-fuse') ? 'chromium' : ''].filter(Boolean).join(' ');
  const prov = await timed('provision', () =>
    run('bash', [join(root, 'scripts/provision-test-host.sh'), pidFile], {
      env: { ...process.env, LIFEBOAT_TEST_PACKAGES: packages },
    }),
  );
  if (prov.status !== 0) fail('test host provisioning failed: the real-ZFS, SSH, browser and OpenZFS VM suites cannot run');

  const selected = [];
  for (const t of tiers) {
    if (await tierMatches(t)) selected.push(t);
    else console.log(`[test] tier ${t}: no test file matches ${vitestArgs.join(' ')}; not run`);
  }
  if (!selected.length) fail(`no test file in tier(s) ${tiers.join(', ')} matches ${vitestArgs.join(' ')}`);

  // The server and runner bundles (what production runs, no TypeScript loader): the runners the
  // tests start use the runner bundle (node-runner/bin picks it while it is up to date), the OpenZFS
  // VM runs it with a plain node, and a test starts the server bundle.
  const bundles = await timed('server and runner bundles', () => run('npm', ['run', 'build:js', '--silent']));
  if (bundles.status !== 0) fail('the server and runner bundles (npm run build:js) failed');

  const zfsFuseTier = async () => {
    // The compiler over the control plane, the runner, the protocol and the tests, svelte-check over
    // the UI, eslint and prettier over everything (no error, no warning): each counts as one test.
    // Before the UI build, which also writes frontend/.svelte-kit.
    const tsc = await timed('type check', () => run('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']));
    if (tsc.status === 0) passed += 1;
    else fail('type check (tsc -p tsconfig.json --noEmit) failed');
    const svelte = await timed('svelte-check', () => run('npm', ['run', 'check', '--silent', '-w', 'frontend']));
    if (svelte.status === 0) passed += 1;
    else fail('svelte-check of the UI (npm run check -w frontend) failed');
    const lint = await timed('eslint', () => run('npm', ['run', 'lint', '--silent']));
    if (lint.status === 0) passed += 1;
    else fail('eslint (npm run lint) found problems');
    const format = await timed('prettier', () => run('npm', ['run', 'format:check', '--silent']));
    if (format.status === 0) passed += 1;
    else fail('prettier (npm run format:check): files are not formatted; npm run format fixes them');
    // Build the UI once so the browser suite tests what the server serves. Two vite builds at once
    // (another engineer's npm test in this tree) break each other: one at a time, under flock when present.
    const lock = join(tmp, 'frontend-build.lock');
    const hasFlock = (await run('flock', ['--version'], { capture: true })).status === 0;
    const build = await timed('frontend build', () =>
      hasFlock ? run('flock', [lock, 'npm', 'run', 'build', '--silent']) : run('npm', ['run', 'build', '--silent']),
    );
    if (build.status !== 0) fail('frontend build failed');
    if (!interrupted) await vitestTier('zfs-fuse');
  };

  const openzfsTier = async () => {
    // beside the zfs-fuse tier: its output behind a prefix; alone: as it is
    const prefix = selected.includes('zfs-fuse') ? '[openzfs] ' : undefined;
    const image = !interrupted ? await timed('OpenZFS VM build', () => run('bash', [vmScript, 'build'], { capture: true })) : null;
    if (image && image.status !== 0)
      fail(
        `the OpenZFS VM image could not be built (scripts/openzfs-vm.sh build exited ${image.status}; the reason is above): the OpenZFS tier did not run`,
      );
    if (image?.status === 0 && !interrupted) {
      // LIFEBOAT_OZVM_OWNER_PID: should this process die without its finally (SIGKILL), the VM stops itself.
      const boot = await timed('OpenZFS VM boot', () =>
        run('bash', [vmScript, 'start'], {
          capture: true,
          env: { ...process.env, LIFEBOAT_OZVM_OWNER_PID: String(process.pid) },
        }),
      );
      const vmJson = boot.stdout.trim().split('\n').pop();
      if (boot.status === 0 && vmJson && existsSync(vmJson)) {
        vmRunDir = JSON.parse(readFileSync(vmJson, 'utf8')).runDir;
        if (!interrupted) await exclusively(() => vitestTier('openzfs', { ...process.env, LIFEBOAT_OPENZFS_VM: vmJson }, prefix));
      } else {
        fail(
          `the OpenZFS VM did not boot (scripts/openzfs-vm.sh start exited ${boot.status}; the reason is above): the OpenZFS tier did not run`,
        );
      }
    }
  };

  // allSettled: the VM is stopped (finally) only once both tiers are over, whatever happened to one
  const outcomes = await Promise.allSettled([
    selected.includes('zfs-fuse') && !interrupted ? zfsFuseTier() : null,
    selected.includes('openzfs') && !interrupted ? openzfsTier() : null,
  ]);
  for (const o of outcomes) if (o.status === 'rejected') fail(`scripts/test.mjs: ${o.reason instanceof Error ? o.reason.stack : o.reason}`);
} catch (e) {
  fail(`scripts/test.mjs: ${e instanceof Error ? e.stack : e}`);
} finally {
  if (vmRunDir) {
    const stop = await timed('OpenZFS VM stop', () => run('bash', [vmScript, 'stop', vmRunDir]));
    if (stop.status !== 0) fail(`stopping the OpenZFS VM (run dir ${vmRunDir}) failed`);
  }
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    rmSync(pidFile, { force: true });
  }
}
if (interrupted) fail(`interrupted by ${interrupted}`);
console.log(`[test] times: ${times.join(', ')}`);
if (slowest.length)
  console.log(
    `[test] slowest files: ${slowest
      .sort((a, b) => b.s - a.s)
      .slice(0, 15)
      .map((f) => `${f.file} (${f.tier}) ${f.s.toFixed(1)} s`)
      .join(', ')}`,
  );
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
