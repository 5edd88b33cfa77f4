// The whole system as an operator runs it: the Node entry with its local runner (a real child
// process), real zfs-fuse pools and a real sshd on 127.0.0.1 as the target, and a real webhook
// receiver told when a backup starts failing and when it recovers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { z } from '@hono/zod-openapi';
import type * as contract from '../../functions/src/contract/api.ts';
import type { NodeDetail } from '../helpers/api.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { startWebhookReceiver } from '../helpers/webhook.ts';
import type { TestSshd } from '../helpers/sshd.ts';
import { localNode, loopbackTarget, startWorld, Teardown } from '../helpers/world.ts';
import { snapshotGuids, writeRandom, zfs, type TestPool } from '../helpers/zfs.ts';
import { LIFEBOAT_VERSION } from '../../protocol/src/version.ts';

const MiB = 1 << 20;
type Channel = z.infer<typeof contract.NotificationChannel>;
type Delivery = z.infer<typeof contract.NotificationDelivery>;
let srv: TestServer;
let sshd: TestSshd;
let src: TestPool;
let tgt: TestPool;
let nodeId: number;

const HMAC_KEY = 'e2e-hmac-key';
let webhook: Awaited<ReturnType<typeof startWebhookReceiver>>;

const teardown = new Teardown();
beforeAll(async () => {
  ({
    pools: { src, tgt },
    sshd,
  } = await startWorld(teardown, { src: { prefix: 'lbes', mounted: true }, tgt: { prefix: 'lbet', mounted: false, sizeMiB: 192 } }));
  await zfs('create', `${src.name}/data`);
  await writeRandom(join(src.mountpoint!, 'data', 'blob'), 6 * MiB);
  webhook = await startWebhookReceiver(teardown, HMAC_KEY);
  srv = teardown.own(await startServer({ LIFEBOAT_NOTIFY_INTERVAL_SECONDS: '1' }));
  nodeId = await localNode(srv, 'the local runner to join and report its datasets', (n) =>
    n.datasets.some((d) => d.name === `${src.name}/data`),
  );
}, 180_000);

afterAll(() => teardown.run(), 120_000);

