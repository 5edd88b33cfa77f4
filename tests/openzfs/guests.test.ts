// Stop Before Backup on real OpenZFS: a manifest VM guest with two roots in one pool. The guest is
// stopped, both roots are snapshotted in one `zfs snapshot` call (one transaction group: the same
// createtxg), and it is started again before the transfer. The guest's stop and start commands
// record which of the job's snapshots exist at that moment, so the order is read from the guest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLog } from '../faults/fixture.ts';
import { MiB, startWorld, type OzWorld } from './world.ts';

let w: OzWorld;
let manifest: string;
let journal: string;
let running: string;

beforeAll(async () => {
  const tag = `lbog${process.pid.toString(36)}`;
  manifest = `/var/tmp/${tag}-guests.json`;
  w = await startWorld({ prefix: 'lbog', runnerEnv: { LIFEBOAT_RUNNER_MANIFEST: manifest } });
  journal = `/var/tmp/${w.src.name}-journal`;
  running = `/var/tmp/${w.src.name}-running`;
  const roots = [`${w.src.name}/vm/web`, `${w.src.name}/vm/web-data`];
  await w.vm.zfs('create', '-p', roots[0]);
  await w.vm.zfs('create', roots[1]);
  await w.vm.writeRandom(`${w.src.mountpoint}/vm/web/disk.img`, 2 * MiB);
  await w.vm.writeRandom(`${w.src.mountpoint}/vm/web-data/data.img`, MiB);
  // stop/start note the snapshots of the guest's roots that exist at that moment
  const snaps = `zfs list -H -o name -t snapshot -r ${w.src.name}/vm | tr '\\n' ' '`;
  const guest = {
    kind: 'vm',
    id: '101',
    name: 'web',
    roots,
    stop: ['/bin/sh', '-c', `rm -f ${running}; echo "stop: $(${snaps})" >> ${journal}`],
    start: ['/bin/sh', '-c', `touch ${running}; echo "start: $(${snaps})" >> ${journal}`],
    status: ['/bin/test', '-e', running],
  };
  await w.vm.must(['sh', '-c', `cat > ${manifest}`], { input: JSON.stringify({ guests: [guest] }) });
  await w.vm.must(['touch', running]);
  await w.srv.waitFor(
    'the guest in the node inventory',
    async () => (await w.srv.api('GET', `/nodes/${w.runner.nodeId}`)).body.guests?.some((g) => g.id === '101' && g.running),
    120_000,
    500,
  );
}, 600_000);

afterAll(async () => {
  await w?.vm.exec(['rm', '-f', manifest, journal, running]);
  await w?.close();
}, 300_000);

describe('Stop Before Backup (manifest VM, two roots in one pool)', () => {
  it('stops the guest, snapshots both roots in one call (same createtxg), starts it before the transfer', async () => {
    const jobId = await w.job({ name: 'web', mode: 'vm', source: '101', stopBeforeBackup: true });
    const e = await w.backupOk(jobId);
    const log = await eventLog(w.srv.api, e.id);
    expect(log).not.toMatch(/cannot snapshot .* in one call/);
    const [a, b] = [`${w.src.name}/vm/web@${e.snapshot}`, `${w.src.name}/vm/web-data@${e.snapshot}`];
    const txg = async (s: string) => (await w.vm.zfs('get', '-Hp', '-o', 'value', 'createtxg', s)).trim();
    expect(await txg(a)).toBe(await txg(b));
    const lines = (await w.vm.must(['cat', journal])).trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^stop: /);
    expect(lines[0]).not.toContain(e.snapshot);
    expect(lines[1]).toMatch(/^start: /);
    expect(lines[1]).toContain(a);
    expect(lines[1]).toContain(b);
    expect((await w.vm.exec(['test', '-e', running])).code).toBe(0); // running again
    // both roots are on the target in one generation, with the source's GUIDs
    const src = await w.vm.snapshotGuids(`${w.src.name}/vm`);
    for (const s of [a, b]) {
      const t = `${w.targetPath(jobId, 1, s.split('@')[0])}@${e.snapshot}`;
      expect((await w.vm.snapshotGuids(w.backupRoot)).get(t), t).toBe(src.get(s));
    }
  }, 600_000);
});
