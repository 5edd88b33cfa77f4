// wrangler.toml as written: `npm run deploy:workers -- --dry-run` accepts it and writes the Worker,
// `wrangler d1 migrations apply --local` builds the schema from drizzle/migrations, and the Worker
// that config describes (wrangler's own translation to miniflare options) serves the built UI as
// static assets and the API from the app, on that D1. No account, no network to Cloudflare.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Miniflare } from 'miniflare';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyUiBuild } from '../helpers/ui-build.ts';

const root = new URL('../..', import.meta.url).pathname;
const ADMIN = 'lba_deploy_admin';
// Each test runs whole builds (esbuild, wrangler, a local D1): on the 2-core CI box beside the
// zfs-fuse suites and the OpenZFS VM, one took more than 120 s. The timeout only catches a hang.
const HANG_GUARD = 600_000;
let work: string;
let ui: { dir: string; remove: () => void };

/** A command's exit status and output (never throws on a non-zero exit). */
function runNode(args: string[]): Promise<{ code: number; out: string }> {
  const env = { ...process.env, CI: '1' }; // wrangler's settings: beforeAll
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}
const WRANGLER = join(root, 'node_modules/wrangler/bin/wrangler.js');
const wrangler = (...args: string[]) => runNode([WRANGLER, ...args, '--config', join(work, 'wrangler.toml')]);
const deploy = (...args: string[]) => runNode([join(root, 'scripts/deploy-workers.mjs'), ...args]);

beforeAll(async () => {
  // The repo's wrangler.toml in a directory of its own: the paths in it (the bundle, the assets)
  // are relative to it, so this test never writes functions/dist of the tree.
  work = mkdtempSync(join(tmpdir(), 'lifeboat-deploy-test-'));
  // wrangler (the commands, and its functions called here) keeps its logs and its settings in
  // here, not in $HOME; usage telemetry off. Set before wrangler is imported: it reads them then.
  process.env.WRANGLER_LOG_PATH = join(work, 'logs');
  process.env.XDG_CONFIG_HOME = join(work, 'config');
  process.env.WRANGLER_SEND_METRICS = 'false';
  writeFileSync(join(work, 'wrangler.toml'), readFileSync(join(root, 'wrangler.toml')));
  symlinkSync(join(root, 'drizzle'), join(work, 'drizzle'));
  ui = await copyUiBuild();
}, HANG_GUARD);

