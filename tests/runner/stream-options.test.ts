// Stream options on zfs-fuse (issue 14 #3 #4), real sshd on 127.0.0.1: zfs-fuse offers none of
// `send -c -L -e` nor `recv -o`, so its transfers stay plain and still work; a bandwidth-limited
// backup and restore (the stream paced through the runner, stream-pipe.ts) complete with the data
// intact and say which limit applied. The achieved rate is measured in bench/ (`npm run bench -- bwlimit`),
// not here: tests do not assert on wall-clock time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runBackup, type RunBackupParams } from '../../node-runner/src/executors/backup.ts';
import { runJobRestore } from '../../node-runner/src/executors/restore.ts';
import type { JobSpec, TargetSpec } from '../../node-runner/src/executors/types.ts';
import { jobSpec, pinnedTarget, startWorld, Teardown } from '../helpers/world.ts';
import { testContext, writeRandom, zfs, type TestPool } from '../helpers/zfs.ts';

let src: TestPool;
let target: TargetSpec;
let backupRoot: string;

const MiB = 1 << 20;
const params = (j: JobSpec, t: TargetSpec = target): RunBackupParams => ({
  target: t,
  job: j,
  generation: 1,
  nextGeneration: 2,
  forkFrom: null,
});
const prop = async (name: string, p: string) => (await zfs('get', '-Hp', '-o', 'value', p, name)).trim();
const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

const teardown = new Teardown();
beforeAll(async () => {
  const w = await startWorld(
    teardown,
    { src: { prefix: 'lbso', mounted: true }, tgt: { prefix: 'lbto', mounted: false, sizeMiB: 128 } },
    { createBackupRoot: true },
  );
  ({
    pools: { src },
    backupRoot,
  } = w);
  target = await pinnedTarget(w);
}, 120_000);
afterAll(() => teardown.run(), 120_000);

describe('stream options on zfs-fuse', () => {
  it('no -c -L -e and no recv -o there: a plain transfer, and the log says why; no limit, no limit line', async () => {
    const ds = `${src.name}/plain`;
    await zfs('create', ds);
    await writeRandom(join(src.mountpoint!, 'plain', 'f'), 1 * MiB);
    const t = testContext(301);
    const res = await runBackup(params(jobSpec(301, ds)), t.ctx);
    expect(t.logs).toContain('stream: plain zfs send, no -c -L -e (not supported by both ends)');
    expect(t.logs.some((l) => l.startsWith('bandwidth limit'))).toBe(false);
    const copy = `${backupRoot}/j301/g1/${ds}`;
    expect(await prop(`${copy}@${res.snapshot}`, 'guid')).toBe(await prop(`${ds}@${res.snapshot}`, 'guid'));
    // unmounted and read-only by inheritance from the job root (zfs-fuse has no recv -o: nothing set locally)
    expect(await prop(copy, 'mounted')).toBe('no');
    expect(await prop(copy, 'readonly')).toBe('on');
    expect((await zfs('get', '-H', '-o', 'source', 'readonly', copy)).trim()).toMatch(/^inherited/);
  });

  it('a bandwidth-limited backup and its restore complete with the data intact, the lower limit reported', async () => {
    const ds = `${src.name}/slow`;
    await zfs('create', ds);
    const file = join(src.mountpoint!, 'slow', 'f');
    await writeRandom(file, 3 * MiB);
    const before = await sha(file);
    const j = jobSpec(302, ds, { bandwidthLimitKiBps: 1024 });
    const limited = { ...target, bandwidthLimitKiBps: 4096 };

    const b = testContext(302);
    const res = await runBackup(params(j, limited), b.ctx);
    expect(b.logs).toContain(
      'bandwidth limit: 1024 KiB/s (1.0 MiB/s) (job 1024 KiB/s, target 4096 KiB/s; the lower wins): the stream passes through the runner',
    );
    const copy = `${backupRoot}/j302/g1/${ds}`;
    const guid = await prop(`${ds}@${res.snapshot}`, 'guid');
    expect(await prop(`${copy}@${res.snapshot}`, 'guid')).toBe(guid);
    // counted by the runner itself, byte for byte what zfs send wrote: at least the data
    expect(res.bytesSent).toBeGreaterThan(3 * MiB);
    expect(res.datasets[0].bytes).toBe(res.bytesSent);

    // the data changes, then the restore brings the snapshot back, limited by the target this time
    await writeRandom(file, 1 * MiB);
    expect(await sha(file)).not.toBe(before);
    const r = testContext(303);
    const rest = await runJobRestore(
      {
        target: { ...target, bandwidthLimitKiBps: 512 },
        job: { ...j, bandwidthLimitKiBps: null },
        generation: 1,
        snapshot: res.snapshot,
        guid,
        dataset: copy,
      },
      r.ctx,
    );
    expect(r.logs).toContain(
      'bandwidth limit: 512 KiB/s (job unlimited, target 512 KiB/s; the lower wins): the stream passes through the runner',
    );
    expect(r.logs).toContain('stream: plain zfs send, no -c -L -e (not supported by both ends)');
    expect(rest.replaced).toEqual([ds]);
    expect(rest.bytesReceived).toBeGreaterThan(3 * MiB);
    expect(await sha(file)).toBe(before);
    expect(await prop(`${ds}@${res.snapshot}`, 'guid')).toBe(guid);
  });
});
