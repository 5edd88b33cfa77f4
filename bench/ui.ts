// UI budget (issue 16's), measured in Debian's Chromium against the real Node entry serving
// frontend/build over a file DB seeded with BENCH_UI_JOBS hourly jobs (default 10,000) and
// BENCH_UI_EVENTS finished events (default 1,000,000), signed in with the admin password (a cookie
// session: the page asks GET /auth/session as well as its data):
// - initial JavaScript of each page: every script the browser loaded before the page's first
//   content was painted, gzip-compressed here (level 6, what a compressing proxy would send); budget 80 KB
// - navigation → first content painted of the Overview (its first job line), the Events page (its
//   first row) and the Jobs page (its first row), each against the sign-in form painted by the same
//   server and browser in the same run, cold cache, rounds interleaved; budget 1.5x for the Overview
//   and the Events page (the Jobs page is reported)
// - live pages: one event stream per tab and no request on a timer: the requests each live page
//   makes in the LIVE_WATCH_MS after it painted, counted by kind.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BrowserContext, Page } from 'playwright-core';
import { startBrowser, type TestBrowser } from '../tests/helpers/browser.ts';
import { startServer, type TestServer } from '../tests/helpers/server.ts';
import { copyUiBuild } from '../tests/helpers/ui-build.ts';
import { seedUiDb } from './ui-seed.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const EVENTS = Number(process.env.BENCH_UI_EVENTS ?? 1_000_000);
const JOBS = Number(process.env.BENCH_UI_JOBS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_UI_ROUNDS ?? 7);
const JS_BUDGET = 80 * 1024;
const RATIO_BUDGET = 1.5;
/** Longer than the slowest poll a page would fall back to (the Jobs page's 10 s). */
const LIVE_WATCH_MS = 12_000;
const PASSWORD = 'bench-ui-admin-password';

// [name, path, selector of the first content that counts as "shown"]
const PAGES = [
  ['sign-in', '/signin', '#password'],
  ['overview', '/', 'tbody td[data-label="Health"]'],
  ['targets', '/backups/targets', 'tbody td'],
  ['jobs', '/backups/jobs', 'tbody td[data-label="Name"]'],
  ['events', '/backups/events', 'tbody td[data-label="ID"]'],
  ['nodes', '/nodes', 'tbody td[data-label="Name"]'],
  ['settings', '/settings', 'h2'],
] as const;
const TIMED = [PAGES[1], PAGES[4], PAGES[3]];
const LIVE = [PAGES[1], PAGES[3], PAGES[4]];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const kb = (n: number) => (n / 1024).toFixed(1);

/** Sign the context in with the password, as the sign-in form does (the session cookie lands in its jar). */
async function signIn(context: BrowserContext, srv: TestServer) {
  const r = await context.request.post(`${srv.url}/api/v1/auth/login`, { data: { password: PASSWORD }, headers: { origin: srv.url } });
  if (!r.ok()) throw new Error(`sign-in: ${r.status()} ${await r.text()}`);
}

/**
 * A fresh context (cold cache) that is signed in unless told otherwise, with an observer that notes
 * when `selector` first matches and the frame after (painted), in ms since navigation start.
 */
async function open(browser: TestBrowser, srv: TestServer, selector: string, signedIn: boolean) {
  const { context, page, problems } = await browser.newPage(1280, 900);
  if (signedIn) await signIn(context, srv);
  // A string, not a function: tsx would wrap named inner functions in __name(), which the page lacks.
  await context.addInitScript(`(() => {
    const sel = ${JSON.stringify(selector)};
    const mo = new MutationObserver(() => {
      if (window.__shownAt !== undefined || !document.querySelector(sel)) return;
      window.__shownAt = performance.now();
      mo.disconnect();
      requestAnimationFrame(() => requestAnimationFrame(() => { window.__paintedAt = performance.now(); }));
    });
    mo.observe(document, { childList: true, subtree: true });
  })();`);
  return { context, page, problems };
}

async function painted(page: Page): Promise<number> {
  await page.waitForFunction(() => (window as unknown as { __paintedAt?: number }).__paintedAt !== undefined, null, { timeout: 120_000 });
  return page.evaluate(() => (window as unknown as { __paintedAt: number }).__paintedAt);
}

