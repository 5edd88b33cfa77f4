// The Nodes page in Debian's Chromium against the real Node entry (no local runner, no ZFS: the
// test speaks for two nodes): online or offline, the runner's and ZFS's versions, each pool's free
// space, jobs and guests; at 1280 and 390 px without sideways scrolling, with screenshots.
// Needs `npm run build -w frontend` (npm test does it).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { TEST_KEY } from '../helpers/control.ts';
import { joinFakeNode, startServer, type TestServer } from '../helpers/server.ts';
import { expectNoSidewaysScroll, openBrowser, shot, uiBuild, signInWithToken } from '../helpers/ui.ts';
import { Teardown } from '../helpers/world.ts';

let srv: TestServer;
let page: Page;

/** Join a node as its runner would and report `inventory` for it. */
const node = async (name: string, inventory: Record<string, unknown>) => (await joinFakeNode(srv, name, inventory)).nodeId;

const teardown = new Teardown();
beforeAll(async () => {
  const uiDir = await uiBuild(teardown);
  srv = teardown.own(await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', LIFEBOAT_UI_DIR: uiDir }));
  const edge = await node('edge', {
    zfsVersion: 'zfs-2.3.2-1',
    runnerVersion: '0.1.0',
    pools: ['tank'],
    poolSpace: [{ name: 'tank', usedBytes: 3 * 2 ** 30, availableBytes: 120 * 2 ** 30 }],
    datasets: [{ name: 'tank' }, { name: 'tank/data' }],
    guests: [{ kind: 'jail', id: 'www', name: 'www', roots: ['tank/data'], network: null, running: true, provider: 'jail' }],
  });
  await node('old', { zfsVersion: 'zfs-fuse 0.7', pools: ['pool'], datasets: [{ name: 'pool' }] });
  const target = await srv.api('POST', '/targets', {
    name: 'offsite',
    sshHost: '192.0.2.10',
    sshPrivateKey: TEST_KEY,
    backupRoot: 'tank/b',
  });
  const job = await srv.api('POST', '/jobs', {
    name: 'data',
    targetId: target.body.id,
    nodeId: edge,
    mode: 'dataset',
    source: 'tank/data',
  });
  expect(job.status, JSON.stringify(job.body)).toBe(201);
  ({ page } = await openBrowser(teardown));
  await signInWithToken(page, srv, '/nodes', 'Nodes');
}, 120_000);

afterAll(() => teardown.run(), 60_000);

const row = (name: string) => page.getByRole('row').filter({ has: page.getByText(name, { exact: true }) });

describe('Nodes page', () => {
  it('each node: online, its versions, its pools with free space, its jobs and guests', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const edge = row('edge');
    await edge.getByText('online').waitFor();
    expect(await edge.getByRole('cell').allInnerTexts()).toEqual([
      expect.stringContaining('edge'),
      'online',
      expect.stringMatching(/just now|seconds? ago/),
      'zfs-2.3.2-1\nrunner 0.1.0',
      'tank 120 GiB',
      '1',
      '1',
      expect.stringContaining('Revoke'),
    ]);
    const old = row('old');
    await expect.poll(() => old.getByRole('cell').nth(3).innerText()).toBe('zfs-fuse 0.7\nrunner unknown');
    expect(await old.getByRole('cell').nth(4).innerText()).toBe('pool'); // no free space reported by an older runner
    await expectNoSidewaysScroll(page, '/nodes', 1280);
    await shot(page, 'nodes-1280');
  });

  it('at phone width the same facts, stacked, without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await row('edge').getByText('tank 120 GiB').waitFor();
    await expectNoSidewaysScroll(page, '/nodes', 390);
    await shot(page, 'nodes-390');
  });
});
