// The out-of-band restore wizard for a guest, in Debian's Chromium against the whole system (Node
// entry, local runner with a manifest jail, zfs-fuse pools, a real sshd as the target). The jail's
// job and its backup are set up through the API; the restore happens through the UI: the user's
// own network configuration wins over the backup's, a key outside the allow-list is named next to
// the field and blocks Restore, and the wizard shows exactly the entry that is then registered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { ConsoleProblems } from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { nav, openBrowser, shot, uiBuild } from '../helpers/ui.ts';
import { addLoopbackTarget, localNode, startWorld, Teardown } from '../helpers/world.ts';
import { zfs, type TestPool } from '../helpers/zfs.ts';

let srv: TestServer;
let src: TestPool;
let context: BrowserContext;
let page: Page;
let problems: ConsoleProblems;
let dir: string;
let manifest: string;

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  dir = mkdtempSync(join(tmpdir(), 'lb-ui-guest-'));
  teardown.defer(() => rmSync(dir, { recursive: true, force: true }));
  const w = await startWorld(teardown, { src: { prefix: 'lbug', mounted: true }, tgt: { prefix: 'lbugt', mounted: false } });
  src = w.pools.src;
  await zfs('create', '-p', `${src.name}/jails/www`);
  const mnt = (await zfs('get', '-H', '-o', 'value', 'mountpoint', `${src.name}/jails/www`)).trim();
  writeFileSync(join(mnt, 'index.html'), 'hello');
  manifest = join(dir, 'guests.json');
  writeFileSync(
    manifest,
    JSON.stringify(
      {
        guests: [
          {
            kind: 'jail',
            id: '7',
            name: 'www',
            roots: [`${src.name}/jails/www`],
            network: { 'ip4.addr': ['192.0.2.7/24'] },
            status: ['false'],
            stop: ['true'],
            start: ['true'],
          },
        ],
      },
      null,
      2,
    ),
  );
  srv = teardown.own(
    await startServer({
      LIFEBOAT_RUNNER_POOLS: src.name,
      LIFEBOAT_RUNNER_MANIFEST: manifest,
      LIFEBOAT_RUNNER_INVENTORY_MS: '2000',
      LIFEBOAT_UI_DIR: uiDir,
    }),
  );
  await localNode(srv, 'the jail in the inventory', (n) => n.guests.some((g) => g.id === '7'));
  const targetId = await addLoopbackTarget(srv, w);
  const job = (await srv.api('POST', '/jobs', { name: 'www', targetId, mode: 'jail', source: '7' })).body;
  const b = await srv.waitEvent((await srv.api('POST', `/jobs/${job.id}/run`)).body.eventId);
  expect(b.status, b.error).toBe('success');
  ({ context, page, problems } = await openBrowser(teardown));
  teardown.defer(() => context.close()); // before the browser stops
}, 180_000);

afterAll(() => teardown.run(), 120_000);

describe('OOB restore of a jail in the browser', () => {
  it('your own network config: checked at the field, previewed exactly, and registered as previewed', async () => {
    await page.goto(srv.url + '/signin');
    await page.getByLabel('Admin API token').fill(srv.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await nav(page, 'Jobs');
    await page.getByRole('button', { name: 'Restore from target…' }).click();
    const dlg = page.getByRole('dialog', { name: 'Restore from a target' });
    const next = dlg.getByRole('button', { name: 'Next' });
    // the only target and the only node are skipped: the wizard opens on the datasets
    await dlg
      .getByRole('radiogroup', { name: 'Dataset on Target' })
      .getByRole('radio', { name: /Jail www/ })
      .check();
    await next.click();
    const gens = dlg.getByRole('radiogroup', { name: 'Generation' });
    await gens
      .or(dlg.getByRole('radiogroup', { name: 'Snapshot' }))
      .first()
      .waitFor();
    if (await gens.count()) await next.click(); // more than one generation: the current one is chosen
    await dlg.getByRole('radiogroup', { name: 'Snapshot' }).getByRole('radio').first().check();
    await next.click();
    await dlg.getByLabel('Destination Dataset').fill(`${src.name}/jails/www9`);
    await dlg.getByLabel(/New CT ID/).fill('9');
    const restore = dlg.getByRole('button', { name: 'Restore', exact: true });
    const preview = dlg.getByLabel('Registration preview');
    // from the backup (the default): the backup's address in the entry
    await expect.poll(() => preview.textContent().catch(() => '')).toContain('192.0.2.7/24');

    await dlg.getByRole('radio', { name: 'My own' }).check();
    const own = dlg.getByLabel('Your network config (JSON)');
    await own.fill('{ "ip4.addr": [');
    await expect.poll(() => dlg.locator('#oob-net-json-err').textContent()).toBe('Network Config is not valid JSON');
    expect(await restore.isDisabled()).toBe(true);
    await own.fill('{ "exec.start": ["touch /tmp/pwned"] }');
    await expect.poll(() => dlg.locator('#oob-net-err').textContent()).toMatch(/exec\.start cannot be set by a restore/);
    expect(await own.getAttribute('aria-invalid')).toBe('true');
    expect(await restore.isDisabled()).toBe(true);
    await own.fill('{ "ip4.addr": ["198.51.100.9/24"] }');
    await expect.poll(() => preview.textContent().catch(() => '')).toContain('198.51.100.9/24');
    expect(await preview.textContent()).not.toContain('192.0.2.7');
    expect(await dlg.getByText(/network: yours/).count()).toBe(1);
    await shot(page, 'oob-guest-preview-1280');
    const shown = JSON.parse((await preview.textContent())!);
    await expect.poll(() => restore.isDisabled()).toBe(false);
    await restore.click();
    await dlg.waitFor({ state: 'hidden' });
    await srv.waitFor(
      'the jail registered in the manifest',
      async () => JSON.parse(readFileSync(manifest, 'utf8')).guests.some((g: { id: string }) => g.id === '9'),
      120_000,
    );
    const registered = JSON.parse(readFileSync(manifest, 'utf8')).guests.find((g: { id: string }) => g.id === '9');
    expect(registered).toEqual(shown);
    expect(problems.errors).toEqual([]);
  }, 180_000);

  it("opened before the page's lists arrived: the only target and node are chosen (and skipped) once they do", async () => {
    // hold the targets list until the wizard is open (a slow server or network)
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const isTargets = (u: URL) => u.pathname === '/api/v1/targets';
    await page.route(isTargets, async (route) => {
      await held;
      await route.continue();
    });
    try {
      await page.goto(srv.url + '/backups/jobs');
      await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
      await page.getByRole('button', { name: 'Restore from target…' }).click();
      const dlg = page.getByRole('dialog', { name: 'Restore from a target' });
      const next = dlg.getByRole('button', { name: 'Next' });
      await next.waitFor();
      expect(await next.isDisabled()).toBe(true); // no target known yet
      release();
      // the only target, chosen when the list arrived, and the only node: both skipped
      await dlg.getByRole('radiogroup', { name: 'Dataset on Target' }).waitFor();
      await dlg.getByRole('button', { name: 'Cancel' }).click();
      await dlg.waitFor({ state: 'hidden' });
    } finally {
      release();
      await page.unroute(isTargets);
    }
    expect(problems.errors).toEqual([]);
  }, 120_000);
});
