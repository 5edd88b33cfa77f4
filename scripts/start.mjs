#!/usr/bin/env node
// npm start: make this machine able to run the whole system, then start it
// (API + web UI + local runner on the embedded file: DB; migrations apply on start).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

const HELP = `usage: npm start [-- --help]

Starts the Lifeboat control plane (API + web UI) on an embedded libSQL file DB, with a local
runner for this machine. Provisions zfs-fuse on a machine without zfs (root, Debian) and builds
the web UI when it is missing. Settings are environment variables (README, Configuration):

server
  LIFEBOAT_DATA_DIR              data directory (DB, generated secrets)          ./data
  LIFEBOAT_DB_URL                libSQL URL                                      file:<data dir>/lifeboat.db
  LIFEBOAT_DB_AUTH_TOKEN         auth token of a remote libSQL database          -
  LIFEBOAT_HOST, LIFEBOAT_PORT   listen address                                  127.0.0.1, 8480
  LIFEBOAT_PUBLIC_URL            URL shown in join commands and webhook URLs     http://<host>:<port>
  LIFEBOAT_ALLOWED_HOSTS         host names answered (others: 403)               listen, loopback, public URL host
  LIFEBOAT_ADMIN_TOKEN           admin API token                                 generated into <data dir>/admin-token
  LIFEBOAT_SECRET_KEY            key for secrets at rest                         generated into <data dir>/secret.key
  LIFEBOAT_ADMIN_PASSWORD        first admin password (while none is set)        -
  LIFEBOAT_TZ                    default time zone of new schedules              UTC
  LIFEBOAT_UI_DIR                the built web UI                                frontend/build
  LIFEBOAT_EVENTS_KEEP_PER_JOB   newest events kept of each job                  200
  LIFEBOAT_EVENTS_KEEP_FAILED_DAYS  failures kept this long beyond that          30
  LIFEBOAT_EVENTS_MAX_AGE_DAYS   completed events kept this long                 90
  LIFEBOAT_EVENTS_MAX_ROWS       completed events kept at most (safety net)      1000000
  LIFEBOAT_CLAIM_WAIT_MS         a runner's claim is held this long              5000
  LIFEBOAT_CLAIM_RECHECK_MS      a held claim re-checks the DB this often        100
  LIFEBOAT_LEASE_MS              a silent runner's event becomes interrupted     30000
  LIFEBOAT_JOIN_TOKEN_TTL_MS     lifetime of join tokens                         3600000
  LIFEBOAT_SESSION_TTL_HOURS     lifetime of a browser sign-in                   12
  LIFEBOAT_LOGIN_MAX_FAILURES    failed sign-ins per client per window           5
  LIFEBOAT_LOGIN_WINDOW_MINUTES  that window                                     15
  LIFEBOAT_TRUST_PROXY           1: trust X-Forwarded-* from a reverse proxy     off
  LIFEBOAT_NOTIFY_NODE_SILENT_MINUTES  notify when a node is silent this long  10
  LIFEBOAT_NOTIFY_INTERVAL_SECONDS     how often notifications are evaluated and sent  30

local runner (it gets these, never the server's secrets)
  LIFEBOAT_LOCAL_RUNNER          0: no local runner                              1
  LIFEBOAT_NODE_NAME             node name when it joins                         host name
  LIFEBOAT_RUNNER_POOLS          report only these pools (a,b)                   all
  LIFEBOAT_RUNNER_CONCURRENCY    events run at once                              2
  LIFEBOAT_RUNNER_MANIFEST       manifest guest provider (JSON file)             -
  LIFEBOAT_RUNNER_JAIL_CONF      FreeBSD jail provider (jail.conf)               -
  LIFEBOAT_RUNNER_JAIL_CONF_DIR  its jail.conf.d                                 <jail.conf dir>/jail.conf.d
  LIFEBOAT_RUNNER_VM_DIR         vm-bhyve provider (vm_dir)                      -
  LIFEBOAT_RUNNER_INVENTORY_MS   inventory refresh interval                      30000
  LIFEBOAT_RUNNER_SSH_WARM       warm SSH connections kept between backups       4 (0: off)
  LIFEBOAT_RUNNER_SSH_WARM_IDLE_S idle lifetime of one (s)                  60
  LIFEBOAT_RUNNER_STREAMS        small incrementals of a backup sent at once     4 (1-16)
  (a standalone runner also reads LIFEBOAT_SERVER, LIFEBOAT_JOIN_TOKEN, LIFEBOAT_RUNNER_STATE_DIR)
`;
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}
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

// The server and the runner run as bundles (no TypeScript loader in production): built when missing
// or older than their sources; a tree without dev dependencies must ship them built (npm run build:js).
try {
  const { buildBundles } = await import('./build-bundles.mjs');
  await buildBundles({ ifStale: true });
} catch (e) {
  if (!existsSync(join(root, 'functions/dist/lifeboat-server.mjs'))) {
    console.error(
      `[lifeboat] cannot build the server bundle (${e.message}); run npm run build:js where the dev dependencies are installed`,
    );
    process.exit(1);
  }
  console.error(`[lifeboat] warning: the bundles could not be rebuilt (${e.message}); starting the ones there are`);
}

const server = spawn(process.execPath, [join(root, 'functions/dist/lifeboat-server.mjs')], { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.kill(sig));
server.on('exit', (code, sig) => process.exit(code ?? (sig ? 1 : 0)));
