// Live pages (docs/architecture.md, "Live pages"): the Jobs page follows a backup through the event
// stream — queued, running with % and rate, then its new Last run linked to its event — without
// reloading the page and without polling its lists; a restore shows apart from the last run. With
// the stream refused (routed to a 404 here) the page falls back to polling; an API-token sign-in
// streams as well (the token in the Authorization header of the stream's request). Debian's Chromium
// against the real Node entry with a password session; no ZFS: the test speaks for the node through
// the runner API. Needs `npm run build -w frontend` (npm test does it).
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { BrowserContext, Page, Request } from 'playwright-core';
import type { ConsoleProblems, TestBrowser } from '../helpers/browser.ts';
import { TEST_KEY } from '../helpers/control.ts';
import { joinFakeNode, runnerCall, startServer, type TestServer } from '../helpers/server.ts';
import { flowSteps, openBrowser, shot, uiBuild } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

const PASSWORD = 'live pages password';
const SNAPSHOT = 'lb_j1_20261201T000000Z';
let srv: TestServer;
let browser: TestBrowser;
let page: Page;
let problems: ConsoleProblems;
let nodeToken: string;
let jobId: number;

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_ADMIN_PASSWORD: PASSWORD, LIFEBOAT_UI_DIR: uiDir }));
  const node = await joinFakeNode(srv, 'edge', {
    zfsVersion: 'zfs-2.2.4',
    pools: ['tank'],
    datasets: [{ name: 'tank' }, { name: 'tank/data' }],
    guests: [],
  });
  nodeToken = node.nodeToken;
  const target = await srv.api('POST', '/targets', {
    name: 'offsite',
    sshHost: '192.0.2.10',
    sshPrivateKey: TEST_KEY,
    backupRoot: 'tank/backups',
  });
  const job = await srv.api('POST', '/jobs', {
    name: 'data',
    targetId: target.body.id,
    nodeId: node.nodeId,
    mode: 'dataset',
    source: 'tank/data',
    schedule: '0 3 * * *',
    timezone: 'UTC',
  });
  expect(job.status, JSON.stringify(job.body)).toBe(201);
  jobId = job.body.id;
  ({ browser, page, problems } = await openBrowser(teardown));
}, 120_000);

afterAll(() => teardown.run(), 60_000);

const runner = (path: string, body: unknown) => runnerCall(srv, nodeToken, path, body);

/** Requests for the lists a page could poll (jobs, events, nodes, targets, the overview); single objects are not lists. */
function listRequests(p: Page) {
  const seen: string[] = [];
  const on = (r: Request) => {
    const u = new URL(r.url());
    if (/^\/api\/v1\/(jobs|events|nodes|targets|overview)$/.test(u.pathname)) seen.push(u.pathname + u.search);
  };
  p.on('request', on);
  return { seen, stop: () => p.off('request', on) };
}

/** A password session for a fresh context without opening a page (the cookie lands in its jar). */
async function passwordSession(context: BrowserContext) {
  const r = await context.request.post(`${srv.url}/api/v1/auth/login`, { data: { password: PASSWORD }, headers: { origin: srv.url } });
  expect(r.ok(), await r.text()).toBe(true);
}

/** GET /overview requests of a page, as sent. */
function overviewReads(p: Page) {
  const seen: string[] = [];
  p.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname === '/api/v1/overview') seen.push(u.pathname + u.search);
  });
  return seen;
}

async function signIn(p: Page) {
  await p.goto(srv.url + '/signin');
  await p.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
}

/** The Jobs page with its event stream answered (its `hello` follows the headers at once). */
async function openJobs(p: Page) {
  const stream = p.waitForResponse((r) => r.url().endsWith('/api/v1/events/stream'));
  await p.goto(srv.url + '/backups/jobs');
  await p.locator(`#job-${jobId}`).waitFor();
  return stream;
}

const step = flowSteps(60_000);

