// The job form's source picker in Debian's Chromium against the real Node entry (no local runner,
// no ZFS: the test reports a node's inventory as its runner would): a tree of the node's datasets
// with used/referenced sizes, backup copies and restore leftovers hidden, a search that keeps the
// path to each match, the keyboard, and the node's jails with name, id and roots; at 1280 and 390 px.
// Needs `npm run build -w frontend` (npm test does it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import type { ConsoleProblems } from '../helpers/browser.ts';
import { TEST_KEY } from '../helpers/control.ts';
import { joinFakeNode, startServer, type TestServer } from '../helpers/server.ts';
import { expectNoSidewaysScroll, openBrowser, rowAction, shot, uiBuild, signInWithToken } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

let srv: TestServer;
let page: Page;
let problems: ConsoleProblems;

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_UI_DIR: uiDir }));
  await joinFakeNode(srv, 'edge', {
    zfsVersion: 'zfs-2.3.2-1',
    pools: ['tank'],
    datasets: [
      { name: 'tank', usedBytes: 120 * GiB, referencedBytes: 96 * 1024 },
      { name: 'tank/data', usedBytes: 40 * GiB, referencedBytes: 12 * GiB },
      { name: 'tank/data/photos', usedBytes: 28 * GiB, referencedBytes: 28 * GiB },
      { name: 'tank/jails', usedBytes: 3 * GiB, referencedBytes: 96 * 1024 },
      { name: 'tank/jails/www', usedBytes: 2 * GiB, referencedBytes: 1536 * MiB },
      { name: 'tank/jails/www-data', usedBytes: 512 * MiB, referencedBytes: 500 * MiB },
      // hidden: a backup copy this node received as another node's target, and restore leftovers
      { name: 'tank/backups', usedBytes: 60 * GiB, referencedBytes: 96 * 1024 },
      { name: 'tank/backups/j4', usedBytes: 60 * GiB, referencedBytes: 96 * 1024, role: 'backup' },
      { name: 'tank/backups/j4/g1/zroot/home', usedBytes: 60 * GiB, referencedBytes: 60 * GiB, role: 'backup' },
      { name: 'tank/.lb-staging-9-data', usedBytes: 1 * GiB, referencedBytes: 96 * 1024, role: 'staging' },
      { name: 'tank/data-lb-old-8', usedBytes: 39 * GiB, referencedBytes: 11 * GiB, role: 'set-aside' },
    ],
    guests: [
      {
        kind: 'jail',
        id: '7',
        name: 'www',
        roots: ['tank/jails/www', 'tank/jails/www-data'],
        network: null,
        running: true,
        provider: 'jail',
      },
      { kind: 'vm', id: 'db1', name: 'db1', roots: ['tank/vm/db1'], network: null, running: false, provider: 'vm-bhyve' },
    ],
  });
  await srv.api('POST', '/targets', { name: 'offsite', sshHost: '192.0.2.10', sshPrivateKey: TEST_KEY, backupRoot: 'bk/b' });
  ({ page, problems } = await openBrowser(teardown));
  await page.setViewportSize({ width: 1280, height: 800 });
  await signInWithToken(page, srv, '/backups/jobs', 'Jobs');
}, 120_000);

afterAll(() => teardown.run(), 60_000);

let dlg: Locator;
const tree = () => dlg.getByRole('tree', { name: 'Source dataset' });
const item = (name: string) => tree().getByRole('treeitem', { name, exact: true });
/** The drawn rows: full name (the item's label), its level and, for a branch, whether it is open. */
const rows = () =>
  tree()
    .getByRole('treeitem')
    .evaluateAll((els) =>
      els.map((e) => {
        const open = e.getAttribute('aria-expanded');
        return `${e.getAttribute('aria-level')} ${e.getAttribute('aria-label')}${open === null ? '' : open === 'true' ? ' -' : ' +'}`;
      }),
    );

