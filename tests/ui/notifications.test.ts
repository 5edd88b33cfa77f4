// Settings → Notifications and the job form's old-generation and RPO fields in Debian's Chromium
// against the real Node entry (no local runner, no ZFS: the node is joined by the test, which
// reports its inventory for it). A real HTTP receiver on 127.0.0.1 takes the webhook and checks its
// signature. Everything is done through the UI; the API is read to check what it did.
// Needs `npm run build -w frontend` (npm test does it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import type { ConsoleProblems, TestBrowser } from '../helpers/browser.ts';
import { joinFakeNode, startServer, type TestServer } from '../helpers/server.ts';
import { expectNoSidewaysScroll, flowSteps, nav, openBrowser, rowAction, shot, uiBuild } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

const HMAC_KEY = 'the-hmac-key-of-the-test';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let srv: TestServer;
let browser: TestBrowser;
let page: Page;
let problems: ConsoleProblems;
let hookUrl: string;
let jobId: number;
const received: Received[] = [];

type Channel = { id: number; name: string; kind: string; enabled: boolean; hasSecret: boolean; url: string | null };
const channels = async () => (await srv.api<{ items: Channel[] }>('GET', '/notifications/channels')).body.items;

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  const keyDir = mkdtempSync(join(tmpdir(), 'lb-notify-key-'));
  teardown.defer(() => rmSync(keyDir, { recursive: true, force: true }));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lifeboat-test', '-f', join(keyDir, 'id')]);

  // The webhook receiver: in this process, on a port the kernel picks.
  const receiver: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  teardown.defer(() => new Promise((r) => receiver.close(r)));
  const addr = receiver.address();
  hookUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hook`;

  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_UI_DIR: uiDir }));
  // A node (no runner process: the test speaks for it) with a dataset, a target, and a job on them.
  const { nodeId } = await joinFakeNode(srv, 'edge', {
    zfsVersion: 'zfs-2.2.4',
    capabilities: { resumableRecv: true },
    pools: ['tank'],
    datasets: [{ name: 'tank' }, { name: 'tank/data' }],
    guests: [],
  });
  const target = await srv.api('POST', '/targets', {
    name: 'offsite',
    sshHost: '192.0.2.10',
    sshPrivateKey: readFileSync(join(keyDir, 'id'), 'utf8'),
    backupRoot: 'tank/backups',
  });
  expect(target.status).toBe(201);
  const job = await srv.api('POST', '/jobs', {
    name: 'data',
    targetId: target.body.id,
    nodeId,
    mode: 'dataset',
    source: 'tank/data',
    schedule: '0 * * * *',
    timezone: 'UTC',
  });
  expect(job.status, JSON.stringify(job.body)).toBe(201);
  jobId = job.body.id;
  ({ browser, page, problems } = await openBrowser(teardown));
  await page.setViewportSize({ width: 1280, height: 800 });
}, 120_000);

afterAll(() => teardown.run(), 60_000);

const step = flowSteps(60_000);

const row = (name: string) =>
  page
    .locator('section', { has: page.getByRole('heading', { name: 'Channels', exact: true }) })
    .getByRole('row')
    .filter({ hasText: name });
const dialog = (name: string | RegExp) => page.getByRole('dialog', { name });

/** Opens the New channel dialog. */
async function newChannel(): Promise<Locator> {
  await page.getByRole('button', { name: 'New channel' }).click();
  const dlg = dialog('New notification channel');
  await dlg.waitFor();
  return dlg;
}

const expectSigned = (r: Received, key: string) => {
  const want = 'sha256=' + createHmac('sha256', key).update(r.body).digest('hex');
  expect(r.headers['x-lifeboat-signature']).toBe(want);
};

describe('Settings → Notifications', () => {
  step('signs in and finds the notification settings from the Settings page', async () => {
    await page.goto(srv.url + '/settings');
    await page.getByLabel('Admin API token').fill(srv.admin);
    await page.getByLabel('Admin API token').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor();
    await page.getByRole('link', { name: 'Notification channels and history' }).click();
    await page.getByRole('heading', { level: 1, name: 'Notifications' }).waitFor();
    await page.getByText('No channels yet').waitFor();
    await page.getByText('Nothing sent yet.').waitFor();
  });

  step('a webhook with a bad URL: the error is beside the URL field and nothing is created', async () => {
    const dlg = await newChannel();
    expect(await dlg.getByLabel('Kind').inputValue()).toBe('webhook');
    await dlg.getByLabel('Name', { exact: true }).fill('ops');
    await dlg.getByLabel('URL', { exact: true }).fill('not a url');
    await dlg.getByLabel(/HMAC secret/).fill(HMAC_KEY);
    await dlg.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => dlg.locator('#ch-url-err').textContent()).toMatch(/URL is not a URL/);
    const url = dlg.getByLabel('URL', { exact: true });
    expect(await url.getAttribute('aria-invalid')).toBe('true');
    expect(await url.getAttribute('aria-describedby')).toContain('ch-url-err');
    await shot(page, 'notifications-url-error-1280');
    expect(await channels()).toEqual([]);

    await url.fill(hookUrl);
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'hidden' });
    const r = row('ops');
    await expect.poll(() => r.locator('td[data-label="Destination"]').textContent()).toBe(hookUrl);
    expect(await r.locator('td[data-label="Kind"]').textContent()).toBe('Webhook');
    expect(await r.locator('td[data-label="Secret"]').textContent()).toMatch(/set/);
    expect(await r.locator('td[data-label="Status"]').textContent()).toMatch(/enabled/);
    const [ch] = await channels();
    expect(ch).toMatchObject({ name: 'ops', kind: 'webhook', url: hookUrl, enabled: true, hasSecret: true });
  });

  step('Send test: the receiver gets the payload signed with the HMAC key; the history shows it sent', async () => {
    const r = row('ops');
    await r.getByRole('button', { name: 'Send a test to ops' }).click();
    await expect.poll(() => r.getByRole('status').textContent()).toMatch(/Test sent\./);
    expect(received).toHaveLength(1);
    const got = received[0];
    expect(got.path).toBe('/hook');
    expect(got.headers['x-lifeboat-event']).toBe('test');
    expectSigned(got, HMAC_KEY);
    expect(JSON.parse(got.body)).toMatchObject({ event: 'test', subject: { kind: 'test', name: 'ops' } });
    const hist = page.locator('#deliveries tbody tr').first();
    await expect.poll(() => hist.locator('td[data-label="Status"]').textContent()).toBe('sent');
    expect(await hist.locator('td[data-label="Channel"]').textContent()).toBe('ops');
    expect(await hist.locator('td[data-label="Event"]').textContent()).toBe('test');
    expect(await hist.locator('td[data-label="Subject"]').textContent()).toBe('ops');
    expect(await hist.locator('td[data-label="Attempts"]').innerText()).toMatch(/^1\b[\s\S]*sent \(HTTP 204\)/);
    await shot(page, 'notifications-1280');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'notifications-dark-1280');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  step('edit with the secret left empty keeps it (the next test is signed with the same key); removing it clears it', async () => {
    await rowAction(row('ops'), 'Edit channel ops');
    const dlg = dialog('Edit channel ops');
    const secret = dlg.getByLabel(/HMAC secret/);
    expect(await secret.inputValue()).toBe('');
    expect(await secret.getAttribute('placeholder')).toBe('set — leave empty to keep');
    expect(await dlg.getByLabel('Kind').isDisabled()).toBe(true);
    await dlg.getByLabel('Name', { exact: true }).fill('ops-hook');
    await shot(page, 'notifications-edit-1280');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    await row('ops-hook').waitFor();
    expect((await channels())[0]).toMatchObject({ name: 'ops-hook', hasSecret: true, url: hookUrl });
    await row('ops-hook').getByRole('button', { name: 'Send a test to ops-hook' }).click();
    await expect.poll(() => received.length).toBe(2);
    expectSigned(received[1], HMAC_KEY);

    await rowAction(row('ops-hook'), 'Edit channel ops-hook');
    const dlg2 = dialog('Edit channel ops-hook');
    await dlg2.getByLabel('Remove the hmac secret').check();
    expect(await dlg2.getByLabel(/HMAC secret/).isDisabled()).toBe(true);
    await dlg2.getByRole('button', { name: 'Save' }).click();
    await dlg2.waitFor({ state: 'hidden' });
    await expect.poll(() => row('ops-hook').locator('td[data-label="Secret"]').textContent()).toMatch(/none/);
    expect((await channels())[0].hasSecret).toBe(false);
  });

  step('disable and enable again from the row', async () => {
    const r = row('ops-hook');
    await rowAction(r, 'Disable channel ops-hook');
    await expect.poll(() => r.locator('td[data-label="Status"]').textContent()).toMatch(/disabled/);
    expect((await channels())[0].enabled).toBe(false);
    await rowAction(r, 'Enable channel ops-hook');
    await expect.poll(() => r.locator('td[data-label="Status"]').textContent()).toMatch(/enabled/);
    expect((await channels())[0].enabled).toBe(true);
  });

  step('an email channel: a wrong recipient is named beside To and nothing is created; with good fields it is listed', async () => {
    const dlg = await newChannel();
    await dlg.getByLabel('Name', { exact: true }).fill('mail');
    await dlg.getByLabel('Kind').selectOption('email');
    expect(await dlg.getByLabel('Port').inputValue()).toBe('465'); // TLS by default
    await dlg.getByLabel('Security').selectOption('starttls');
    expect(await dlg.getByLabel('Port').inputValue()).toBe('587'); // follows the security
    await dlg.getByLabel('SMTP host').fill('mail.example.org');
    await dlg.getByLabel(/Username/).fill('lifeboat');
    await dlg.getByLabel(/Password/).fill('smtp-password');
    await dlg.getByLabel('From').fill('lifeboat@example.org');
    await dlg.getByLabel('To', { exact: true }).fill('ops@example.org, not-an-address');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => dlg.locator('#ch-email-to-err').textContent()).toBe('“not-an-address” is not an email address');
    expect(await dlg.getByLabel('To', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await shot(page, 'notifications-email-error-1280');
    expect((await channels()).map((c) => c.name)).toEqual(['ops-hook']);

    await dlg.getByLabel('To', { exact: true }).fill('ops@example.org\noncall@example.org');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => dlg.isHidden()).toBe(true); // the Node entry has an SMTP sender: created
    const r = row('mail');
    await expect
      .poll(() => r.locator('td[data-label="Destination"]').textContent())
      .toBe('SMTP mail.example.org:587 → ops@example.org, oncall@example.org');
    expect(await r.locator('td[data-label="Secret"]').textContent()).toMatch(/set/);
    const mail = (await channels()).find((c) => c.name === 'mail')!;
    expect(mail).toMatchObject({ kind: 'email', hasSecret: true });
  });

  step('390 px: the channels, the history and the email form fit without sideways scrolling', async () => {
    const { context: ctx, page: p, problems: pr } = await browser.newPage(390, 844, { mobile: true });
    try {
      await p.goto(srv.url + '/signin');
      await p.getByLabel('Admin API token').fill(srv.admin);
      await p.getByLabel('Admin API token').press('Enter');
      await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      await p.goto(srv.url + '/settings/notifications');
      await p.locator('#deliveries tbody tr td[data-label="Status"]').first().waitFor();
      await shot(p, 'notifications-390');
      await expectNoSidewaysScroll(p, '/settings/notifications', 390);
      await p.getByRole('button', { name: 'New channel' }).click();
      const dlg = p.getByRole('dialog', { name: 'New notification channel' });
      await dlg.getByLabel('Kind').selectOption('email');
      await dlg.getByLabel('SMTP host').waitFor();
      await shot(p, 'notifications-email-form-390');
      await expectNoSidewaysScroll(p, '/settings/notifications (email form)', 390);
      await dlg.getByRole('button', { name: 'Cancel' }).click();
      await p.goto(srv.url + '/settings');
      await p.getByRole('link', { name: 'Notification channels and history' }).waitFor();
      await shot(p, 'settings-notifications-link-390');
      await expectNoSidewaysScroll(p, '/settings', 390);
      expect(pr.errors).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  step('the history filters by channel; deleting a channel after a confirmation removes it and its history', async () => {
    const filter = page.getByLabel('Channel', { exact: true });
    const id = (await channels()).find((c) => c.name === 'ops-hook')!.id;
    await filter.selectOption(String(id));
    await expect.poll(() => page.locator('#deliveries tbody tr').count()).toBe(2);
    for (const c of await page.locator('#deliveries td[data-label="Channel"]').allTextContents()) expect(c).toBe('ops-hook');

    await rowAction(row('ops-hook'), 'Delete channel ops-hook');
    const confirm = dialog('Delete channel ops-hook');
    expect(await confirm.innerText()).toMatch(/delivery history is deleted/);
    await shot(page, 'notifications-delete-confirm-1280');
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await page.getByRole('status').filter({ hasText: 'Channel ops-hook deleted.' }).waitFor();
    expect(await row('ops-hook').count()).toBe(0);
    expect((await channels()).some((c) => c.name === 'ops-hook')).toBe(false);
    const left = await srv.api<{ items: { channelId: number }[] }>('GET', '/notifications/deliveries');
    expect(left.body.items.filter((d) => d.channelId === id)).toEqual([]);
    expect(await filter.inputValue()).toBe(''); // back to all channels
    await expectNoSidewaysScroll(page, '/settings/notifications', 1280);
  });
});

describe('job form: old generations and the RPO', () => {
  const job = async () => (await srv.api('GET', `/jobs/${jobId}`)).body;

  async function openEdit(): Promise<Locator> {
    await rowAction(page, 'Edit data');
    const dlg = dialog('Edit job data');
    await dlg.waitFor();
    return dlg;
  }

  step('the defaults are shown: keep the newest 2, no age rule, the RPO twice the hourly schedule', async () => {
    await page.goto(srv.url + '/backups/jobs');
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
    const before = await job();
    expect(before).toMatchObject({ keepGenerations: 2, keepGenerationDays: null, rpoSeconds: null, rpoEffectiveSeconds: 7200 });
    const dlg = await openEdit();
    expect(await dlg.getByLabel('Old generations: keep newest').inputValue()).toBe('2');
    expect(await dlg.getByLabel('…and/or keep for days after replaced').inputValue()).toBe('');
    expect(await dlg.locator('#j-generations-hint').textContent()).toMatch(/Keeps the newest 2 generations[^;]*; no age rule/);
    expect(await dlg.getByLabel(/^RPO:/).inputValue()).toBe('');
    expect(await dlg.locator('#j-rpo-hint').textContent()).toMatch(/Empty: the default, now 2 h \(twice the schedule’s longest interval\)/);
    // the schedule in words (cronstrue), in the form's preview and in the list behind it
    expect(await dlg.locator('#j-schedule-preview span').first().textContent()).toBe('Every hour');
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.locator('.hint', { hasText: /^Every hour$/ }).count()).toBe(1);
  });

  step('wrong values are refused beside their fields', async () => {
    const dlg = await openEdit();
    await dlg.getByLabel('Old generations: keep newest').fill('0');
    await dlg.getByLabel(/^RPO:/).fill('0.5');
    await dlg.getByLabel('RPO unit').selectOption('minutes');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => dlg.locator('#j-keepGenerations-err').textContent()).toMatch(/Keep newest must be an integer ≥ 1/);
    await expect.poll(() => dlg.locator('#j-rpoSeconds-err').textContent()).toMatch(/RPO must be at least 60 seconds/);
    expect(await dlg.getByLabel(/^RPO:/).getAttribute('aria-describedby')).toContain('j-rpoSeconds-err');
    await shot(page, 'job-form-generations-error-1280');
    expect(await job()).toMatchObject({ keepGenerations: 2, rpoSeconds: null });
    await dlg.getByRole('button', { name: 'Cancel' }).click();
  });

  step('keep newest 3 and 14 days, RPO 90 minutes: saved, and shown again as entered', async () => {
    const dlg = await openEdit();
    await dlg.getByLabel('Old generations: keep newest').fill('3');
    await dlg.getByLabel('…and/or keep for days after replaced').fill('14');
    await dlg.getByLabel(/^RPO:/).fill('90');
    await dlg.getByLabel('RPO unit').selectOption('minutes');
    expect(await dlg.locator('#j-generations-hint').textContent()).toMatch(/Keeps the newest 3 generations .*, and any other for 14 days/);
    expect(await dlg.locator('#j-rpo-hint').textContent()).toMatch(/within 90 min/);
    await dlg.locator('#j-keepGenerations').scrollIntoViewIfNeeded();
    await shot(page, 'job-form-generations-1280');
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    expect(await job()).toMatchObject({ keepGenerations: 3, keepGenerationDays: 14, rpoSeconds: 5400, rpoEffectiveSeconds: 5400 });
    const again = await openEdit();
    expect(await again.getByLabel('Old generations: keep newest').inputValue()).toBe('3');
    expect(await again.getByLabel('…and/or keep for days after replaced').inputValue()).toBe('14');
    expect(await again.getByLabel(/^RPO:/).inputValue()).toBe('90');
    expect(await again.getByLabel('RPO unit').inputValue()).toBe('minutes');
    // 2 hours: stored in seconds
    await again.getByLabel(/^RPO:/).fill('2');
    await again.getByLabel('RPO unit').selectOption('hours');
    await again.getByRole('button', { name: 'Save' }).click();
    await again.waitFor({ state: 'hidden' });
    expect((await job()).rpoSeconds).toBe(7200);
  });

  step('both generation fields and the RPO emptied: every old generation is kept, the RPO is the default again', async () => {
    const dlg = await openEdit();
    await dlg.getByLabel('Old generations: keep newest').fill('');
    await dlg.getByLabel('…and/or keep for days after replaced').fill('');
    await dlg.getByLabel(/^RPO:/).fill('');
    expect(await dlg.locator('#j-generations-hint').textContent()).toMatch(/Both empty: every old generation is kept/);
    await dlg.getByRole('button', { name: 'Save' }).click();
    await dlg.waitFor({ state: 'hidden' });
    expect(await job()).toMatchObject({ keepGenerations: null, keepGenerationDays: null, rpoSeconds: null, rpoEffectiveSeconds: 7200 });
  });

  step('390 px: the job form with the new fields fits without sideways scrolling', async () => {
    const { context: ctx, page: p, problems: pr } = await browser.newPage(390, 844, { mobile: true });
    try {
      await p.goto(srv.url + '/signin');
      await p.getByLabel('Admin API token').fill(srv.admin);
      await p.getByLabel('Admin API token').press('Enter');
      await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      await nav(p, 'Jobs');
      await rowAction(p, 'Edit data');
      const dlg = p.getByRole('dialog', { name: 'Edit job data' });
      await dlg.getByLabel(/^RPO:/).waitFor();
      await dlg.locator('#j-rpo').scrollIntoViewIfNeeded();
      await shot(p, 'job-form-rpo-390');
      await dlg.locator('#j-keepGenerations').scrollIntoViewIfNeeded();
      await shot(p, 'job-form-generations-390');
      await expectNoSidewaysScroll(p, '/backups/jobs (job form)', 390);
      const dialogOverflow = await dlg.evaluate(
        (el) => el.querySelector('.dlg-body')!.scrollWidth - el.querySelector('.dlg-body')!.clientWidth,
      );
      expect(dialogOverflow, 'the job form scrolls sideways at 390 px').toBeLessThanOrEqual(0);
      expect(pr.errors).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  it('the browser console had no errors (the refused forms were expected 4xx)', () => {
    expect(problems.errors).toEqual([]);
    expect(problems.expected4xx.some((l) => /status of 400/.test(l))).toBe(true);
  });
});
