// A fleet-sized job list in Debian's Chromium against the real Node entry (no local runner, no ZFS:
// the test reports a node's inventory as its runner would): with more jobs than the pages draw at
// first (200), the Jobs page draws the first 200, finds any job by its filter and draws the rest
// on request, and draws a job the address names beyond the first 200; the Overview asks for its
// worst 200 lines only and shows all on request. Needs `npm run build -w frontend` (npm test does it).
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Page } from 'playwright-core';
import type { ConsoleProblems } from '../helpers/browser.ts';
import { TEST_KEY } from '../helpers/control.ts';
import { joinFakeNode, startServer, type TestServer } from '../helpers/server.ts';
import { flowSteps, openBrowser, shot, uiBuild, signInWithToken } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

const JOBS = 205;
const name = (i: number) => `job-${String(i).padStart(3, '0')}`;

let srv: TestServer;
let page: Page;
let problems: ConsoleProblems;
const ids = new Map<string, number>();

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_UI_DIR: uiDir }));
  const sets = Array.from({ length: JOBS }, (_, i) => ({ name: `tank/set-${i + 1}`, usedBytes: 1, referencedBytes: 1 }));
  const { nodeId } = await joinFakeNode(srv, 'edge', {
    zfsVersion: 'zfs-2.3.2-1',
    pools: ['tank'],
    datasets: [{ name: 'tank', usedBytes: 1, referencedBytes: 1 }, ...sets],
  });
  const t = await srv.api('POST', '/targets', { name: 'offsite', sshHost: '192.0.2.10', sshPrivateKey: TEST_KEY, backupRoot: 'bk/b' });
  for (let i = 1; i <= JOBS; i++) {
    const j = await srv.api('POST', '/jobs', { name: name(i), targetId: t.body.id, nodeId, mode: 'dataset', source: `tank/set-${i}` });
    expect(j.status, JSON.stringify(j.body)).toBe(201);
    ids.set(name(i), j.body.id);
  }
  ({ page, problems } = await openBrowser(teardown));
  await page.setViewportSize({ width: 1280, height: 800 });
  await signInWithToken(page, srv, '/backups/jobs', 'Jobs');
}, 180_000);

afterAll(() => teardown.run(), 60_000);

const step = flowSteps(60_000);
const jobRows = () => page.locator('tbody tr td[data-label="Name"]');
const overviewRows = () => page.locator('#jobs tbody tr td[data-label="Job"]');

describe('more jobs than a page draws at first', () => {
  step('the Jobs page draws the first 200 and says how many there are', async () => {
    await page.getByRole('button', { name: `Show all ${JOBS} jobs` }).waitFor();
    expect(await jobRows().count()).toBe(200);
    expect(await jobRows().first().innerText()).toContain(name(1));
    expect(await page.getByRole('status').filter({ hasText: 'jobs' }).innerText()).toBe(`${JOBS} jobs`);
    await shot(page, 'many-jobs-1280');
  });

  step('the filter finds a job beyond the first 200, by name or by source', async () => {
    const filter = page.getByLabel('Filter jobs');
    await filter.fill(name(JOBS));
    await expect.poll(() => jobRows().allInnerTexts()).toEqual([name(JOBS)]);
    expect(await page.getByRole('status').filter({ hasText: 'match' }).innerText()).toBe(`1 of ${JOBS} jobs match`);
    await filter.fill('tank/set-20');
    // set-20 and set-200 … set-205
    await expect.poll(() => jobRows().count()).toBe(7);
    await filter.fill('nothing-like-this');
    await page.getByText('No job matches “nothing-like-this”.').waitFor();
    await filter.fill('');
    await expect.poll(() => jobRows().count()).toBe(200);
  });

  step('Show all draws every job', async () => {
    await page.getByRole('button', { name: `Show all ${JOBS} jobs` }).click();
    await expect.poll(() => jobRows().count()).toBe(JOBS);
    expect(await page.getByRole('button', { name: /^Show all/ }).count()).toBe(0);
  });

  step('a job the address names (the Overview links #job-<id>) is drawn beyond the first 200', async () => {
    await page.goto('about:blank'); // a new load of the page, not only a new fragment
    await page.goto(`${srv.url}/backups/jobs#job-${ids.get(name(JOBS))}`);
    await page.locator(`tr#job-${ids.get(name(JOBS))}`).waitFor();
    expect(await jobRows().count()).toBe(201);
  });

  step('the Overview asks for its worst 200 lines, counts every job, and shows all on request', async () => {
    const asked: string[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/api/v1/overview') asked.push(u.search);
    });
    const answer = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/overview');
    await page.goto(srv.url + '/');
    const listed = ((await (await answer).json()) as { jobs: { name: string }[] }).jobs.map((j) => j.name);
    // the first lines are drawn in the first frame, the rest right after; then the button: all 200, in the answer's order
    await page.getByRole('button', { name: `Show all ${JOBS} jobs` }).waitFor();
    expect(await overviewRows().count()).toBe(200);
    expect(await overviewRows().locator('a strong').allInnerTexts()).toEqual(listed);
    expect(asked[0]).toBe('?jobs=200');
    expect(await page.getByRole('list', { name: 'Summary' }).innerText()).toContain(`${JOBS} jobs`);
    await page.getByRole('button', { name: `Show all ${JOBS} jobs` }).click();
    await expect.poll(() => overviewRows().count()).toBe(JOBS);
    expect(asked.at(-1)).toBe('');
  });

  step('the browser console had no errors', async () => {
    expect(problems.errors).toEqual([]);
  });
});