describe('standalone system', () => {
  let targetId: number;
  let jobId: number;

  it('the local runner joined with its token file and reports ZFS facts', async () => {
    const node = (await srv.api('GET', `/nodes/${nodeId}`)).body;
    expect(node.name).toBe('local');
    expect(node.zfsVersion).toBeTruthy();
    expect(node.pools).toContain(src.name);
    // the Nodes page's facts, from the real runner's inventory on zfs-fuse
    expect(node.runnerVersion).toBe(LIFEBOAT_VERSION);
    const space = node.poolSpace?.find((p) => p.name === src.name);
    expect(space?.availableBytes).toBeGreaterThan(0);
    expect(space?.usedBytes).toBeGreaterThan(0); // (what the 6 MiB written add shows once zfs-fuse has synced them)
    expect(node.online).toBe(true);
  });

  it('validates a target, showing its host key, which a confirmation pins', async () => {
    const t = await srv.api('POST', '/targets', loopbackTarget({ sshd, tgt }));
    expect(t.status).toBe(201);
    targetId = t.body.id;
    const v = await srv.api('POST', `/targets/${targetId}/validate`, {});
    expect(v.status).toBe(202);
    const ev = await srv.waitEvent(v.body.eventId);
    expect(ev.status, ev.error).toBe('success');
    const seen = (await srv.api('GET', `/targets/${targetId}`)).body;
    expect(seen).toMatchObject({ hostKeyFingerprint: null, readiness: 'not-validated' });
    expect(seen.pendingHostKeyFingerprint).toMatch(/^SHA256:/);
    const got = (await srv.api('POST', `/targets/${targetId}/host-key/confirm`, { fingerprint: seen.pendingHostKeyFingerprint })).body;
    expect(got.nodeStatus[0].state).toBe('ready');
    expect(got.hostKeyFingerprint).toBe(seen.pendingHostKeyFingerprint);
    expect(got.readiness).toBe('ready');
    expect((await zfs('list', '-H', '-o', 'name', `${tgt.name}/backups`)).trim()).toBe(`${tgt.name}/backups`);
  });

  it('a webhook channel is set up (signed) and answers its test', async () => {
    const url = webhook.url;
    const ch = await srv.api<Channel, 'POST', string>('POST', '/notifications/channels', {
      name: 'ops',
      kind: 'webhook',
      url,
      secret: HMAC_KEY,
    });
    expect(ch.status).toBe(201);
    const t = await srv.api<Delivery, 'POST', string>('POST', `/notifications/channels/${ch.body.id}/test`);
    expect(t.body.status).toBe('sent');
    expect(webhook.hooks.map((h) => [h.event, h.sigOk])).toEqual([['test', true]]);
  });

  it('Run Now backs up in full, then incrementally; generations list without SSH', async () => {
    const j = await srv.api('POST', '/jobs', { name: 'data', targetId, mode: 'dataset', source: `${src.name}/data`, keepLast: 2 });
    expect(j.status).toBe(201);
    jobId = j.body.id;
    const r1 = await srv.api('POST', `/jobs/${jobId}/run`);
    expect(r1.status).toBe(202);
    const e1 = await srv.waitEvent(r1.body.eventId);
    expect(e1.status, e1.error).toBe('success');
    expect(e1.bytesDone).toBeGreaterThan(6 * MiB);
    expect(e1.snapshot).toMatch(new RegExp(`^lb_j${jobId}_`));
    await new Promise((r) => setTimeout(r, 1100));
    await writeRandom(join(src.mountpoint!, 'data', 'delta'), 256 * 1024);
    const r2 = await srv.api('POST', `/jobs/${jobId}/run`);
    const e2 = await srv.waitEvent(r2.body.eventId);
    expect(e2.status, e2.error).toBe('success');
    expect(e2.bytesDone).toBeLessThan(e1.bytesDone / 5);
    const gens = (await srv.api('GET', `/jobs/${jobId}/generations`)).body;
    expect(gens).toHaveLength(1);
    expect(gens[0]).toMatchObject({ generation: 1, current: true });
    expect(gens[0].snapshots.map((s) => s.name)).toEqual([e2.snapshot, e1.snapshot]);
    const onTarget = await snapshotGuids(`${tgt.name}/backups/j${jobId}/g1/${src.name}/data`);
    expect(gens[0].snapshots.map((s) => s.guid).sort()).toEqual([...onTarget.values()].sort());
    const job = (await srv.api('GET', `/jobs/${jobId}`)).body;
    expect(job.lastStatus).toBe('success');
    const log = (await srv.api('GET', `/events/${r2.body.eventId}/log`)).body.items;
    expect(log.length).toBeGreaterThan(0);
  });

  it("the node's inventory marks the copies it received as this job's target (the source picker hides them)", async () => {
    // the runner reports every pool here, the target's too: its copies carry lifeboat:job, their children inherit it
    const node = (await srv.api<NodeDetail>('GET', `/nodes/${nodeId}?fresh=1`)).body;
    const role = (name: string) => node.datasets.find((d) => d.name === name)?.role;
    expect(role(`${src.name}/data`)).toBeNull();
    expect(role(`${tgt.name}/backups`)).toBeNull();
    expect(role(`${tgt.name}/backups/j${jobId}`)).toBe('backup');
    expect(role(`${tgt.name}/backups/j${jobId}/g1`)).toBe('backup');
    expect(role(`${tgt.name}/backups/j${jobId}/g1/${src.name}/data`)).toBe('backup');
  });

  it('a changed host key fails the next run with a host-key error and changes nothing', async () => {
    const before = await snapshotGuids(tgt.name);
    const srcBefore = await snapshotGuids(`${src.name}/data`);
    await sshd.restartWithNewHostKey();
    const r = await srv.api('POST', `/jobs/${jobId}/run`);
    const e = await srv.waitEvent(r.body.eventId);
    expect(e.status).toBe('failed');
    expect(e.errorClass).toBe('host-key');
    expect([...(await snapshotGuids(tgt.name)).entries()]).toEqual([...before.entries()]);
    // The source may have the run's own snapshot only if it was taken before the check; it must not have lost any.
    for (const [name, guid] of srcBefore) expect((await snapshotGuids(`${src.name}/data`)).get(name)).toBe(guid);
    expect((await srv.api('GET', `/jobs/${jobId}`)).body.lastStatus).toBe('failed');
    // the operator hears of it once, signed
    const h = await webhook.hooked('job.failing', `job:${jobId}`);
    expect(h).toMatchObject({ sigOk: true, body: { state: 'failing' } });
    const again = await srv.waitEvent((await srv.api('POST', `/jobs/${jobId}/run`)).body.eventId);
    expect(again.status).toBe('failed');
  });

  it('after a deliberate host key change, the re-pin action clears the pin, validation shows the new key, its confirmation pins it, backups work again', async () => {
    const [target] = (await srv.api('GET', '/targets')).body.items;
    const oldFp = target.hostKeyFingerprint;
    expect(oldFp).toMatch(/^SHA256:/);
    const reset = await srv.api('POST', `/targets/${target.id}/host-key/reset`, {});
    expect(reset.status).toBe(202);
    const v = await srv.waitEvent(reset.body.eventId);
    expect(v.status, v.error).toBe('success');
    expect(v).toMatchObject({ kind: 'validate', trigger: 'host-key-reset' });
    expect(v.note).toContain(oldFp);
    const seen = (await srv.api('GET', `/targets/${target.id}`)).body;
    expect(seen.hostKeyFingerprint).toBeNull();
    const after = (await srv.api('POST', `/targets/${target.id}/host-key/confirm`, { fingerprint: seen.pendingHostKeyFingerprint })).body;
    expect(after.hostKeyFingerprint).toMatch(/^SHA256:/);
    expect(after.hostKeyFingerprint).not.toBe(oldFp);
    expect(after.nodeStatus.every((s) => s.state === 'ready')).toBe(true);
    const r = await srv.api('POST', `/jobs/${jobId}/run`);
    const e = await srv.waitEvent(r.body.eventId);
    expect(e.status, e.error).toBe('success');
    // …and hears that it recovered; the repeated failure was not notified again
    expect(await webhook.hooked('job.recovered', `job:${jobId}`)).toMatchObject({ sigOk: true, body: { state: 'ok' } });
    expect(webhook.hooks.filter((x) => x.body.subject.key === `job:${jobId}`).map((x) => x.event)).toEqual([
      'job.failing',
      'job.recovered',
    ]);
    const history = (await srv.api<{ items: Delivery[] }, 'GET', string>('GET', '/notifications/deliveries')).body.items;
    expect(history.filter((d) => d.subject === `job:${jobId}`).map((d) => [d.event, d.status])).toEqual([
      ['job.recovered', 'sent'],
      ['job.failing', 'sent'],
    ]);
  });

  it('stops cleanly on SIGTERM, stopping its runner', async () => {
    const code = await srv.stop();
    expect(code).toBe(0);
    expect(srv.output()).toMatch(/local runner exited/);
  });
});
