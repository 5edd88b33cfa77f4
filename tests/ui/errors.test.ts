// Errors people can act on (issue 16 #7), in Debian's Chromium against the real Node entry (no local
// runner, no ZFS: the test speaks for the node through the runner API): an error dialog offers the
// next step (Validate target, Open target, Run again, Open the active event); a form's API error is
// said once, under its field, without field keys; the cancel dialog reads "Keep running" / "Stop
// event" and a cancel that comes too late says so. Needs `npm run build -w frontend` (npm test does it).
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Page } from 'playwright-core';
import type { ConsoleProblems } from '../helpers/browser.ts';
import { TEST_KEY } from '../helpers/control.ts';
import { joinFakeNode, runnerCall, startServer, type TestServer } from '../helpers/server.ts';
import { flowSteps, nav, openBrowser, shot, uiBuild } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

let srv: TestServer;
let page: Page;
let problems: ConsoleProblems;
let nodeToken: string;
let targetId: number;
let jobId: number;
let failedId: number;

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_UI_DIR: uiDir }));
  const node = await joinFakeNode(srv, 'edge', {
    zfsVersion: 'zfs-2.2.4',
    pools: ['tank'],
    datasets: [{ name: 'tank' }, { name: 'tank/data' }],
    guests: [],
  });
  nodeToken = node.nodeToken;
  targetId = (await srv.api('POST', '/targets', { name: 'offsite', sshHost: '192.0.2.10', sshPrivateKey: TEST_KEY, backupRoot: 'tank/b' }))
    .body.id;
  jobId = (
    await srv.api('POST', '/jobs', { name: 'data', targetId, nodeId: node.nodeId, mode: 'dataset', source: 'tank/data', timezone: 'UTC' })
  ).body.id;
  // a backup that could not reach the target
  failedId = (await srv.api('POST', `/jobs/${jobId}/run`)).body.eventId;
  await runnerCall(srv, nodeToken, '/claim', { max: 1, waitMs: 0 });
  await runnerCall(srv, nodeToken, `/events/${failedId}/finish`, {
    status: 'failed',
    error: 'ssh: connect to host 192.0.2.10 port 22: Connection timed out',
    errorClass: 'connectivity',
  });
  ({ page, problems } = await openBrowser(teardown));
}, 120_000);

afterAll(() => teardown.run(), 60_000);

const step = flowSteps(60_000);
const errorDialog = () => page.getByRole('dialog', { name: `Error of event #${failedId}` });
let againId: number;

async function openError() {
  await page.goto(`${srv.url}/backups/events?open=${failedId}`);
  await errorDialog().waitFor();
}

describe('errors people can act on', () => {
  step('signs in; a failed backup opens on its error, with the next steps', async () => {
    await page.goto(srv.url + '/signin');
    await page.getByLabel('Admin API token').fill(srv.admin);
    await page.getByLabel('Admin API token').press('Enter');
    await page.waitForURL((u) => !u.pathname.startsWith('/signin'));
    await openError();
    const buttons = await errorDialog().locator('footer.dlg-foot').innerText();
    expect(buttons).toMatch(/Validate target[\s\S]*Open target[\s\S]*Run again/);
    await shot(page, 'error-next-steps');
  });

  step('Run again queues a backup and links to it', async () => {
    await errorDialog().getByRole('button', { name: 'Run again' }).click();
    const link = errorDialog().getByRole('link', { name: /^event #\d+$/ });
    await link.waitFor();
    againId = Number((await link.innerText()).replace('event #', ''));
    expect((await srv.api('GET', `/events/${againId}`)).body).toMatchObject({ kind: 'backup', jobId, status: 'queued' });
  });

  step('Run again while that one is queued: said once, in a sentence, with the way to the active event', async () => {
    await errorDialog().getByRole('button', { name: 'Run again' }).click();
    const alert = errorDialog().getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toBe(
      `The job already has a backup or restore queued or running. Open the active event #${againId}`.replace(/\s+/g, ' '),
    );
    await alert.getByRole('link', { name: `Open the active event #${againId}` }).click();
    // the same page follows its own link: the active event's progress opens
    await page.getByRole('dialog', { name: new RegExp(`^Event #${againId}`) }).waitFor();
    await expect.poll(() => errorDialog().count()).toBe(0);
  });

  step('a cancel: "Keep running" keeps it; a cancel that comes after the end says it came too late', async () => {
    const progress = page.getByRole('dialog', { name: new RegExp(`^Event #${againId}`) });
    await runnerCall(srv, nodeToken, '/claim', { max: 1, waitMs: 0 }); // now running
    await progress.getByRole('button', { name: /Cancel|Stop/ }).click();
    const confirm = page.getByRole('dialog', { name: `Stop event #${againId}?` });
    await confirm.getByRole('button', { name: 'Keep running' }).click();
    await confirm.waitFor({ state: 'hidden' });
    expect((await srv.api('GET', `/events/${againId}`)).body).toMatchObject({ status: 'running', cancelRequested: false });
    await progress.getByRole('button', { name: /Cancel|Stop/ }).click();
    await confirm.waitFor();
    // the runner finishes before the operator confirms
    await runnerCall(srv, nodeToken, `/events/${againId}/finish`, { status: 'success' });
    await confirm.getByRole('button', { name: 'Stop event' }).click();
    await expect.poll(() => confirm.getByRole('alert').innerText()).toBe('Too late to stop: the event already ended (success).');
    await shot(page, 'cancel-too-late');
    await confirm.getByRole('button', { name: 'Keep running' }).click();
  });

  step('Validate target queues a validation from the node that failed; Open target opens its form', async () => {
    await openError();
    await errorDialog().getByRole('button', { name: 'Validate target' }).click();
    const link = errorDialog().getByRole('link', { name: /^event #\d+$/ });
    await link.waitFor();
    const v = (await srv.api('GET', `/events/${(await link.innerText()).replace('event #', '')}`)).body;
    expect(v).toMatchObject({ kind: 'validate', targetId, status: 'queued' });
    await errorDialog().getByRole('link', { name: 'Open target' }).click();
    await page.getByRole('dialog', { name: 'Edit target offsite' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/backups/targets');
  });

  step('a form error is said once, under its field, in a sentence and without the field key', async () => {
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'Edit target offsite' }).waitFor({ state: 'hidden' });
    await nav(page, 'Targets');
    await page.getByRole('button', { name: /New target|Add target/ }).click();
    const dlg = page.getByRole('dialog', { name: 'New target' });
    await dlg.getByLabel('Name', { exact: true }).fill('second');
    await dlg.getByLabel(/SSH Host/i).fill('-oProxyCommand=evil');
    await dlg.getByLabel('Paste a private key').check();
    await dlg.getByLabel(/SSH Private Key/i).fill(TEST_KEY);
    await dlg.getByLabel('Backup Root', { exact: true }).fill('tank/b2');
    await dlg.getByRole('button', { name: /Create|Save/ }).click();
    const under = dlg.locator('#t-sshHost-err');
    await under.waitFor();
    expect(await under.innerText()).toMatch(/^[A-Z]/);
    expect(await dlg.getByRole('alert').count()).toBe(0); // not a second time in a banner
    expect(await dlg.innerText()).not.toContain('sshHost');
    await shot(page, 'form-error-once');
    expect(problems.errors).toEqual([]);
  });
});
