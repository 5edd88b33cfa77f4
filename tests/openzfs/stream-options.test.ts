// Stream options on real OpenZFS 2.3 (issue 14 #3), node and target in the VM, the target reached
// as the unprivileged user with the README's `zfs allow` list: a backup sends `zfs send -c -L -e`
// by default (a compressible dataset's stream is smaller than its logical data), the job's switch
// turns -c off (the stream is the logical size again), a full receive makes the copy
// canmount=noauto readonly=on by itself (`recv -o`, no `zfs set` after), and a job restore uses
// the same flags the other way round with the data intact. Exclude patterns (issue 14 #5): OpenZFS
// snapshots exactly the included datasets in one `zfs snapshot` call, and sends only those; their
// next small incrementals stream side by side (issue 14 #8).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventLog } from '../faults/fixture.ts';
import { MiB, restoreOk, startWorld, type OzWorld } from './world.ts';

let w: OzWorld;
const ds = () => `${w.src.name}/text`;
const dir = () => `${w.src.mountpoint}/text`;
const LOGICAL = 16 * MiB;
let sha: string;

beforeAll(async () => {
  w = await startWorld({ prefix: 'lbso', user: 'lbtarget' });
  // lz4 compresses repeated text many times over: `zfs send -c` sends it as stored
  await w.vm.zfs('create', '-o', 'compression=lz4', ds());
  await w.vm.sh(`yes 'lifeboat compressed stream test line' | head -c ${LOGICAL} > ${dir()}/text.txt && sync`);
  sha = await w.vm.sha256(`${dir()}/text.txt`);
}, 600_000);

afterAll(async () => {
  await w?.close();
}, 300_000);

const prop = async (name: string, p: string, col = 'value') => (await w.vm.zfs('get', '-H', '-o', col, p, name)).trim();

describe('zfs send -c -L -e on OpenZFS', () => {
  let jobId: number;
  let snapshot: string;
  it('on by default: the log names the flags and the stream is the compressed size, far below the logical data', async () => {
    jobId = await w.job({ name: 'compressed', source: ds() });
    const e = await w.backupOk(jobId);
    snapshot = e.snapshot!;
    const log = await eventLog(w.srv.api, e.id);
    expect(log).toContain('stream: zfs send -c -L -e');
    expect(log).not.toMatch(/bandwidth limit/);
    expect(e.bytesDone).toBeGreaterThan(0);
    expect(e.bytesDone).toBeLessThan(LOGICAL / 4);
    // the copy is unmounted and read-only by its own properties (recv -o), not only inherited
    const copy = w.targetPath(jobId, 1, ds());
    expect(await prop(copy, 'mounted')).toBe('no');
    expect(await prop(copy, 'canmount')).toBe('noauto');
    expect(await prop(copy, 'canmount', 'source')).toBe('local');
    expect(await prop(copy, 'readonly')).toBe('on');
    expect(await prop(copy, 'readonly', 'source')).toBe('local');
    // the data is still compressed as on the source (received with -c: not recompressed by the target)
    expect(await prop(copy, 'compressratio')).not.toBe('1.00x');
  }, 600_000);

  it("the job's switch turns -c off: -L -e stay, and the stream is the logical size", async () => {
    const off = await w.job({ name: 'uncompressed', source: ds(), compressedStream: false });
    const e = await w.backupOk(off);
    const log = await eventLog(w.srv.api, e.id);
    expect(log).toContain('stream: zfs send -L -e (compressed streams off for this job)');
    expect(e.bytesDone).toBeGreaterThanOrEqual(LOGICAL);
  }, 600_000);

  it('a volume (a VM disk) is received read-only by its own property; it has no canmount', async () => {
    const vol = `${w.src.name}/disk0`;
    await w.vm.zfs('create', '-V', '8M', vol);
    const id = await w.job({ name: 'volume', source: vol });
    const e = await w.backupOk(id);
    expect(await eventLog(w.srv.api, e.id)).toContain('stream: zfs send -c -L -e');
    const copy = w.targetPath(id, 1, vol);
    expect(await prop(copy, 'type')).toBe('volume');
    expect(await prop(copy, 'readonly')).toBe('on');
    expect(await prop(copy, 'readonly', 'source')).toBe('local');
  }, 600_000);

  it('a job restore receives with the same flags the other way round, data intact; the next backup forks from it', async () => {
    await w.vm.sh(`echo changed > ${dir()}/text.txt`);
    const r = await restoreOk(w, jobId, 1, snapshot);
    const log = await eventLog(w.srv.api, r.id);
    expect(log).toContain('stream: zfs send -c -L -e');
    expect(r.bytesDone).toBeLessThan(LOGICAL / 4);
    expect(await w.vm.sha256(`${dir()}/text.txt`)).toBe(sha);
    const b = await w.backupOk(jobId);
    expect(b.generation).toBe(2);
    expect(await eventLog(w.srv.api, b.id)).toMatch(/forked .* \(clone \+ promote\)/);
  }, 600_000);
});

describe('exclude children on OpenZFS', () => {
  it('one zfs snapshot call of the included datasets; the left-out subtree gets no snapshot and no copy', async () => {
    const root = `${w.src.name}/tree`;
    for (const d of ['', '/a', '/a/cache', '/tmp', '/tmp/x', '/b']) await w.vm.zfs('create', `${root}${d}`);
    const id = await w.job({ name: 'exclude', source: root, recursive: true, exclude: ['tmp', '**/cache'] });
    const e = await w.backupOk(id);
    const log = await eventLog(w.srv.api, e.id);
    expect(log).toMatch(
      /snapshot lb_j\S+ of 3 dataset\(s\) of .*tree in one call; left out: .*tree\/a\/cache, .*tree\/tmp, .*tree\/tmp\/x/,
    );
    const snaps = (await w.vm.zfs('list', '-H', '-o', 'name', '-t', 'snapshot', '-r', root)).split('\n').filter(Boolean);
    expect(snaps.map((n) => n.slice(root.length)).sort()).toEqual([`/a@${e.snapshot}`, `/b@${e.snapshot}`, `@${e.snapshot}`]);
    const g1 = w.targetPath(id, 1, root);
    const copies = (await w.vm.zfs('list', '-H', '-o', 'name', '-r', g1)).split('\n').filter(Boolean);
    expect(copies.map((n) => n.slice(g1.length)).sort()).toEqual(['', '/a', '/b']);
    // the next run's small incrementals stream side by side over the one connection (issue 14 #8)
    for (const d of ['', '/a', '/b']) await w.vm.sh(`head -c 65536 /dev/urandom > ${w.src.mountpoint}/tree${d}/new`);
    const e2 = await w.backupOk(id);
    expect(await eventLog(w.srv.api, e2.id)).toContain('3 small incremental(s): up to 4 streams at a time');
    for (const d of ['', '/a', '/b'])
      expect(await prop(`${g1}${d}@${e2.snapshot}`, 'guid')).toBe(await prop(`${root}${d}@${e2.snapshot}`, 'guid'));
  }, 600_000);
});