afterAll(() => {
  ui?.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('deploy:workers', () => {
  it(
    '--dry-run builds the bundle and the assets, and wrangler accepts the config',
    async () => {
      const r = await deploy('--dry-run', '--ui-dir', ui.dir, '--config', join(work, 'wrangler.toml'));
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain('env.DB (lifeboat)');
      expect(r.out).toContain('env.ASSETS');
      // and the migrations applied to a throwaway local D1, the newest one included
      const newest = readdirSync(join(root, 'drizzle/migrations'))
        .filter((f) => f.endsWith('.sql'))
        .sort()
        .at(-1)!;
      expect(r.out).toMatch(new RegExp(`${newest.replace('.', '\\.')}\\s*│\\s*✅`));
      const outdir = /the Worker as it would be uploaded is in (\S+)/.exec(r.out)?.[1];
      expect(outdir, r.out).toBeTruthy();
      try {
        expect(readFileSync(join(outdir!, 'lifeboat-worker.mjs'), 'utf8')).toContain('export {');
      } finally {
        rmSync(outdir!, { recursive: true, force: true });
      }
      const assets = join(work, 'functions/dist/worker-assets');
      expect(readFileSync(join(assets, 'index.html'), 'utf8')).toBe(readFileSync(join(ui.dir, 'index.html'), 'utf8'));
      expect(readFileSync(join(assets, '_headers'), 'utf8')).toMatch(
        /^\/\*\n {2}Content-Security-Policy: default-src 'self'; script-src 'self' 'sha256-/,
      );
    },
    HANG_GUARD,
  );

  it(
    'fails loudly on a config wrangler only warns about, and on options it does not know',
    async () => {
      const bad = readFileSync(join(work, 'wrangler.toml'), 'utf8').replace('binding = "ASSETS"', 'binding = "ASSETS"\nbogus_field = 1');
      writeFileSync(join(work, 'bad.toml'), bad);
      const r = await deploy('--dry-run', '--ui-dir', ui.dir, '--config', join(work, 'bad.toml'));
      expect(r.code).toBe(1);
      expect(r.out).toContain('bogus_field');
      expect(r.out).toContain('deploy-workers: wrangler warned about');
      const u = await deploy('--dry-run', '--outdir');
      expect(u.code).toBe(1);
      expect(u.out).toContain('unknown option or missing value: --outdir');
    },
    HANG_GUARD,
  );

  it('refuses a real deploy while database_id is the placeholder', async () => {
    const r = await deploy('--ui-dir', ui.dir, '--config', join(work, 'wrangler.toml'));
    expect(r.code).toBe(1);
    expect(r.out).toContain('in place of the zeros');
  });
});

describe('the Worker wrangler.toml describes, on a local D1 migrated by wrangler', () => {
  let mf: Miniflare;
  const persist = () => join(work, 'state');

  beforeAll(async () => {
    mkdirSync(persist(), { recursive: true });
    const r = await wrangler('d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist());
    expect(r.code, r.out).toBe(0);
    if (!existsSync(join(work, 'functions/dist/worker/lifeboat-worker.mjs'))) {
      const b = await deploy('--dry-run', '--ui-dir', ui.dir, '--config', join(work, 'wrangler.toml'));
      expect(b.code, b.out).toBe(0);
    }
    const { unstable_getMiniflareWorkerOptions } = await import('wrangler');
    const { workerOptions, main } = unstable_getMiniflareWorkerOptions(join(work, 'wrangler.toml'));
    expect(main).toBe(join(work, 'functions/dist/worker/lifeboat-worker.mjs'));
    mf = new Miniflare({
      ...(workerOptions as object),
      name: 'lifeboat',
      modules: true,
      scriptPath: main!,
      modulesRoot: join(work, 'functions/dist/worker'),
      // what `wrangler secret put` gives the deployed Worker
      bindings: { LIFEBOAT_ADMIN_TOKEN: ADMIN, LIFEBOAT_SECRET_KEY: 'deploy-test-secret' },
      // where `wrangler d1 ... --persist-to` keeps local D1 databases
      d1Persist: join(persist(), 'v3', 'd1'),
    });
  }, HANG_GUARD);

  afterAll(async () => {
    await mf?.dispose();
  });

  it(
    'migrations apply --local creates every table and records every migration',
    async () => {
      const q = await wrangler(
        'd1',
        'execute',
        'DB',
        '--local',
        '--persist-to',
        persist(),
        '--json',
        '--command',
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name; SELECT name FROM d1_migrations ORDER BY id",
      );
      expect(q.code, q.out).toBe(0);
      const [tables, applied] = JSON.parse(q.out.slice(q.out.indexOf('['))) as { results: { name: string }[] }[];
      expect(tables.results.map((t) => t.name)).toEqual(expect.arrayContaining(['d1_migrations', 'events', 'jobs', 'nodes', 'targets']));
      const files = readdirSync(join(root, 'drizzle/migrations'))
        .filter((f) => f.endsWith('.sql'))
        .sort();
      expect(applied.results.map((m) => m.name)).toEqual(files);
    },
    HANG_GUARD,
  );

  it('serves the UI as static assets with the security headers, and its SPA fallback', async () => {
    const index = readFileSync(join(ui.dir, 'index.html'), 'utf8');
    const home = await mf.dispatchFetch('http://lifeboat.test/');
    expect(home.status).toBe(200);
    expect(await home.text()).toBe(index);
    expect(home.headers.get('content-security-policy')).toMatch(/script-src 'self' 'sha256-/);
    expect(home.headers.get('x-frame-options')).toBe('DENY');
    // a page of the SPA the browser navigates to directly: index.html, the UI routes it
    const page = await mf.dispatchFetch('http://lifeboat.test/jobs/7', { headers: { 'sec-fetch-mode': 'navigate', accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(index);
    const asset = readdirSync(join(ui.dir, '_app/immutable/entry'))[0];
    const js = await mf.dispatchFetch(`http://lifeboat.test/_app/immutable/entry/${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    await js.arrayBuffer();
  });

  it('routes /api/* to the app on the migrated D1, even for a browser navigation', async () => {
    const health = await mf.dispatchFetch('http://lifeboat.test/api/v1/health');
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toContain('application/json');
    await health.arrayBuffer();
    const missing = await mf.dispatchFetch('http://lifeboat.test/api/v1/jobs', {
      headers: { 'sec-fetch-mode': 'navigate', accept: 'text/html' },
    });
    expect(missing.status).toBe(401); // the app's answer (no credentials), not the SPA's index.html
    expect(missing.headers.get('content-type')).toContain('application/json');
    await missing.arrayBuffer();
    const auth = { authorization: `Bearer ${ADMIN}` };
    const jt = await mf.dispatchFetch('http://lifeboat.test/api/v1/nodes/join-tokens', { method: 'POST', headers: auth });
    expect(jt.status, await jt.clone().text()).toBe(201);
    await jt.arrayBuffer();
    const jobs = await mf.dispatchFetch('http://lifeboat.test/api/v1/jobs', { headers: auth });
    expect(jobs.status).toBe(200);
    expect(((await jobs.json()) as { items: unknown[] }).items).toEqual([]);
    const worker = (await mf.getWorker('lifeboat')) as unknown as { scheduled: (o: { cron: string }) => Promise<{ outcome: string }> };
    expect((await worker.scheduled({ cron: '* * * * *' })).outcome).toBe('ok');
  });
});
