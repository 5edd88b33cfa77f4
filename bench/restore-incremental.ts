// Incremental restores (issue 14 #6) on real OpenZFS (the test VM; zfs-fuse 0.7 cannot receive an
// increment as a clone, so there every restore is full): a job restore of a large dataset after a
// small change, sent as the increment from a snapshot the live dataset still has, against the full
// restore of the same snapshot that every restore was before. Through the API, the runner in the
// guest, the guest's own sshd as the target (tests/openzfs/world.ts).
//   npm run bench -- restore-incremental   (BENCH_MIB, default 1024: the dataset's random data;
//                                           BENCH_CHANGE_MIB, default 10; BENCH_ROUNDS, default 3)
// Backups b1 (the data) and b2 (after the change) are taken once. Then BENCH_ROUNDS job restores of
// b2 while the live dataset has b1 and b2: b2 comes as the increment b1 → b2, received as a clone of
// the live b1 (b2 itself is never the base: staging must receive it), and afterwards the live
// dataset has b1 and b2 again. Then b1 is destroyed on the live dataset (the target keeps it) and
// BENCH_ROUNDS restores of b2 have no older common snapshot: the full stream. The two kinds cannot
// alternate (a full restore leaves no b1 to start from). Seconds are the event's own (start → end).
// Boots its own VM unless LIFEBOAT_OPENZFS_VM is set; the guest runs under TCG, so only the ratios
// mean anything.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { eventLog } from '../tests/faults/fixture.ts';
import { releaseHolds, restoreOk, startWorld } from '../tests/openzfs/world.ts';

const MiB = 1 << 20;
const SIZE_MIB = Number(process.env.BENCH_MIB ?? 1024);
const CHANGE_MIB = Number(process.env.BENCH_CHANGE_MIB ?? 10);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const script = new URL('../scripts/openzfs-vm.sh', import.meta.url).pathname;

export async function benchRestoreIncremental() {
  let runDir: string | null = null;
  if (!process.env.LIFEBOAT_OPENZFS_VM) {
    for (const step of [['build'], ['start']]) {
      const r = spawnSync('bash', [script, ...step], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`scripts/openzfs-vm.sh ${step[0]} failed`);
      if (step[0] === 'start') {
        process.env.LIFEBOAT_OPENZFS_VM = r.stdout.trim().split('\n').pop()!;
        runDir = dirname(process.env.LIFEBOAT_OPENZFS_VM);
      }
    }
  }
  // the live dataset, and during a full restore a second whole copy in staging
  const w = await startWorld({
    prefix: 'lbri',
    user: 'lbtarget',
    srcMiB: Math.ceil(SIZE_MIB * 2.4 + 256),
    tgtMiB: Math.ceil(SIZE_MIB * 1.2 + 256),
    runnerEnv: { LIFEBOAT_RUNNER_INVENTORY_MS: '30000' },
  });
  try {
    const ds = `${w.src.name}/data`;
    const dir = `${w.src.mountpoint}/data`;
    await w.vm.zfs('create', ds);
    for (let off = 0, i = 0; off < SIZE_MIB; off += 64, i++) await w.vm.writeRandom(`${dir}/f${i}`, Math.min(64, SIZE_MIB - off) * MiB);
    const jobId = await w.job({ name: 'restore-incremental', source: ds, keepLast: 0, pruneTarget: false });
    const b1 = await w.backupOk(jobId);
    console.log(`backup b1 ${b1.snapshot}: ${b1.bytesDone} bytes`);
    await w.vm.writeRandom(`${dir}/change`, CHANGE_MIB * MiB);
    const b2 = await w.backupOk(jobId);
    console.log(`backup b2 ${b2.snapshot}: ${b2.bytesDone} bytes`);
    const restore = async (kind: string) => {
      const e = await restoreOk(w, jobId, 1, b2.snapshot!);
      const s = (Date.parse(e.finishedAt!) - Date.parse(e.startedAt!)) / 1000;
      const how = (await eventLog(w.srv.api, e.id)).split('\n').find((l) => l.includes(`${ds}: `)) ?? '?';
      console.log(`${kind} restore: ${e.bytesDone} bytes in ${s.toFixed(2)} s (${how.slice(how.indexOf(`${ds}: `) + ds.length + 2)})`);
      return { s, bytes: e.bytesDone ?? 0, how };
    };
    const inc: { s: number; bytes: number }[] = [];
    const full: { s: number; bytes: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const x = await restore('incremental');
      if (!x.how.includes(`incremental from ${b1.snapshot}`)) throw new Error(`expected an incremental restore, got: ${x.how}`);
      inc.push(x);
    }
    // no older common snapshot on the live dataset any more: the full stream
    await releaseHolds(w.vm, ds, `lifeboat-j${jobId}`);
    await w.vm.zfs('destroy', `${ds}@${b1.snapshot}`);
    for (let r = 0; r < ROUNDS; r++) {
      const x = await restore('full');
      if (!x.how.includes(`${ds}: full`)) throw new Error(`expected a full restore, got: ${x.how}`);
      full.push(x);
    }
    const mi = { s: median(inc.map((x) => x.s)), bytes: median(inc.map((x) => x.bytes)) };
    const mf = { s: median(full.map((x) => x.s)), bytes: median(full.map((x) => x.bytes)) };
    console.log(
      `\njob restore of ${SIZE_MIB} MiB + a ${CHANGE_MIB} MiB change (OpenZFS VM, TCG), median of ${ROUNDS} each (event start → end):`,
    );
    console.log(`incremental  ${(mi.bytes / MiB).toFixed(1).padStart(8)} MiB  ${mi.s.toFixed(2).padStart(7)} s`);
    console.log(`full         ${(mf.bytes / MiB).toFixed(1).padStart(8)} MiB  ${mf.s.toFixed(2).padStart(7)} s`);
    console.log(`full / incremental: ${(mf.bytes / mi.bytes).toFixed(1)}x the bytes, ${(mf.s / mi.s).toFixed(1)}x the time`);
    return { inc, full };
  } finally {
    await w.close();
    if (runDir) spawnSync('bash', [script, 'stop', runDir], { stdio: 'inherit' });
  }
}
