// One clock (issue 16 #3) and the rest of Settings (#9) in Debian's Chromium against the real Node
// entry (no local runner, no ZFS: the test speaks for the node through the runner API). The display
// zone chosen in Settings moves every time on screen, survives a reload, names a job's own zone
// beside its next run only when it differs; the progress dialog shows seconds and how long the run
// took; a revoked API token can be removed; Settings names the server's version.
// Needs `npm run build -w frontend` (npm test does it).
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { ConsoleProblems } from '../helpers/browser.ts';
import { TEST_KEY } from '../helpers/control.ts';
import { joinFakeNode, runnerCall, startServer, type TestServer } from '../helpers/server.ts';
import { flowSteps, nav, openBrowser, shot, uiBuild } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

let srv: TestServer;
let page: Page;
let problems: ConsoleProblems;
let eventId: number;
let startedAt: string | null;
const VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_UI_DIR: uiDir }));
  const { nodeId, nodeToken } = await joinFakeNode(srv, 'edge', {
    zfsVersion: 'zfs-2.2.4',
    pools: ['tank'],
    datasets: [{ name: 'tank' }, { name: 'tank/data' }],
    guests: [],
  });
  const target = await srv.api('POST', '/targets', {
    name: 'offsite',
    sshHost: '192.0.2.10',
    sshPrivateKey: TEST_KEY,
    backupRoot: 'tank/b',
  });
  const job = await srv.api('POST', '/jobs', {
    name: 'nightly',
    targetId: target.body.id,
    nodeId,
    mode: 'dataset',
    source: 'tank/data',
    schedule: '30 2 * * *',
    timezone: 'Europe/Berlin',
  });
  expect(job.status, JSON.stringify(job.body)).toBe(201);
  // one finished run: claimed, then finished by "the runner"
  eventId = (await srv.api('POST', `/jobs/${job.body.id}/run`)).body.eventId;
  await runnerCall(srv, nodeToken, '/claim', { max: 1, waitMs: 0 });
  await runnerCall(srv, nodeToken, `/events/${eventId}/finish`, { status: 'success' });
  const ev = (await srv.api('GET', `/events/${eventId}`)).body;
  expect(ev.status).toBe('success');
  startedAt = ev.startedAt;
  // an API token, revoked: its row stays in the list until removed
  const tok = await srv.api('POST', '/auth/tokens', { name: 'old-ci', scope: 'read' });
  await srv.api('DELETE', `/auth/tokens/${tok.body.id}`);
  ({ page, problems } = await openBrowser(teardown));
}, 120_000);

afterAll(() => teardown.run(), 60_000);

const step = flowSteps(60_000);
const jobRow = () => page.getByRole('row').filter({ has: page.getByText('nightly', { exact: true }) });
const nextRun = () => jobRow().locator('td[data-label="Next run"]').innerText();

async function chooseZone(zone: string) {
  await nav(page, 'Settings');
  await page.getByLabel('Show times in').fill(zone);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
}

describe('one clock', () => {
  step('signs in; Settings names the server version', async () => {
    await page.goto(srv.url + '/signin');
    await page.getByLabel('Admin API token').fill(srv.admin);
    await page.getByLabel('Admin API token').press('Enter');
    await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
    await nav(page, 'Settings');
    await expect.poll(() => page.getByTestId('server-version').innerText()).toBe(VERSION);
  });

  step('a zone the browser does not know is refused under the field, and nothing changes', async () => {
    const before = await page.getByTestId('clock-now').innerText();
    await page.getByLabel('Show times in').fill('Mars/Olympus_Mons');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('“Mars/Olympus_Mons” is not a time zone this browser knows').waitFor();
    expect(await page.evaluate(() => localStorage.getItem('lifeboat.displayZone'))).toBeNull();
    expect((await page.getByTestId('clock-now').innerText()).split(' ').at(-1)).toBe(before.split(' ').at(-1));
  });

  step('Asia/Tokyo: the next run is on that clock with the job zone beside it, and it survives a reload', async () => {
    await chooseZone('Asia/Tokyo');
    await page.getByText('Times are now shown in Asia/Tokyo in this browser.').waitFor();
    expect(await page.getByTestId('clock-now').innerText()).toMatch(/GMT\+9$/);
    await page.reload();
    await nav(page, 'Jobs');
    // 02:30 in Berlin is 10:30 in Tokyo in winter (09:30 in summer)
    await expect.poll(nextRun).toMatch(/^\d{1,2} [A-Z][a-z]{2} \d{4} (10|09):30 GMT\+9 \(job zone Europe\/Berlin\)$/);
    await shot(page, 'clock-jobs-tokyo');
  });

  step('the progress dialog: start and finish with seconds on the chosen clock, and how long it took', async () => {
    await nav(page, 'Events');
    const more = page.getByRole('button', { name: `More actions for event ${eventId}` });
    const details = page.getByRole('button', { name: `Details of event ${eventId}` });
    await details.or(more).first().waitFor();
    if (await more.count()) await more.click(); // beyond two actions they are under More
    await details.click();
    const dialog = page.getByRole('dialog', { name: new RegExp(`^Event #${eventId}`) });
    await dialog.getByText('Took').waitFor();
    const facts = await dialog.locator('dl.facts').innerText();
    const started = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Tokyo',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(startedAt ?? 0));
    expect(facts).toMatch(new RegExp(`Started\\s+\\d{1,2} [A-Z][a-z]{2} \\d{4} ${started} GMT\\+9`));
    expect(facts).toMatch(/Finished\s+\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\+9/);
    expect(facts).toMatch(/Took\s+\d+ (s|min \d\d s)/);
    await page.keyboard.press('Escape');
  });

  step('the job zone itself: no note beside the next run', async () => {
    await chooseZone('Europe/Berlin');
    await nav(page, 'Jobs');
    await expect.poll(nextRun).toMatch(/^\d{1,2} [A-Z][a-z]{2} \d{4} 02:30 CES?T$/);
  });

  step('emptying the field goes back to the browser zone', async () => {
    await chooseZone('');
    const browserZone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    await page.getByText(`Times are now shown in this browser's zone (${browserZone}).`).waitFor();
    expect(await page.evaluate(() => localStorage.getItem('lifeboat.displayZone'))).toBeNull();
  });
});

describe('Settings: API tokens', () => {
  step('a revoked token can be removed from the list; an active one offers Revoke only', async () => {
    await page.getByRole('button', { name: 'Remove revoked token old-ci' }).click();
    await page.getByRole('dialog', { name: 'Remove token old-ci' }).getByRole('button', { name: 'Remove' }).click();
    await page.getByText('Revoked token old-ci removed from the list.').waitFor();
    await expect.poll(() => page.getByRole('row').filter({ hasText: 'old-ci' }).count()).toBe(0);
    expect((await srv.api('GET', '/auth/tokens')).body.items).toEqual([]);
    await shot(page, 'settings-1280');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, 'settings-390');
    await page.setViewportSize({ width: 1280, height: 900 });
    expect(problems.errors).toEqual([]);
  });
});
