// The Overview (the home page) and tables that fit (issue 16, points 1 and 4), in Debian's Chromium
// against the real Node entry (no local runner, no ZFS: the test speaks for two joined nodes). A
// seeded state has a job in each health state, a failure, a running backup, a node offline and a
// target not ready; then every page is checked at 1280×800 (light and dark) and 390×844: no
// sideways scrolling, row actions reachable, screenshots in test-artifacts/ui/.
// Needs `npm run build -w frontend` (npm test does it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@libsql/client';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { ConsoleProblems, TestBrowser } from '../helpers/browser.ts';
import { TEST_KEY } from '../helpers/control.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { expectNoSidewaysScroll, flowSteps, openBrowser, settled, shot, uiBuild } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

let srv: TestServer;
let browser: TestBrowser;
let page: Page;
let problems: ConsoleProblems;
const ids: Record<string, number> = {};
let runningEvent: number;
let failedEvent: number;
let validateEvent: number;

const teardown = new Teardown();

/** A runner's call with a node token. */
async function runner(token: string, path: string, body: unknown) {
  const r = await fetch(`${srv.url}/api/v1${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(r.status, `${path}: ${await r.clone().text()}`).toBeLessThan(300);
  return (await r.json()) as Record<string, unknown>;
}

async function joinNode(name: string) {
  const jt = await srv.api('POST', '/nodes/join-tokens');
  const r = await fetch(`${srv.url}/api/v1/runner/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ joinToken: jt.body.token, name }),
  });
  expect(r.status).toBe(201);
  const { nodeId, nodeToken } = (await r.json()) as { nodeId: number; nodeToken: string };
  await runner(nodeToken, '/runner/inventory', {
    zfsVersion: 'zfs-2.2.4',
    capabilities: { resumableRecv: true },
    pools: ['tank'],
    datasets: [{ name: 'tank' }, { name: 'tank/data' }, { name: 'tank/vm' }],
    guests: [],
  });
  return { id: nodeId, token: nodeToken };
}

beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  // a long lease: the running backup stays running while nobody reports for it
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_UI_DIR: uiDir, LIFEBOAT_LEASE_MS: '3600000' }));
  const edge = await joinNode('edge');
  const spare = await joinNode('spare');
  const target = await srv.api('POST', '/targets', {
    name: 'offsite',
    sshHost: '192.0.2.10',
    sshPrivateKey: TEST_KEY,
    backupRoot: 'tank/backups',
  });
  expect(target.status).toBe(201);
  const targetId = target.body.id;
  // offsite is ready from edge (a validation that succeeded); never validated from spare
  const v = await srv.api('POST', `/targets/${targetId}/validate`, { nodeId: edge.id });
  validateEvent = v.body.eventId;
  await runner(edge.token, '/runner/claim', { max: 1, waitMs: 0 });
  await runner(edge.token, `/runner/events/${validateEvent}/finish`, {
    status: 'success',
    result: { hostKey: '[192.0.2.10]:22 ssh-ed25519 AAAAC3', fingerprint: 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' },
  });
  const pinned = await srv.api('POST', `/targets/${targetId}/host-key/confirm`, {
    fingerprint: 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
  });
  expect(pinned.status).toBe(200);

  const job = async (name: string, over: Record<string, unknown> = {}) => {
    const r = await srv.api('POST', '/jobs', { name, targetId, nodeId: edge.id, mode: 'dataset', source: 'tank/data', ...over });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    ids[name] = r.body.id;
  };
  // No schedules (a due run would be claimed in between); each an RPO of an hour
  for (const name of ['good', 'broken', 'late', 'paused', 'busy']) await job(name, { rpoSeconds: 3600 });
  await srv.api('PATCH', `/jobs/${ids.paused}`, { enabled: false });

  // What only time makes: late was created two hours ago (past its RPO of one), spare has been
  // silent for an hour; and a history long enough for two pages of events (two days old, older
  // ids than the runs below).
  const db = createClient({ url: `file:${join(srv.dataDir, 'lifeboat.db')}` });
  try {
    const now = Date.now();
    const base = now - 2 * 86_400_000;
    await db.execute({ sql: 'UPDATE jobs SET created_at = ? WHERE id = ?', args: [now - 2 * 3600_000, ids.late] });
    await db.execute({ sql: 'UPDATE nodes SET last_seen_at = ? WHERE id = ?', args: [now - 3600_000, spare.id] });
    await db.execute({
      sql: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
            INSERT INTO events (kind, job_id, job_name, node_id, target_id, trigger, status, bytes_done, created_at, started_at, finished_at)
            SELECT 'backup', ?, 'good', ?, ?, 'schedule', 'success', 1048576 * i, ? + i * 60000, ? + i * 60000, ? + i * 60000 + 95000 FROM n`,
      args: [ids.good, edge.id, targetId, base, base, base],
    });
  } finally {
    db.close();
  }

  /** Run Now, claim, finish as a runner would. */
  const run = async (name: string, status: 'success' | 'failed', result: Record<string, unknown> | null = null) => {
    const id = (await srv.api('POST', `/jobs/${ids[name]}/run`)).body.eventId;
    await runner(edge.token, '/runner/claim', { max: 1, waitMs: 0 });
    await runner(edge.token, `/runner/events/${id}/finish`, {
      status,
      result,
      error: status === 'failed' ? 'cannot open tank/data' : null,
    });
    return id;
  };
  const snap = (name: string, createdAt: string, used: number, referenced: number) => ({
    name,
    guid: String(used),
    createtxg: '1',
    createdAt,
    usedBytes: used,
    referencedBytes: referenced,
    jobId: ids.good,
    generation: 1,
  });
  const newest = `lb_j${ids.good}_20261130T120000Z`;
  await run('good', 'success', {
    generation: 1,
    snapshot: newest,
    bytesSent: 4096,
    catalog: [
      {
        dataset: `tank/backups/j${ids.good}/g1/tank/data`,
        jobId: ids.good,
        generation: 1,
        source: 'tank/data',
        guest: null,
        snapshots: [
          snap(`lb_j${ids.good}_20261130T110000Z`, '2026-11-30T11:00:00Z', 1024, 9 * 1024),
          snap(newest, '2026-11-30T12:00:00Z', 1024, 10 * 1024 * 1024),
        ],
      },
    ],
  });
  failedEvent = await run('broken', 'failed');
  // busy's backup runs now, a quarter done
  runningEvent = (await srv.api('POST', `/jobs/${ids.busy}/run`)).body.eventId;
  await runner(edge.token, '/runner/claim', { max: 1, waitMs: 0 });
  await runner(edge.token, `/runner/events/${runningEvent}/progress`, {
    phase: 'transferring',
    bytesDone: 256 * 1024 * 1024,
    bytesTotal: 1024 * 1024 * 1024,
    rateBps: 50 * 1024 * 1024,
  });

  ({ browser, page, problems } = await openBrowser(teardown));
  await page.setViewportSize({ width: 1280, height: 800 });
}, 120_000);

afterAll(() => teardown.run(), 60_000);

const step = flowSteps(60_000);
const jobRow = (name: string) => page.locator('#jobs tbody tr').filter({ has: page.getByRole('link', { name, exact: true }) });

describe('Overview', () => {
  step('signing in lands on the Overview: a line per job, worst first, with health, last backup, next run and size', async () => {
    await page.goto(srv.url + '/signin');
    await page.getByLabel('Admin API token').fill(srv.admin);
    await page.getByLabel('Admin API token').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    await page.locator('#jobs tbody tr').first().waitFor();
    const rows = await page
      .locator('#jobs tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [tr.querySelector('td[data-label="Job"] a')?.textContent?.trim(), tr.querySelector('.badge')?.textContent?.trim()]),
      );
    expect(rows).toEqual([
      ['broken', 'Failing'],
      ['late', 'Overdue'],
      ['busy', 'OK'],
      ['good', 'OK'],
      ['paused', 'Disabled'],
    ]);
    const good = jobRow('good');
    expect(await good.locator('td[data-label="Last success"]').innerText()).toMatch(
      /^(just now|\d+ (seconds?|minutes?) ago)\s+\d{1,2} \w{3} \d{4} \d\d:\d\d UTC$/,
    );
    expect(await good.locator('td[data-label="Last backup"]').innerText()).toMatch(/Success\s+\d+ s · 4\.00 KiB/);
    // the newest snapshot's referenced bytes plus each snapshot's used bytes: 10 MiB + 2 KiB
    expect(await good.locator('td[data-label="On target"]').innerText()).toBe('10.0 MiB');
    expect(await good.locator('td[data-label="Next run"]').innerText()).toBe('manual only');
    expect(await jobRow('broken').innerText()).toMatch(/the last backup failed/);
    expect(await jobRow('late').innerText()).toMatch(/no successful backup yet/);
    expect(await jobRow('busy').getByRole('link', { name: 'running' }).getAttribute('href')).toBe(`/backups/events?open=${runningEvent}`);
    expect(await good.getByRole('link', { name: 'good', exact: true }).getAttribute('href')).toBe(`/backups/jobs#job-${ids.good}`);
    expect(await good.getByRole('link', { name: 'Events of good' }).getAttribute('href')).toBe(`/backups/events?jobId=${ids.good}`);
  });

  step('the summary: failures of 24 h, nodes offline, targets not ready, the work now with its progress', async () => {
    const tiles = page.getByRole('list', { name: 'Summary' });
    const tile = (re: RegExp) => tiles.getByRole('link').filter({ hasText: re });
    expect(await tile(/jobs/).innerText()).toMatch(/5 jobs\s+2 OK · 1 overdue · 1 failing · 1 disabled/);
    expect(await tile(/failed in 24 h/).innerText()).toMatch(/^1 failed in 24 h\s+1 backup$/);
    expect(await tile(/failed in 24 h/).getAttribute('href')).toBe('/backups/events?status=failed');
    expect(await tile(/nodes offline/).innerText()).toMatch(/^1 of 2 nodes offline/);
    expect(await tile(/targets not ready/).innerText()).toMatch(/^1 of 1 targets not ready/);
    expect(await tile(/running/).innerText()).toMatch(/^1 running\s+0 queued/);

    const active = page.locator('section', { has: page.getByRole('heading', { name: 'Running now' }) });
    expect(await active.innerText()).toMatch(/Backup busy\s+Running\s+25 % of 1\.00 GiB · 50\.0 MiB\/s/);
    expect(await active.getByRole('progressbar', { name: `Progress of event ${runningEvent}` }).getAttribute('value')).toBe('25');
    const attention = page.locator('section', { has: page.getByRole('heading', { name: 'Needs attention' }) });
    expect(await attention.innerText()).toMatch(/Node spare is offline: last seen 1 hour ago/);
    expect(await attention.innerText()).toMatch(/Target offsite: Not validated from spare/);
    await shot(page, 'overview-1280');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'overview-dark-1280');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  step('each item leads on: the failures tile to the failed events, a job to its row on the Jobs page', async () => {
    await page
      .getByRole('list', { name: 'Summary' })
      .getByRole('link')
      .filter({ hasText: /failed in 24 h/ })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Events' }).waitFor();
    expect(new URL(page.url()).searchParams.get('status')).toBe('failed');
    await expect.poll(() => page.locator('tbody tr td[data-label="ID"]').allTextContents()).toEqual([String(failedEvent)]);
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await jobRow('late').getByRole('link', { name: 'late', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#job-${ids.late}`);
    await page.locator(`#job-${ids.late}`).waitFor();
  });
});

describe('Events: a screen of rows, the total, the page in the address, validations on request', () => {
  step('about 20 one-line rows fit at 1280×800, with duration, bytes and target; validations are hidden', async () => {
    await page.goto(srv.url + '/backups/events');
    // the no-password nudge of a token sign-in is dismissed once; the rows are measured without it
    await page.getByRole('region', { name: 'Admin password' }).getByRole('button', { name: 'Not now' }).click();
    const idCells = page.locator('tbody tr td[data-label="ID"]');
    await expect.poll(() => idCells.count()).toBe(20);
    const shown = (await idCells.allTextContents()).map(Number);
    expect(shown).not.toContain(validateEvent);
    // 30 seeded + good, broken, busy: 33 backups; the validation is not counted either
    await expect.poll(() => page.getByRole('navigation', { name: 'Pages' }).innerText()).toMatch(/1–20 of 33 events\s+Page 1/);
    await shot(page, 'events-1280x800');
    const inView = await page
      .locator('tbody tr')
      .evaluateAll((trs) => trs.filter((tr) => tr.getBoundingClientRect().bottom <= window.innerHeight).length);
    expect(inView).toBeGreaterThanOrEqual(18);
    const heights = await page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => Math.round(tr.getBoundingClientRect().height)));
    expect(Math.max(...heights)).toBeLessThanOrEqual(40); // one line each: dates do not wrap
    const running = page
      .locator('tbody tr')
      .filter({ has: page.locator('td[data-label="ID"]', { hasText: new RegExp(`^${runningEvent}$`) }) });
    expect(await running.locator('td[data-label="Node → target"]').innerText()).toBe('edge → offsite');
    expect(await running.locator('td[data-label="Bytes"]').innerText()).toBe('256 MiB');
    const seeded = page.locator('tbody tr').filter({ hasText: '30.0 MiB' });
    expect(await seeded.locator('td[data-label="Duration"]').innerText()).toBe('1 min 35 s');
  });

  step('Older and Newer page by id, the page is in the address and survives a reload', async () => {
    const first = await page.locator('tbody tr td[data-label="ID"]').allTextContents();
    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('page')).toBe('2');
    const cursor = new URL(page.url()).searchParams.get('cursor');
    expect(Number(cursor)).toBe(Number(first[first.length - 1]));
    await expect.poll(() => page.getByRole('navigation', { name: 'Pages' }).innerText()).toMatch(/21–33 of 33 events\s+Page 2/);
    const second = await page.locator('tbody tr td[data-label="ID"]').allTextContents();
    expect(second).toHaveLength(13);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Events' }).waitFor();
    await expect.poll(() => page.locator('tbody tr td[data-label="ID"]').allTextContents()).toEqual(second);
    await expect.poll(() => page.getByRole('navigation', { name: 'Pages' }).innerText()).toMatch(/Page 2/);
    await page.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(() => page.locator('tbody tr td[data-label="ID"]').allTextContents()).toEqual(first);
    await expect.poll(() => new URL(page.url()).searchParams.has('page')).toBe(false);
  });

  step('"Show validations and browses" lists the validation too, and says so in the address', async () => {
    await page.getByLabel('Show validations and browses').check();
    // the address follows the state (history.replaceState after the page has updated)
    await expect.poll(() => new URL(page.url()).searchParams.get('checks')).toBe('1');
    await expect.poll(() => page.getByRole('navigation', { name: 'Pages' }).innerText()).toMatch(/1–20 of 34 events/);
    await page.getByRole('button', { name: 'Older' }).click(); // the validation came first: the oldest
    await expect.poll(() => page.locator('tbody tr td[data-label="ID"]').allTextContents()).toContain(String(validateEvent));
    expect(await page.locator('tbody tr').filter({ hasText: 'Validate' }).locator('td[data-label="Node → target"]').innerText()).toBe(
      'edge → offsite',
    );
    await page.getByLabel('Show validations and browses').uncheck(); // back to page 1, without it
    await expect.poll(() => page.getByRole('navigation', { name: 'Pages' }).innerText()).toMatch(/1–20 of 33 events\s+Page 1/);
    await expect.poll(() => new URL(page.url()).searchParams.has('checks')).toBe(false);
  });

  step('row actions beyond two are in a menu that opens on screen, works by keyboard and closes with Escape', async () => {
    const row = page.locator('tbody tr').filter({ has: page.locator('td[data-label="ID"]', { hasText: new RegExp(`^${runningEvent}$`) }) });
    await row.getByRole('button', { name: `Progress of event ${runningEvent}` }).waitFor();
    const more = row.getByRole('button', { name: `More actions for event ${runningEvent}` });
    expect(await more.getAttribute('aria-expanded')).toBe('false');
    await more.focus();
    await page.keyboard.press('Enter');
    const cancel = page.getByRole('button', { name: `Cancel event ${runningEvent}` });
    await cancel.waitFor();
    const box = (await cancel.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(1280);
    expect(box.y + box.height).toBeLessThanOrEqual(800);
    await shot(page, 'events-row-menu-1280');
    await page.keyboard.press('Escape');
    await cancel.waitFor({ state: 'hidden' });
    expect(await more.evaluate((e) => e === document.activeElement)).toBe(true);
    await more.click();
    await page.getByRole('button', { name: `Log of event ${runningEvent}` }).click();
    const log = page.getByRole('dialog', { name: new RegExp(`event #?${runningEvent}`, 'i') });
    await log.waitFor();
    await page.keyboard.press('Escape');
    await log.waitFor({ state: 'hidden' });
  });
});

describe('every page fits', () => {
  // [name, path, what shows the page is ready, a row-menu button to open or null]
  const pages = () =>
    [
      ['overview', '/', '#jobs tbody tr', null],
      ['targets', '/backups/targets', 'tbody tr td[data-label="Connection"]', 'More actions for target offsite'],
      ['jobs', '/backups/jobs', 'tbody tr td[data-label="Name"]', 'More actions for good'],
      ['events', '/backups/events', 'tbody tr td[data-label="ID"]', `More actions for event ${runningEvent}`],
      ['nodes', '/nodes', 'tbody tr td', null],
      ['settings', '/settings', 'h2', null],
      ['notifications', '/settings/notifications', 'h1', null],
    ] as const;

  for (const [w, h, dark] of [
    [1280, 800, false],
    [1280, 800, true],
    [390, 844, false],
  ] as const) {
    step(`${w}×${h}${dark ? ' dark' : ''}: no sideways scrolling, row actions reachable, a screenshot of each page`, async () => {
      const { context, page: p, problems: pr } = await browser.newPage(w, h, { mobile: w < 700 });
      try {
        if (dark) await p.emulateMedia({ colorScheme: 'dark' });
        await p.goto(srv.url + '/signin');
        await p.getByLabel('Admin API token').waitFor();
        await shot(p, `signin-${w}${dark ? '-dark' : ''}`);
        await expectNoSidewaysScroll(p, '/signin', w);
        await p.getByLabel('Admin API token').fill(srv.admin);
        await p.getByLabel('Admin API token').press('Enter');
        await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
        for (const [name, path, ready, menu] of pages()) {
          await p.goto(srv.url + path);
          await p.locator(ready).first().waitFor();
          await settled(p);
          await shot(p, `${name}-${w}${dark ? '-dark' : ''}`);
          await expectNoSidewaysScroll(p, path, w, { tables: w >= 1280 });
          // every row's actions are on screen horizontally (reachable without scrolling sideways)
          const off = await p.evaluate(() =>
            [...document.querySelectorAll('tbody .row-actions button:not(.menu button), tbody td.actions a')]
              .map((b) => ({ name: b.getAttribute('aria-label') ?? b.textContent, right: b.getBoundingClientRect().right }))
              .filter((b) => b.right > document.documentElement.clientWidth),
          );
          expect(off, `${path} at ${w} px`).toEqual([]);
          if (menu) {
            const more = p.getByRole('button', { name: menu });
            await more.scrollIntoViewIfNeeded();
            await more.click();
            const items = p.locator(`#${await more.getAttribute('aria-controls')} button`);
            await items.first().waitFor();
            for (const b of await items.all()) {
              const box = (await b.boundingBox())!;
              expect(box.x, `${menu}: ${await b.textContent()}`).toBeGreaterThanOrEqual(0);
              expect(box.x + box.width, `${menu}: ${await b.textContent()}`).toBeLessThanOrEqual(w);
            }
            await shot(p, `${name}-menu-${w}${dark ? '-dark' : ''}`);
            await p.keyboard.press('Escape');
            await items.first().waitFor({ state: 'hidden' });
          }
        }
        expect(pr.errors).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }

  it('the browser console had no errors', () => {
    expect(problems.errors).toEqual([]);
  });
});