async function initialJs(browser: TestBrowser, srv: TestServer, inlineBytes: number) {
  const rows: { name: string; files: number; raw: number; gzip: number }[] = [];
  for (const [name, path, selector] of PAGES) {
    const { context, page, problems } = await open(browser, srv, selector, name !== 'sign-in');
    const scripts: { url: string; started: number; body: Promise<Buffer> }[] = [];
    page.on('response', (r) => {
      if (r.request().resourceType() === 'script') scripts.push({ url: r.url(), started: Date.now(), body: r.body() });
    });
    await page.goto(srv.url + path);
    await painted(page);
    const shownAt = Date.now();
    await page.waitForLoadState('load'); // not 'networkidle': a page following the event stream keeps it open
    const first = scripts.filter((s) => s.started <= shownAt);
    const bodies = await Promise.all(first.map((s) => s.body));
    const raw = bodies.reduce((n, b) => n + b.length, inlineBytes);
    const gzip = bodies.reduce((n, b) => n + gzipSync(b, { level: 6 }).length, inlineBytes);
    rows.push({ name, files: first.length, raw, gzip });
    if (problems.errors.length) throw new Error(`${path}: console errors: ${problems.errors.join('; ')}`);
    await context.close();
  }
  return rows;
}

async function timeTo(browser: TestBrowser, srv: TestServer, path: string, selector: string, signedIn: boolean) {
  const { context, page } = await open(browser, srv, selector, signedIn);
  const t0 = Date.now();
  await page.goto(srv.url + path, { waitUntil: 'commit' });
  const inPage = await painted(page); // since the navigation started (performance.timeOrigin)
  const wall = Date.now() - t0;
  await context.close();
  return { inPage, wall };
}

/** The API requests a live page makes: while it loads, and in LIVE_WATCH_MS after it painted. */
async function liveRequests(browser: TestBrowser, srv: TestServer, path: string, selector: string) {
  const { context, page } = await open(browser, srv, selector, true);
  const seen: { at: number; what: string }[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/'))
      seen.push({ at: Date.now(), what: `${r.method()} ${u.pathname.replace(/\/\d+(?=\/|$)/g, '/:id')}` });
  });
  await page.goto(srv.url + path);
  await painted(page);
  const paintedAt = Date.now();
  await page.waitForTimeout(LIVE_WATCH_MS);
  await context.close();
  const count = (xs: typeof seen) => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(x.what, (m.get(x.what) ?? 0) + 1);
    return [...m].map(([w, n]) => `${w} ×${n}`).join(', ') || 'none';
  };
  return {
    streams: seen.filter((x) => x.what === 'GET /api/v1/events/stream').length,
    loading: count(seen.filter((x) => x.at <= paintedAt)),
    after: count(seen.filter((x) => x.at > paintedAt && x.what !== 'GET /api/v1/events/stream')),
    afterCount: seen.filter((x) => x.at > paintedAt && x.what !== 'GET /api/v1/events/stream').length,
  };
}