describe('source picker', () => {
  it('a tree of the datasets with used and referenced sizes; backup copies and restore leftovers are not offered', async () => {
    await page.getByRole('button', { name: 'New job' }).click();
    dlg = page.getByRole('dialog', { name: 'New job' });
    // one node: chosen already, its inventory loads into the tree with the pool open
    await item('tank/data').waitFor();
    expect(await rows()).toEqual(['1 tank -', '2 tank/backups', '2 tank/data +', '2 tank/jails +']);
    // sizes in binary units, read with the name (aria-describedby)
    const data = item('tank/data');
    expect(await data.locator('.size .num').allInnerTexts()).toEqual(['40.0 GiB', '12.0 GiB']);
    const described = await data.getAttribute('aria-describedby');
    expect((await page.locator(`[id="${described}"]`).textContent())?.replace(/\s+/g, ' ').trim()).toBe(
      '40.0 GiB used, 12.0 GiB referenced',
    );
    await expect.poll(() => dlg.locator('.status').innerText()).toMatch(/^7 datasets; 4 backup copies and restore leftovers hidden$/);
    // the hidden ones are not found by a search either
    await dlg.getByLabel('Filter datasets').fill('lb-');
    await expect.poll(() => rows()).toEqual([]);
    await dlg.getByLabel('Filter datasets').fill('j4');
    await expect.poll(() => rows()).toEqual([]);
    await dlg.getByLabel('Filter datasets').fill('');
    await expectNoSidewaysScroll(page, 'job form', 1280);
  });

  it('typing filters the tree and keeps the path to each match; a click chooses', async () => {
    await dlg.getByLabel('Filter datasets').fill('WWW');
    await expect.poll(() => rows()).toEqual(['1 tank -', '2 tank/jails -', '3 tank/jails/www', '3 tank/jails/www-data']);
    await expect.poll(() => dlg.locator('.status').innerText()).toMatch(/^2 datasets match “WWW”/);
    await item('tank/jails/www').click();
    expect(await item('tank/jails/www').getAttribute('aria-selected')).toBe('true');
    await shot(page, 'source-picker-search-1280');
    // clearing the search keeps the choice, with the way to it open
    await dlg.getByLabel('Filter datasets').fill('');
    await expect
      .poll(() => rows())
      .toEqual(['1 tank -', '2 tank/backups', '2 tank/data +', '2 tank/jails -', '3 tank/jails/www', '3 tank/jails/www-data']);
    expect(await item('tank/jails/www').getAttribute('aria-selected')).toBe('true');
  });

  it('the keyboard: one tab stop, arrows move and open, Enter chooses', async () => {
    // the tab stop is the chosen row
    await dlg.getByLabel('Filter datasets').focus();
    await page.keyboard.press('Tab');
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? null);
    expect(await focused()).toBe('tank/jails/www');
    await page.keyboard.press('ArrowLeft'); // a leaf: to its parent
    expect(await focused()).toBe('tank/jails');
    await page.keyboard.press('ArrowLeft'); // open: closes
    await expect.poll(() => rows()).toEqual(['1 tank -', '2 tank/backups', '2 tank/data +', '2 tank/jails +']);
    await page.keyboard.press('ArrowUp');
    expect(await focused()).toBe('tank/data');
    await page.keyboard.press('ArrowRight'); // closed: opens
    await expect.poll(() => rows()).toContain('3 tank/data/photos');
    await page.keyboard.press('ArrowRight'); // open: into it
    expect(await focused()).toBe('tank/data/photos');
    await page.keyboard.press('Enter');
    expect(await item('tank/data/photos').getAttribute('aria-selected')).toBe('true');
    expect(
      await tree()
        .locator('[aria-selected="true"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label'))),
    ).toEqual(['tank/data/photos']);
    await page.keyboard.press('Home');
    expect(await focused()).toBe('tank');
    await page.keyboard.press('End');
    expect(await focused()).toBe('tank/jails');
    await page.keyboard.press('Space');
    expect(await item('tank/jails').getAttribute('aria-selected')).toBe('true');
    // the job is created with the chosen source
    await dlg.getByLabel('Name', { exact: true }).fill('jails');
    await dlg.getByLabel('Target', { exact: true }).selectOption({ label: 'offsite — Not validated' });
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'hidden' });
    const jobs = (await srv.api('GET', '/jobs')).body.items;
    expect(jobs.map((j) => [j.name, j.source])).toEqual([['jails', 'tank/jails']]);
    await page.getByRole('row').filter({ hasText: 'jails' }).waitFor();
  });

  it('editing a job: its source is chosen, with the way to it open', async () => {
    const targetId = (await srv.api('GET', '/targets')).body.items[0].id;
    const made = await srv.api('POST', '/jobs', { name: 'photos', targetId, mode: 'dataset', source: 'tank/data/photos' });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    await page.reload();
    await rowAction(page.getByRole('row').filter({ hasText: 'photos' }), 'Edit photos');
    dlg = page.getByRole('dialog', { name: 'Edit job photos' });
    await item('tank/data/photos').waitFor();
    expect(await rows()).toEqual(['1 tank -', '2 tank/backups', '2 tank/data -', '3 tank/data/photos', '2 tank/jails +']);
    expect(await item('tank/data/photos').getAttribute('aria-selected')).toBe('true');
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'hidden' });
  });

  it('jails and VMs: name, id and roots', async () => {
    await page.getByRole('button', { name: 'New job' }).click();
    dlg = page.getByRole('dialog', { name: 'New job' });
    await dlg.getByLabel('Jail', { exact: true }).check();
    const group = dlg.getByRole('radiogroup', { name: 'Source jail' });
    const www = group.getByRole('radio');
    await www.waitFor();
    expect(await www.count()).toBe(1);
    expect((await group.locator('label').innerText()).replace(/\s+/g, ' ').trim()).toBe(
      'www ID 7 · running roots tank/jails/www, tank/jails/www-data',
    );
    await www.check();
    await dlg.getByLabel('VM', { exact: true }).check();
    const vms = dlg.getByRole('radiogroup', { name: 'Source VM' });
    await vms.getByRole('radio').waitFor();
    expect((await vms.locator('label').innerText()).replace(/\s+/g, ' ').trim()).toBe('db1 ID db1 root tank/vm/db1');
    await dlg.getByLabel('Filter VMs').fill('nothing');
    await expect.poll(() => vms.getByRole('radio').count()).toBe(0);
    await dlg.getByLabel('Filter VMs').fill('tank/vm');
    await expect.poll(() => vms.getByRole('radio').count()).toBe(1);
    await shot(page, 'source-picker-vm-1280');
  });

  it('at phone width the tree fits without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await dlg.getByLabel('Dataset', { exact: true }).check();
    await item('tank/data').waitFor();
    await expectNoSidewaysScroll(page, 'job form', 390);
    await shot(page, 'source-picker-390');
  });

  it('New job opened before the page has its nodes (a slow link): the only node is chosen once they arrive', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await page.route(
      (u) => u.pathname === '/api/v1/nodes',
      async (route) => {
        await gate;
        await route.continue();
      },
    );
    await page.reload({ waitUntil: 'commit' });
    await page.getByRole('button', { name: 'New job' }).click();
    dlg = page.getByRole('dialog', { name: 'New job' });
    await dlg.getByText('Choose a node first.').waitFor();
    release();
    await page.unrouteAll({ behavior: 'wait' });
    await item('tank/data').waitFor(); // the node was chosen: its inventory is in the tree
    await dlg.getByRole('button', { name: 'Cancel' }).click();
    await dlg.waitFor({ state: 'hidden' });
  });

  it('the browser console had no errors', () => {
    expect(problems.errors).toEqual([]);
  });
});
