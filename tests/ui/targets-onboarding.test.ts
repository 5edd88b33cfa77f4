// Targets onboarding in Debian's Chromium against the real Node entry (no local runner, no ZFS:
// the test speaks for the node, README "Adding a target"): a key pair made by the server shows its
// authorized_keys line and the zfs allow lines with copy buttons and never the private key; the
// validation starts on create; the host key it saw is shown and pinned only by a confirmation; the
// job form's target picker says how ready each target is. Needs `npm run build` (npm test does it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { joinFakeNode, runnerCall, startServer, type TestServer } from '../helpers/server.ts';
import { expectNoSidewaysScroll, openBrowser, rowAction, shot, uiBuild, signInWithToken } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

let srv: TestServer;
let page: Page;
let edge: { nodeId: number; nodeToken: string };
const FP = 'SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const ALLOW =
  'zfs allow -u lifeboat create,mount,canmount,mountpoint,readonly,receive,userprop,clone,promote,send,destroy,hold,release tank/backups';

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_UI_DIR: uiDir }));
  edge = await joinFakeNode(srv, 'edge', {
    zfsVersion: 'zfs-2.3.2-1',
    pools: ['tank'],
    datasets: [{ name: 'tank' }, { name: 'tank/data' }],
  });
  ({ page } = await openBrowser(teardown));
  await signInWithToken(page, srv, '/backups/targets', 'Targets');
}, 120_000);

afterAll(() => teardown.run(), 60_000);

describe('Targets onboarding', () => {
  it('generates a key pair and shows the authorized_keys line and the zfs allow lines, never the private key', async () => {
    await page.getByRole('button', { name: 'New target' }).click();
    const dlg = page.getByRole('dialog', { name: 'New target' });
    await dlg.getByLabel('Name', { exact: true }).fill('offsite');
    await dlg.getByLabel('SSH Host').fill('192.0.2.10');
    await dlg.getByLabel('SSH User').fill('lifeboat');
    await dlg.getByLabel('Backup Root', { exact: true }).fill('tank/backups');
    expect(await dlg.getByLabel('Generate a key pair (recommended)').isChecked()).toBe(true);
    expect(await dlg.getByLabel('SSH Private Key').count()).toBe(0); // nothing to paste
    await shot(page, 'target-form-keypair-1280');
    await dlg.getByRole('button', { name: 'Create' }).click();
    await dlg.waitFor({ state: 'hidden' });

    const setup = page.getByRole('dialog', { name: 'Set up target offsite' });
    const line = (await setup.getByLabel('authorized_keys line').textContent())?.trim();
    expect(line).toMatch(/^restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=* lifeboat-offsite$/);
    expect(await setup.getByLabel('zfs allow commands').textContent()).toContain(ALLOW);
    await setup.getByRole('button', { name: 'Copy line' }).click();
    await setup.getByRole('button', { name: 'Copied' }).waitFor();
    await setup.getByRole('button', { name: 'Copy commands' }).waitFor();
    expect(await page.content()).not.toMatch(/PRIVATE KEY|b3BlbnNzaC1rZXktdjE/);
    await shot(page, 'target-setup-1280');
    await setup.getByRole('button', { name: 'Done' }).click();
    await setup.waitFor({ state: 'hidden' });
    // the same lines stay at hand, in the row's menu
    await rowAction(page, 'Set-up lines for target offsite');
    expect((await setup.getByLabel('authorized_keys line').textContent())?.trim()).toBe(line);
    await setup.getByRole('button', { name: 'Done' }).click();
  });

  it('validates on create; the host key it saw is shown and pinned only when confirmed', async () => {
    // the validation queued on create, run by the node: it saw the target's host key
    const claim = (await runnerCall(srv, edge.nodeToken, '/claim', { max: 1, waitMs: 0 })) as {
      events: { id: number; kind: string; target: { hostKey: string | null } }[];
    };
    expect(claim.events).toHaveLength(1);
    expect(claim.events[0]).toMatchObject({ kind: 'validate', target: { hostKey: null } });
    await runnerCall(srv, edge.nodeToken, `/events/${claim.events[0].id}/finish`, {
      status: 'success',
      result: { hostKey: 'lifeboat-target ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost', fingerprint: FP },
    });
    const row = page.getByRole('row').filter({ hasText: 'offsite' });
    const hostKey = row.locator('td[data-label="Host key"]');
    await hostKey.getByText(FP).waitFor(); // the page follows the validation it queued
    await hostKey.getByText('Seen, not pinned yet').waitFor();
    expect((await row.locator('td[data-label="Readiness"] .badge').textContent())?.trim()).toBe('Confirm host key');
    await expectNoSidewaysScroll(page, '/backups/targets', 1280);
    await shot(page, 'targets-host-key-pending-1280');

    await row.getByRole('button', { name: 'Confirm the host key of target offsite' }).click();
    const confirm = page.getByRole('dialog', { name: 'Confirm the host key of offsite' });
    await confirm.getByText(FP).waitFor();
    await confirm.getByRole('button', { name: 'Pin this key' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await hostKey.getByText('Seen, not pinned yet').waitFor({ state: 'detached' });
    expect((await hostKey.textContent())?.trim()).toBe(FP);
    expect(await row.getByRole('button', { name: 'Confirm the host key of target offsite' }).count()).toBe(0);
    expect((await row.locator('td[data-label="Readiness"] .badge').textContent())?.trim()).toBe('Ready');
    await shot(page, 'targets-host-key-pinned-1280');
  });

  it("the job form's target picker shows each target's readiness", async () => {
    await srv.api('POST', '/targets', { name: 'spare', sshHost: '192.0.2.11', generateKeyPair: true, backupRoot: 'tank/b' });
    await page.goto(srv.url + '/backups/jobs');
    await page.getByRole('button', { name: 'New job' }).click();
    const dlg = page.getByRole('dialog', { name: 'New job' });
    const options = dlg.getByLabel('Target', { exact: true }).locator('option');
    await expect.poll(() => options.allTextContents()).toEqual(['Choose a target', 'offsite — Ready', 'spare — Not validated']);
  });
});
