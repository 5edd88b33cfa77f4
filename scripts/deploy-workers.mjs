#!/usr/bin/env node
// npm run deploy:workers [-- --dry-run] [--ui-dir DIR] [--config FILE]: the control plane and the
// web UI to Cloudflare Workers + D1, as wrangler.toml describes (README, "On Cloudflare Workers").
// The paths come from the config: `main` and `assets.directory` are written here.
//   1. the UI (npm run build -w frontend; --ui-dir DIR takes a built UI as it is), copied to
//      assets.directory with a _headers file: the Node server's security headers
//   2. the Worker bundle at `main` (buildWorkerBundle, scripts/build-bundles.mjs)
//   3. --dry-run: `wrangler deploy --dry-run --outdir <tmp>`: checks the config and the bundle, and
//      `wrangler d1 migrations apply DB --local` into <tmp>/local-d1: no account and no network to
//      Cloudflare. Otherwise: `wrangler d1 migrations apply DB --remote` first, then `wrangler
//      deploy`: the new code never runs on the old schema (for the seconds between the two, the old
//      Worker runs on the new one; README, "On Cloudflare Workers").
// Any wrangler warning about the config (an unknown field) fails the run, as an error does.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { stripVTControlCharacters } from 'node:util';
import { basename, dirname, join, resolve } from 'node:path';
import { tsImport } from 'tsx/esm/api';
import { unstable_readConfig } from 'wrangler';
import { buildWorkerBundle } from './build-bundles.mjs';

const root = new URL('..', import.meta.url).pathname;
/** wrangler.toml's database_id until the operator puts theirs in (README, "On Cloudflare Workers"). */
const PLACEHOLDER_DB_ID = '00000000-0000-0000-0000-000000000000';

class DeployError extends Error {}

function run(cmd, args, { capture = false } = {}) {
  // Wrangler's usage telemetry goes to Cloudflare: off (a dry run talks to no one).
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', encoding: 'utf8' });
  if (capture) {
    process.stdout.write(r.stdout ?? '');
    process.stderr.write(r.stderr ?? '');
  }
  if (r.error) throw new DeployError(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new DeployError(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
  return `${r.stdout ?? ''}${r.stderr ?? ''}`;
}

const wrangler = (args, opts) => run(process.execPath, [join(root, 'node_modules/wrangler/bin/wrangler.js'), ...args], opts);

/** The built UI beside the Worker, with the headers the Node entry sets on it (functions/src/headers.ts). */
async function stageAssets(uiDir, assetsDir) {
  const indexFile = join(uiDir, 'index.html');
  if (!existsSync(indexFile)) throw new DeployError(`${indexFile} is missing: build the UI (npm run build)`);
  const { securityHeaderValues } = await tsImport('../functions/src/headers.ts', import.meta.url);
  const headers = await securityHeaderValues(readFileSync(indexFile, 'utf8'));
  rmSync(assetsDir, { recursive: true, force: true });
  cpSync(uiDir, assetsDir, { recursive: true });
  const titleCase = (name) => name.replace(/(^|-)[a-z]/g, (m) => m.toUpperCase()); // content-type → Content-Type
  const lines = ['/*', ...Object.entries(headers).map(([k, v]) => `  ${titleCase(k)}: ${v}`)];
  // hashed build files never change under their name (as the Node entry serves them)
  lines.push('/_app/immutable/*', '  Cache-Control: public, max-age=31536000, immutable');
  writeFileSync(join(assetsDir, '_headers'), lines.join('\n') + '\n');
}

/** --dry-run, --ui-dir DIR, --config FILE (default: wrangler.toml at the repo root). */
export function parseArgs(argv) {
  const o = { dryRun: false, uiDir: null, config: join(root, 'wrangler.toml') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--dry-run') o.dryRun = true;
    else if ((a === '--ui-dir' || a === '--config') && argv[i + 1] !== undefined)
      o[a === '--ui-dir' ? 'uiDir' : 'config'] = resolve(argv[++i]);
    else throw new DeployError(`unknown option or missing value: ${a} (options: --dry-run, --ui-dir DIR, --config FILE)`);
  }
  return o;
}

export async function deployWorkers(argv) {
  const { dryRun, uiDir, config: configPath } = parseArgs(argv);
  if (!existsSync(configPath)) throw new DeployError(`${configPath} is missing`);
  const config = unstable_readConfig({ config: configPath }, { hideWarnings: true });
  if (!config.main || !config.assets?.directory) throw new DeployError(`${configPath}: needs main and [assets] directory`);
  const db = config.d1_databases.find((d) => d.binding === 'DB');
  if (!db) throw new DeployError(`${configPath}: needs a [[d1_databases]] with binding = "DB"`);
  if (!dryRun && db.database_id === PLACEHOLDER_DB_ID) {
    throw new DeployError(
      `${configPath}: put the database_id of \`npx wrangler d1 create ${db.database_name}\` in place of the zeros first`,
    );
  }
  if (!uiDir) run('npm', ['run', 'build', '-w', 'frontend']);
  await stageAssets(uiDir ?? join(root, 'frontend/build'), resolve(dirname(configPath), config.assets.directory));
  await buildWorkerBundle(resolve(dirname(configPath), config.main));
  const c = ['--config', configPath];
  if (dryRun) {
    const out = mkdtempSync(join(tmpdir(), 'lifeboat-deploy-'));
    try {
      const log = wrangler(['deploy', '--dry-run', '--outdir', out, ...c], { capture: true });
      if (/\[WARNING\]/.test(stripVTControlCharacters(log))) throw new DeployError(`wrangler warned about ${configPath} (above): fix it`);
      if (!existsSync(join(out, basename(config.main)))) throw new DeployError(`wrangler wrote no Worker to ${out}`);
      // the migrations as D1 takes them, on a throwaway local D1 (D1 refuses some SQL libSQL takes)
      wrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', join(out, 'local-d1'), ...c]);
    } catch (e) {
      rmSync(out, { recursive: true, force: true });
      throw e;
    }
    console.log(`deploy-workers: dry run passed; the Worker as it would be uploaded is in ${out}`);
    return out;
  }
  wrangler(['d1', 'migrations', 'apply', 'DB', '--remote', ...c]);
  wrangler(['deploy', ...c]);
  return null;
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  deployWorkers(process.argv.slice(2)).catch((e) => {
    console.error(`deploy-workers: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
