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

  it('datasets carry their role (backup copy, restore leftover), from the report or, from an older runner, by name', async () => {
    const node = await joinNode(ctl, 'n1');
    // more rows than one insert statement takes (16 under D1's 100 bound parameters)
    const many = Array.from({ length: 40 }, (_, i) => ({
      name: `tank/bk/j1/g1/tank/d${String(i).padStart(2, '0')}`,
      role: 'backup' as const,
    }));
    const inv = await ctl.node(node.token, '/runner/inventory', {
      zfsVersion: 'zfs-2.3.2',
      pools: ['tank'],
      datasets: [
        { name: 'tank', usedBytes: 10, referencedBytes: 1 },
        { name: 'tank/data', role: null },
        { name: 'tank/.lb-staging-7-data', role: 'staging' },
        { name: 'tank/data-lb-old-7', role: 'set-aside' },
        ...many,
      ],
    });
    expect(inv.status, JSON.stringify(inv.body)).toBe(200);
    const roles = async () => Object.fromEntries((await ctl.api('GET', `/nodes/${node.id}`)).body.datasets.map((d) => [d.name, d.role]));
    const got = await roles();
    expect(Object.keys(got)).toHaveLength(44);
    expect(got).toMatchObject({ tank: null, 'tank/data': null, 'tank/.lb-staging-7-data': 'staging', 'tank/data-lb-old-7': 'set-aside' });
    expect(many.every((d) => got[d.name] === 'backup')).toBe(true);

    // an unknown role is refused, naming the field, and the last inventory stays
    const bad = await ctl.node<ApiErrorBody>(node.token, '/runner/inventory', {
      zfsVersion: 'zfs-2.3.2',
      datasets: [{ name: 'tank' }, { name: 'tank/x', role: 'mine' }],
    });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.error.fields)).toEqual(['datasets.1.role']);
    expect(await roles()).toEqual(got);

    // an older runner reports no roles: its restore leftovers are known by their names
    const old = await ctl.node(node.token, '/runner/inventory', {
      zfsVersion: 'zfs-fuse 0.7',
      datasets: [{ name: 'tank' }, { name: 'tank/.lb-staging-9-www' }, { name: 'tank/.lb-staging-9-www/a' }, { name: 'tank/www-lb-old-9' }],
    });
    expect(old.status).toBe(200);
    expect(await roles()).toEqual({
      tank: null,
      'tank/.lb-staging-9-www': 'staging',
      'tank/.lb-staging-9-www/a': 'staging',
      'tank/www-lb-old-9': 'set-aside',
    });
  });
});
