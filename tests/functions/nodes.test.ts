// GET /nodes on a real libSQL file DB: what the Nodes page shows of each node (README, Operations):
// online or offline by when its runner was last heard from, the runner's and ZFS's versions, each
// pool's free space, and its jobs and guests.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { joinNode, makeJob, makeTarget, startControl, type TestControl } from '../helpers/control.ts';
import type { ApiErrorBody } from '../helpers/api.ts';

let ctl: TestControl;
const T0 = Date.parse('2026-12-01T10:00:00Z');
const MIN = 60_000;

beforeEach(async () => {
  ctl = await startControl();
  ctl.clock.now = T0;
});
afterEach(() => ctl.close());

const listed = async (name: string) => (await ctl.api('GET', '/nodes')).body.items.find((n) => n.name === name)!;

describe('nodes', () => {
  it('online while heard from, the versions and free space of its last inventory, its jobs and guests', async () => {
    const node = await joinNode(
      ctl,
      'n1',
      ['tank', 'tank/data', 'tank/www'],
      [{ kind: 'jail', id: 'www', name: 'www', roots: ['tank/www'], network: null, running: true, provider: 'jail' }],
    );
    const inv = await ctl.node(node.token, '/runner/inventory', {
      zfsVersion: 'zfs-2.3.2',
      runnerVersion: '0.1.0',
      pools: ['tank'],
      poolSpace: [{ name: 'tank', usedBytes: 5 << 20, availableBytes: 900 << 20 }],
      datasets: [{ name: 'tank' }, { name: 'tank/data' }, { name: 'tank/www' }],
      guests: [{ kind: 'jail', id: 'www', name: 'www', roots: ['tank/www'], network: null, running: true, provider: 'jail' }],
    });
    expect(inv.status, JSON.stringify(inv.body)).toBe(200);
    const target = await makeTarget(ctl);
    await makeJob(ctl, target.id, { name: 'a', source: 'tank/data' });
    await makeJob(ctl, target.id, { name: 'b', source: 'tank/www' });
    await joinNode(ctl, 'n2');

    expect(await listed('n1')).toMatchObject({
      online: true,
      zfsVersion: 'zfs-2.3.2',
      runnerVersion: '0.1.0',
      poolSpace: [{ name: 'tank', usedBytes: 5 << 20, availableBytes: 900 << 20 }],
      jobCount: 2,
      guestCount: 1,
    });
    expect(await listed('n2')).toMatchObject({ online: true, runnerVersion: null, poolSpace: null, jobCount: 0, guestCount: 0 });
    const detail = (await ctl.api('GET', `/nodes/${node.id}`)).body;
    expect(detail).toMatchObject({ online: true, jobCount: 2, guestCount: 1 });

    // silent past LIFEBOAT_NOTIFY_NODE_SILENT_MINUTES (10): offline; a claim brings it back
    ctl.clock.now = T0 + 10 * MIN + 1;
    expect((await listed('n1')).online).toBe(false);
    await ctl.node(node.token, '/runner/claim', { max: 1, waitMs: 0 });
    expect((await listed('n1')).online).toBe(true);

    // revoked: never online again
    const revoked = await ctl.api('POST', `/nodes/${node.id}/revoke`);
    expect(revoked.body).toMatchObject({ revoked: true, online: false, jobCount: 2 });
  });

  it('a runner cannot report a negative or unnamed pool space', async () => {
    const node = await joinNode(ctl, 'n1');
    const bad = await ctl.node<ApiErrorBody>(node.token, '/runner/inventory', {
      zfsVersion: 'zfs-2.3.2',
      pools: ['tank'],
      poolSpace: [{ name: 'tank', usedBytes: -1, availableBytes: 1 }],
      datasets: [{ name: 'tank' }],
    });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields)).toEqual(['poolSpace.0.usedBytes']);
  });
});