export async function benchUi() {
  const index = join(ROOT, 'frontend/build/index.html');
  if (!existsSync(index)) {
    console.log('frontend/build is missing: building it (npm run build -w frontend)');
    const b = spawnSync('npm', ['run', 'build', '-w', 'frontend', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('frontend build failed');
  }
  const ui = await copyUiBuild();
  console.log(`measuring frontend/build of ${statSync(join(ui.dir, 'index.html')).mtime.toISOString()}`);
  const html = readFileSync(join(ui.dir, 'index.html'), 'utf8');
  const inlineBytes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].reduce((n, m) => n + gzipSync(m[1]).length, 0);

  const dataDir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-ui-'));
  let srv: TestServer | undefined;
  let browser: TestBrowser | undefined;
  try {
    const t0 = performance.now();
    await seedUiDb(dataDir, EVENTS, JOBS);
    srv = await startServer({
      LIFEBOAT_LOCAL_RUNNER: '0',
      LIFEBOAT_DATA_DIR: dataDir,
      LIFEBOAT_UI_DIR: ui.dir,
      LIFEBOAT_ADMIN_PASSWORD: PASSWORD,
    });
    const newest = (await srv.api('GET', '/events?limit=1')).body.items[0];
    browser = await startBrowser();
    console.log(
      `seeded ${JOBS} jobs and ${EVENTS} events (newest #${newest.id}) and started the server in ${((performance.now() - t0) / 1000).toFixed(1)} s; Chromium ${browser.browser.version()}; password session`,
    );

    const js = await initialJs(browser, srv, inlineBytes);
    console.log('\ninitial JavaScript (scripts loaded before first content was painted; gzip -6)');
    console.log(
      `${'page'.padEnd(10)} ${'files'.padStart(5)} ${'raw KB'.padStart(8)} ${'gzip KB'.padStart(8)}   budget ${kb(JS_BUDGET)} KB`,
    );
    for (const r of js)
      console.log(
        `${r.name.padEnd(10)} ${String(r.files).padStart(5)} ${kb(r.raw).padStart(8)} ${kb(r.gzip).padStart(8)}   ${r.gzip <= JS_BUDGET ? 'ok' : 'OVER'} (${((r.gzip / JS_BUDGET) * 100).toFixed(0)} %)`,
      );

    // Warm-up (server caches, Chromium's first process spawns), then alternate the measurements.
    await timeTo(browser, srv, '/signin', PAGES[0][2], false);
    for (const [, path, selector] of TIMED) await timeTo(browser, srv, path, selector, true);
    const base: number[] = [];
    const baseWall: number[] = [];
    const timed = TIMED.map(() => ({ inPage: [] as number[], wall: [] as number[] }));
    for (let i = 0; i < ROUNDS; i++) {
      const b = await timeTo(browser, srv, '/signin', PAGES[0][2], false);
      base.push(b.inPage);
      baseWall.push(b.wall);
      for (const [k, [, path, selector]] of TIMED.entries()) {
        const t = await timeTo(browser, srv, path, selector, true);
        timed[k].inPage.push(t.inPage);
        timed[k].wall.push(t.wall);
      }
    }
    const bm = median(base);
    const row = (name: string, xs: number[], wall: number[], extra: string) =>
      console.log(
        `${name.padEnd(40)} ${median(xs).toFixed(0).padStart(6)} ms ${Math.min(...xs)
          .toFixed(0)
          .padStart(6)} ms ${Math.max(...xs)
          .toFixed(0)
          .padStart(
            6,
          )} ms   ${(median(xs) / bm).toFixed(2).padStart(5)}x ${(Math.min(...xs) / Math.min(...base)).toFixed(2).padStart(5)}x   [${median(wall)} ms]${extra}`,
      );
    console.log(
      `\nload average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')} on ${cpus().length} CPUs (other work on this host slows both rows alike: compare the ratios)`,
    );
    console.log(
      `navigation → first content painted, cold cache, ${ROUNDS} rounds each, interleaved (in-page clock; [median wall clock incl. CDP])`,
    );
    console.log(`${''.padEnd(40)} ${'median'.padStart(9)} ${'min'.padStart(9)} ${'max'.padStart(9)}   ratio of medians / of mins`);
    row('baseline: sign-in form', base, baseWall, '');
    const ratios: Record<string, number> = {};
    for (const [k, [name]] of TIMED.entries()) {
      const ratio = median(timed[k].inPage) / bm;
      ratios[name] = ratio;
      const budget = name === 'jobs' ? '' : `   budget ${RATIO_BUDGET}x: ${ratio <= RATIO_BUDGET ? 'ok' : 'OVER'}`;
      row(`${name}, first row (${JOBS} jobs, ${EVENTS} events)`, timed[k].inPage, timed[k].wall, budget);
    }

    console.log(`\nlive pages: API requests while loading, and in the ${LIVE_WATCH_MS / 1000} s after the first paint (the stream apart)`);
    const live: Record<string, Awaited<ReturnType<typeof liveRequests>>> = {};
    for (const [name, path, selector] of LIVE) {
      const l = await liveRequests(browser, srv, path, selector);
      live[name] = l;
      console.log(
        `${name.padEnd(10)} streams ${l.streams} ${l.streams === 1 ? 'ok' : 'NOT ONE'}; after the paint: ${l.after} ${l.afterCount === 0 ? 'ok' : 'REQUESTS'}; while loading: ${l.loading}`,
      );
    }
    return { js, baselineMedianMs: bm, ratios, live };
  } finally {
    await browser?.stop();
    await srv?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    ui.remove();
  }
}
