// UI budget, measured in Debian's Chromium against the real Node entry serving
// frontend/build over a file DB seeded with 10,000 events:
// - initial JavaScript of each page: every script the browser loaded before the page's first
//   content was on screen, gzip-compressed here (level 6, what a compressing proxy would send); budget 150 KB
// - the Events page: navigation → first table row painted; budget 1 s. Baseline measured in the same
//   run: navigation → the sign-in form painted (same server, same browser, same cold cache).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { startBrowser, type TestBrowser } from '../tests/helpers/browser.ts';
import { startServer, type TestServer } from '../tests/helpers/server.ts';
import { copyUiBuild } from '../tests/helpers/ui-build.ts';
import { seedUiDb } from './ui-seed.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const EVENTS = Number(process.env.BENCH_UI_EVENTS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_UI_ROUNDS ?? 9);
const JS_BUDGET = 150 * 1024;
const EVENTS_BUDGET_MS = 1000;
const TOKEN_KEY = 'lifeboat.adminToken';

// [name, path, selector of the first content that counts as "shown"]
const PAGES = [
  ['sign-in', '/signin', '#token'],
  ['targets', '/backups/targets', 'tbody td'],
  ['jobs', '/backups/jobs', 'tbody td[data-label="Name"]'],
  ['events', '/backups/events', 'tbody td[data-label="ID"]'],
  ['nodes', '/nodes', 'tbody td[data-label="Name"]'],
] as const;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const kb = (n: number) => (n / 1024).toFixed(1);

/**
 * A fresh context (cold cache, own sessionStorage) that is signed in unless told otherwise, with an
 * observer that notes when `selector` first matches and the frame after (painted), in ms since navigation start.
 */
async function open(browser: TestBrowser, srv: TestServer, selector: string, signedIn: boolean) {
  const { context, page, problems } = await browser.newPage(1280, 900);
  if (signedIn) await context.addInitScript(([k, t]) => sessionStorage.setItem(k, t), [TOKEN_KEY, srv.admin]);
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
  await page.waitForFunction(() => (window as unknown as { __paintedAt?: number }).__paintedAt !== undefined, null, { timeout: 30_000 });
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
    await seedUiDb(dataDir, EVENTS);
    srv = await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_DATA_DIR: dataDir, LIFEBOAT_UI_DIR: ui.dir });
    const newest = (await srv.api('GET', '/events?limit=1')).body.items[0];
    browser = await startBrowser();
    console.log(
      `seeded ${EVENTS} events (newest #${newest.id}) and started the server in ${((performance.now() - t0) / 1000).toFixed(1)} s; Chromium ${browser.browser.version()}`,
    );

    const js = await initialJs(browser, srv, inlineBytes);
    console.log('\ninitial JavaScript (scripts loaded before first content was painted; gzip -6)');
    console.log(`${'page'.padEnd(10)} ${'files'.padStart(5)} ${'raw KB'.padStart(8)} ${'gzip KB'.padStart(8)}   budget 150 KB`);
    for (const r of js)
      console.log(
        `${r.name.padEnd(10)} ${String(r.files).padStart(5)} ${kb(r.raw).padStart(8)} ${kb(r.gzip).padStart(8)}   ${r.gzip <= JS_BUDGET ? 'ok' : 'OVER'} (${((r.gzip / JS_BUDGET) * 100).toFixed(0)} %)`,
      );

    // Warm-up (server caches, Chromium's first process spawns), then alternate the two measurements.
    await timeTo(browser, srv, '/signin', '#token', false);
    await timeTo(browser, srv, '/backups/events', 'tbody td[data-label="ID"]', true);
    const base: number[] = [];
    const events: number[] = [];
    const baseWall: number[] = [];
    const eventsWall: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const b = await timeTo(browser, srv, '/signin', '#token', false);
      const e = await timeTo(browser, srv, '/backups/events', 'tbody td[data-label="ID"]', true);
      base.push(b.inPage);
      baseWall.push(b.wall);
      events.push(e.inPage);
      eventsWall.push(e.wall);
    }
    const bm = median(base);
    const em = median(events);
    const row = (name: string, xs: number[], wall: number[], extra: string) =>
      console.log(
        `${name.padEnd(40)} ${median(xs).toFixed(0).padStart(6)} ms ${Math.min(...xs)
          .toFixed(0)
          .padStart(6)} ms ${Math.max(...xs)
          .toFixed(0)
          .padStart(
            6,
          )} ms   ${(median(xs) / bm).toFixed(1).padStart(4)}x ${(Math.min(...xs) / Math.min(...base)).toFixed(1).padStart(5)}x   [${median(wall)} ms]${extra}`,
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
    row(
      `events page, first row of ${EVENTS} events`,
      events,
      eventsWall,
      `   budget 1000 ms: median ${em <= EVENTS_BUDGET_MS ? 'ok' : 'OVER'}, max ${Math.max(...events) <= EVENTS_BUDGET_MS ? 'ok' : 'over'}`,
    );
    return { js, eventsMedianMs: em, eventsMaxMs: Math.max(...events), baselineMedianMs: bm };
  } finally {
    await browser?.stop();
    await srv?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    ui.remove();
  }
}
