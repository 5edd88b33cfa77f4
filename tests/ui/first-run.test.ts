// First run (issue 16 #11) in Debian's Chromium against the real Node entry (no local runner, no ZFS:
// the test speaks for the node): an empty install's Overview leads with numbered steps to a first
// backup, step 1 "Add a backup target" next (its link opens the New target form with the key pair
// made by the server); each step is marked done as the install gets a target, a node, a Ready
// target and a job; the steps go once a backup succeeded. At 1280×800 (light and dark) and 390×844
// without sideways scrolling, screenshots in test-artifacts/ui/. Needs `npm run build` (npm test does it).
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Page } from 'playwright-core';
import type { ConsoleProblems, TestBrowser } from '../helpers/browser.ts';
import { joinFakeNode, runnerCall, startServer, type TestServer } from '../helpers/server.ts';
import { expectNoSidewaysScroll, flowSteps, openBrowser, shot, uiBuild, signInWithToken } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

let srv: TestServer;
let browser: TestBrowser;
let page: Page;
let problems: ConsoleProblems;
let targetId: number;
let jobId: number;
let edge: { nodeId: number; nodeToken: string };
const FP = 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';

const teardown = new Teardown();

beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_UI_DIR: uiDir }));
  ({ browser, page, problems } = await openBrowser(teardown));
  await page.setViewportSize({ width: 1280, height: 800 });
  await signInWithToken(page, srv, '/', 'Overview');
}, 120_000);

afterAll(() => teardown.run(), 60_000);

const step = flowSteps(60_000);
const setup = (p: Page = page) => p.getByRole('region', { name: 'Get started' });
const items = (p: Page = page) => setup(p).getByRole('listitem');

