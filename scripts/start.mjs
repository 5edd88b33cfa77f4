#!/usr/bin/env node
// npm start: make this machine able to run the whole system, then start it
// (API + web UI + local runner on the embedded file: DB; migrations apply on start).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { settingsHelp } from './settings.mjs';

const root = new URL('..', import.meta.url).pathname;

const HELP = `usage: npm start [-- --config FILE]

Starts the Lifeboat control plane (API + web UI) on an embedded libSQL file DB, with a local
runner for this machine. Provisions zfs-fuse on a machine without zfs (root, Debian) and builds
the web UI when it is missing. As a service, run the server bundle (packaging/, README).

Options (after npm start --):
  --config FILE   the config file (below) [LIFEBOAT_CONFIG]
  -h, --help      print this help and exit
  --version       print the version and exit

${settingsHelp(process.platform)}
`;
let opts;
try {
  opts = parseArgs({
    options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } },
    strict: true,
    allowPositionals: false,
  }).values;
} catch (e) {
  console.error(`npm start: ${e.message.split('. ')[0]}\n(npm start -- --help lists the options)`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (opts.version) {
  console.log(`lifeboat ${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}`);
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

// The server reads the config file itself (and exits 2 on a wrong one): the same code as a service's.
const serverArgs = opts.config !== undefined ? ['--config', opts.config] : [];
const server = spawn(process.execPath, [join(root, 'functions/dist/lifeboat-server.mjs'), ...serverArgs], { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.kill(sig));
server.on('exit', (code, sig) => process.exit(code ?? (sig ? 1 : 0)));