describe('live Jobs page', () => {
  let backupId: number;

  step('follows a backup from the stream: queued, running with % and rate, then its Last run; no list polling', async () => {
    await signIn(page);
    expect((await openJobs(page)).status()).toBe(200);
    const row = page.locator(`#job-${jobId}`);
    backupId = (await srv.api('POST', `/jobs/${jobId}/run`)).body.eventId;
    await row.getByLabel('Backup of data queued').waitFor();
    // from here on every change reaches the page through the stream: count the list requests it makes
    const lists = listRequests(page);
    await runner('/claim', { max: 1, waitMs: 0 });
    await row.getByLabel('Backup of data running').waitFor();
    const reports = [
      { bytesDone: 1_000_000, rateBps: 250_000, shows: '25 %' },
      { bytesDone: 2_000_000, rateBps: 500_000, shows: '50 %' },
      { bytesDone: 3_000_000, rateBps: 750_000, shows: '75 %' },
    ];
    for (const r of reports) {
      await runner(`/events/${backupId}/progress`, {
        phase: 'transferring',
        bytesDone: r.bytesDone,
        bytesTotal: 4_000_000,
        rateBps: r.rateBps,
      });
      await row.getByText(r.shows).waitFor();
    }
    expect(await row.getByLabel('Backup of data running').textContent()).toContain('732 KiB/s'); // 750,000 B/s as $lib/format writes it;
    await shot(page, 'live-jobs-running-1280');
    await runner('/catalog', {
      eventId: backupId,
      datasets: [
        {
          dataset: `tank/backups/j${jobId}/g1/tank/data`,
          jobId,
          generation: 1,
          source: 'tank/data',
          guest: null,
          snapshots: [
            {
              name: SNAPSHOT,
              guid: '123456789',
              createtxg: '10',
              createdAt: new Date().toISOString(),
              usedBytes: 0,
              referencedBytes: 4_000_000,
              jobId,
              generation: 1,
            },
          ],
        },
      ],
    });
    await runner(`/events/${backupId}/finish`, { status: 'success', result: { generation: 1, snapshot: SNAPSHOT } });
    const last = row.getByRole('link', { name: 'Last run of data' });
    await expect.poll(() => last.getAttribute('href').catch(() => null)).toBe(`/backups/events?open=${backupId}`);
    expect((await last.textContent())?.trim()).toBe('Success');
    expect(await row.getByLabel('Backup of data running').count()).toBe(0);
    lists.stop();
    // three progress reports, a claim and an end, and not one list read: the page follows notices, not a clock
    expect(lists.seen).toEqual([]);
    await shot(page, 'live-jobs-last-run-1280');
  });

  step('a restore is shown apart: the Last run stays the backup', async () => {
    const restore = await srv.api('POST', `/jobs/${jobId}/restore`, { generation: 1, snapshot: SNAPSHOT });
    expect(restore.status, JSON.stringify(restore.body)).toBe(202);
    const row = page.locator(`#job-${jobId}`);
    await row.getByLabel('Restore of data queued').waitFor();
    await runner('/claim', { max: 1, waitMs: 0 });
    await runner(`/events/${restore.body.eventId}/finish`, { status: 'failed', error: 'the destination is busy', errorClass: 'busy' });
    const lastRestore = row.getByRole('link', { name: 'Last restore of data' });
    await lastRestore.filter({ hasText: 'Failed' }).waitFor();
    expect(await lastRestore.getAttribute('href')).toBe(`/backups/events?open=${restore.body.eventId}`);
    expect(await row.getByRole('link', { name: 'Last run of data' }).getAttribute('href')).toBe(`/backups/events?open=${backupId}`);
    await shot(page, 'live-jobs-last-restore-1280');
    expect(problems.errors).toEqual([]);
  });

  step('the Events page: a new event appears, its progress and end update the row in place', async () => {
    const stream = page.waitForResponse((r) => r.url().endsWith('/api/v1/events/stream'));
    await page.goto(srv.url + '/backups/events');
    expect((await stream).status()).toBe(200);
    await page.locator('tbody tr td[data-label="ID"]', { hasText: String(backupId) }).waitFor();
    const id = (await srv.api('POST', `/jobs/${jobId}/run`)).body.eventId;
    const row = page.locator('tbody tr', { has: page.locator('td[data-label="ID"]', { hasText: new RegExp(`^${id}$`) }) });
    // a new event on the first page: the page's one query again
    await row.getByText('Queued').waitFor();
    const lists = listRequests(page);
    await runner('/claim', { max: 1, waitMs: 0 });
    await row.getByText('Running').waitFor();
    for (const [done, shows] of [
      [1_000_000, '977 KiB'],
      [2_000_000, '1.91 MiB'],
    ] as const) {
      await runner(`/events/${id}/progress`, { phase: 'transferring', bytesDone: done, bytesTotal: 4_000_000, rateBps: 100_000 });
      await row.locator('td[data-label="Bytes"]', { hasText: shows }).waitFor();
    }
    await runner(`/events/${id}/finish`, { status: 'success', result: { generation: 1, snapshot: SNAPSHOT } });
    await row.getByText('Success').waitFor();
    lists.stop();
    // progress and the end changed the row in place: no list was read again
    expect(lists.seen).toEqual([]);
    await shot(page, 'live-events-1280');
    expect(problems.errors).toEqual([]);
  });

  step('an API-token sign-in streams too: the token goes in the header, and the page follows without polling', async () => {
    const { page: p } = await browser.newPage(1280, 900);
    // a token sign-in keeps the token in the tab's sessionStorage (lib/api.ts); no cookie session here
    await p.addInitScript((t) => sessionStorage.setItem('lifeboat.adminToken', t), srv.admin);
    const streamRequest = p.waitForRequest((r) => r.url().endsWith('/api/v1/events/stream'));
    expect((await openJobs(p)).status()).toBe(200);
    expect((await streamRequest).headers().authorization).toBe(`Bearer ${srv.admin}`);
    const row = p.locator(`#job-${jobId}`);
    const lists = listRequests(p);
    const id = (await srv.api('POST', `/jobs/${jobId}/run`)).body.eventId;
    await row.getByLabel('Backup of data queued').waitFor();
    await runner('/claim', { max: 1, waitMs: 0 });
    await runner(`/events/${id}/progress`, { phase: 'transferring', bytesDone: 1_000_000, bytesTotal: 4_000_000, rateBps: 250_000 });
    await row.getByText('25 %').waitFor();
    await runner(`/events/${id}/finish`, { status: 'success', result: { generation: 1, snapshot: SNAPSHOT } });
    await expect.poll(() => row.getByRole('link', { name: 'Last run of data' }).getAttribute('href')).toBe(`/backups/events?open=${id}`);
    lists.stop();
    // the new event reloads the page's one query (a row it did not have); progress and the end come as notices
    expect(lists.seen.filter((u) => !u.startsWith('/api/v1/jobs'))).toEqual([]);
    expect(lists.seen.length).toBeLessThanOrEqual(1);
    await p.close();
  });

  step('with the stream refused the page polls instead, and still shows the run', async () => {
    const { page: p } = await browser.newPage(1280, 900);
    await p.route('**/api/v1/events/stream', (r) =>
      r.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"not_found","message":"no"}}' }),
    );
    await signIn(p);
    expect((await openJobs(p)).status()).toBe(404);
    const lists = listRequests(p);
    const id = (await srv.api('POST', `/jobs/${jobId}/run`)).body.eventId;
    await runner('/claim', { max: 1, waitMs: 0 });
    await runner(`/events/${id}/progress`, { phase: 'transferring', bytesDone: 2_000_000, bytesTotal: 4_000_000, rateBps: 100_000 });
    // the poll (every 10 s) brings it: no notice can
    await p.locator(`#job-${jobId}`).getByText('50 %').waitFor({ timeout: 45_000 });
    lists.stop();
    expect(lists.seen.some((u) => u.startsWith('/api/v1/jobs'))).toBe(true);
    await runner(`/events/${id}/finish`, { status: 'success', result: { generation: 1, snapshot: SNAPSHOT } });
  });

  step('the Overview reads itself once when nothing changed before its stream started', async () => {
    const { context, page: p } = await browser.newPage(1280, 900);
    await passwordSession(context);
    const reads = overviewReads(p);
    const stream = p.waitForResponse((r) => r.url().endsWith('/api/v1/events/stream'));
    await p.goto(srv.url + '/');
    await p.locator('#jobs tbody td[data-label="Health"]').first().waitFor();
    expect((await stream).status()).toBe(200);
    // the answer was read at or after the stream's hello: nothing to read again (the stream tells the rest)
    await p.waitForTimeout(1000);
    expect(reads).toEqual(['/api/v1/overview?jobs=200']);
    // and it still follows: a new backup shows
    const id = (await srv.api('POST', `/jobs/${jobId}/run`)).body.eventId;
    await p.getByRole('region', { name: 'Running now' }).getByRole('link', { name: 'Backup data' }).waitFor();
    await runner('/claim', { max: 1, waitMs: 0 });
    await runner(`/events/${id}/finish`, { status: 'success', result: { generation: 1, snapshot: SNAPSHOT } });
    await p.getByRole('region', { name: 'Running now' }).waitFor({ state: 'detached' });
    await context.close();
  });

  step("a change that lands between the Overview's read and its stream's start is shown (read again)", async () => {
    const { context, page: p } = await browser.newPage(1280, 900);
    await passwordSession(context);
    const reads = overviewReads(p);
    // the stream's request waits until the change has landed: its hello is past the answer's cursor
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await p.route('**/api/v1/events/stream', async (route) => {
      await held;
      await route.continue();
    });
    const answered = p.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/overview');
    await p.goto(srv.url + '/');
    const first = (await (await answered).json()) as { changeCursor: number; active: unknown[] };
    expect(first.active).toEqual([]);
    await p.locator('#jobs tbody td[data-label="Health"]').first().waitFor();
    const id = (await srv.api('POST', `/jobs/${jobId}/run`)).body.eventId;
    release();
    // no change after the stream's start tells of it: only reading the overview again shows it
    await p.getByRole('region', { name: 'Running now' }).getByRole('link', { name: 'Backup data' }).waitFor();
    expect(reads).toEqual(['/api/v1/overview?jobs=200', '/api/v1/overview?jobs=200']);
    await runner('/claim', { max: 1, waitMs: 0 });
    await runner(`/events/${id}/finish`, { status: 'success', result: { generation: 1, snapshot: SNAPSHOT } });
    await p.getByRole('region', { name: 'Running now' }).waitFor({ state: 'detached' });
    await context.close();
  });
});