/** Each step's title and state badge as shown, in order, e.g. "Add a backup target Next". */
async function shown(p: Page = page) {
  return (await items(p).locator('.title').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}
/** The title of the step marked aria-current="step" (the one to do next). */
const current = (p: Page = page) => setup(p).locator('li[aria-current="step"] .title a').innerText();

/** The Overview read again (what changed here came through the API, not as an event). */
async function refresh() {
  await page.getByRole('button', { name: 'Refresh', exact: true }).click();
}

describe('First run', () => {
  step('an empty install: the Overview leads with five numbered steps, "Add a backup target" next', async () => {
    await setup().waitFor();
    expect(await setup().locator('ol').count()).toBe(1);
    expect(await shown()).toEqual([
      'Add a backup target Next',
      "Confirm the target's host key To do",
      'Have a node online To do',
      'Create a job To do',
      'Run the job To do',
    ]);
    expect(await current()).toBe('Add a backup target');
    expect(await setup().locator('[aria-current="step"]').count()).toBe(1);
    const first = items().first();
    expect(await first.innerText()).toMatch(/ed25519 key pair/);
    expect(await first.innerText()).toMatch(/authorized_keys/);
    expect(await items().nth(1).innerText()).toMatch(/Needs steps 1 and 3 first\./);
    expect(await items().nth(2).innerText()).toMatch(/npm start/);
    expect(await items().nth(4).innerText()).toMatch(/Needs steps 2, 3 and 4 first\./);
    await expectNoSidewaysScroll(page, '/', 1280);
    await shot(page, 'first-run-empty-1280');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'first-run-empty-dark-1280');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  step('at 390×844 the same steps, without sideways scrolling', async () => {
    const { context, page: p, problems: pr } = await browser.newPage(390, 844, { mobile: true });
    try {
      await signInWithToken(p, srv, '/', 'Overview');
      await setup(p).waitFor();
      expect(await current(p)).toBe('Add a backup target');
      await expectNoSidewaysScroll(p, '/', 390);
      await shot(p, 'first-run-empty-390');
      expect(pr.errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  step('step 1 opens the New target form, a key pair made by the server preselected', async () => {
    await setup().getByRole('link', { name: 'Add a backup target' }).click();
    const dlg = page.getByRole('dialog', { name: 'New target' });
    await dlg.waitFor();
    expect(new URL(page.url()).pathname).toBe('/backups/targets');
    expect(await dlg.getByLabel('Generate a key pair (recommended)').isChecked()).toBe(true);
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await page.goto(srv.url + '/');
    await setup().waitFor();
  });

  step('a target but no node online: step 1 done, the node is next (validating needs one)', async () => {
    const t = await srv.api('POST', '/targets', { name: 'offsite', sshHost: '192.0.2.10', generateKeyPair: true, backupRoot: 'tank/b' });
    expect(t.status, JSON.stringify(t.body)).toBe(201);
    targetId = t.body.id;
    await refresh();
    await expect.poll(() => current()).toBe('Have a node online');
    expect(await shown()).toEqual([
      'Add a backup target Done',
      "Confirm the target's host key To do",
      'Have a node online Next',
      'Create a job To do',
      'Run the job To do',
    ]);
    expect(await items().first().innerText()).toMatch(/1 target\./);
    expect(await items().nth(1).innerText()).toMatch(/Needs step 3 first\./);
    await shot(page, 'first-run-target-1280');
  });

  step('a node online: confirming the host key is next; once the target is Ready, creating a job', async () => {
    edge = await joinFakeNode(srv, 'edge', {
      zfsVersion: 'zfs-2.3.2-1',
      pools: ['tank'],
      datasets: [{ name: 'tank' }, { name: 'tank/data' }],
    });
    await refresh();
    await expect.poll(() => current()).toBe("Confirm the target's host key");
    expect(await items().nth(2).innerText()).toMatch(/1 node online\./);

    // the node validates the target and sees its host key; the admin pins it
    const v = await srv.api('POST', `/targets/${targetId}/validate`, { nodeId: edge.nodeId });
    expect(v.status, JSON.stringify(v.body)).toBe(202);
    await runnerCall(srv, edge.nodeToken, '/claim', { max: 1, waitMs: 0 });
    await runnerCall(srv, edge.nodeToken, `/events/${v.body.eventId}/finish`, {
      status: 'success',
      result: { hostKey: 'lifeboat-target ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost', fingerprint: FP },
    });
    expect((await srv.api('POST', `/targets/${targetId}/host-key/confirm`, { fingerprint: FP })).status).toBe(200);
    await refresh();
    await expect.poll(() => current()).toBe('Create a job');
    expect(await items().nth(1).innerText()).toMatch(/1 target ready\./);

    await setup().getByRole('link', { name: 'Create a job' }).click();
    const dlg = page.getByRole('dialog', { name: 'New job' });
    await dlg.waitFor();
    expect(new URL(page.url()).pathname).toBe('/backups/jobs');
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await page.goto(srv.url + '/');
    await setup().waitFor();
  });

  step('a job: running it is next; the steps go once its backup succeeded', async () => {
    const j = await srv.api('POST', '/jobs', { name: 'data', targetId, nodeId: edge.nodeId, mode: 'dataset', source: 'tank/data' });
    expect(j.status, JSON.stringify(j.body)).toBe(201);
    jobId = j.body.id;
    await refresh();
    await expect.poll(() => current()).toBe('Run the job');
    expect(await shown()).toEqual([
      'Add a backup target Done',
      "Confirm the target's host key Done",
      'Have a node online Done',
      'Create a job Done',
      'Run the job Next',
    ]);
    await expectNoSidewaysScroll(page, '/', 1280);
    await shot(page, 'first-run-job-1280');

    const run = await srv.api('POST', `/jobs/${jobId}/run`);
    expect(run.status, JSON.stringify(run.body)).toBe(202);
    await runnerCall(srv, edge.nodeToken, '/claim', { max: 1, waitMs: 0 });
    await runnerCall(srv, edge.nodeToken, `/events/${run.body.eventId}/finish`, {
      status: 'success',
      result: { generation: 1, snapshot: `lb_j${jobId}_20261201T120000Z`, bytesSent: 4096 },
    });
    await refresh();
    await setup().waitFor({ state: 'detached' });
    await page.locator('#jobs tbody tr').filter({ hasText: 'data' }).getByText('OK', { exact: true }).waitFor();
    await shot(page, 'first-run-done-1280');
    expect(problems.errors).toEqual([]);
  });
});
