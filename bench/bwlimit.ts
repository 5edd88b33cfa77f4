// Bandwidth limit (issue 14 #4): the rate a limited transfer achieves through the real runner path
// (runBackup / runJobRestore over sshd on 127.0.0.1 into zfs-fuse pools), against the limit.
//   npm run bench -- bwlimit      (BENCH_BYTES, default 16 MiB; BENCH_LIMIT_KIBPS, default 1024;
//                                  BENCH_ROUNDS, default 3)
// Each round: a full backup of the dataset to a new job with the job's limit set, then a job
// restore of that snapshot with the target's limit set. From the run's progress reports (every
// 0.5 s, bytes counted in the runner) it prints two rates as a ratio to the limit:
//   stream  the whole transfer: stream bytes / time from the first report to the last;
//   steady  between the first report past 2 MiB and the last before the end (no start-up burst,
//           no wait for the receiver to finish).
// The goal is 0.9–1.1. zfs-fuse is slow to write; at 1 MiB/s it keeps up on this box.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runBackup } from '../node-runner/src/executors/backup.ts';
import { runJobRestore } from '../node-runner/src/executors/restore.ts';
import type { JobSpec } from '../node-runner/src/executors/types.ts';
import { startSshd } from '../tests/helpers/sshd.ts';
import { loopbackTarget, provisionTestHost } from './fixture.ts';
import { createPool, releaseHolds, testContext, zfs } from '../tests/helpers/zfs.ts';

const MiB = 1 << 20;
const SIZE = Number(process.env.BENCH_BYTES ?? 16 * MiB);
const LIMIT_KIBPS = Number(process.env.BENCH_LIMIT_KIBPS ?? 1024);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

type Report = ReturnType<typeof testContext>['reports'][number];

/** The two rates of one transfer from its progress reports (bytes/s). */
function rates(reports: Report[]): { stream: number; steady: number | null; bytes: number } {
  const tr = reports.filter((r) => r.phase === 'transferring' && r.bytesDone !== undefined);
  const total = tr[tr.length - 1].bytesDone!;
  const first = tr.find((r) => r.bytesDone! > 0)!;
  const start = tr[tr.indexOf(first) - 1] ?? first; // the last report before any byte
  const last = tr.find((r) => r.bytesDone === total)!;
  const stream = total / ((last.at - start.at) / 1000);
  const a = tr.find((r) => r.bytesDone! >= 2 * MiB);
  const b = [...tr].reverse().find((r) => r.bytesDone! < total);
  const steady = a && b && b.at > a.at ? (b.bytesDone! - a.bytesDone!) / ((b.at - a.at) / 1000) : null;
  return { stream, steady, bytes: total };
}

export async function benchBwlimit() {
  const stopZfsFuse = provisionTestHost();
  const src = await createPool('lbws', { mounted: true, sizeMiB: Math.max(128, Math.ceil((SIZE * 3) / MiB)) });
  const tgt = await createPool('lbwt', { mounted: false, sizeMiB: Math.max(128, Math.ceil((SIZE * (ROUNDS + 2)) / MiB)) });
  const sshd = await startSshd();
  try {
    const ds = `${src.name}/data`;
    await zfs('create', ds);
    execFileSync('dd', ['if=/dev/urandom', `of=${join(src.mountpoint!, 'data', 'f')}`, 'bs=1M', `count=${SIZE / MiB}`, 'status=none']);
    await zfs('create', '-o', 'mountpoint=none', `${tgt.name}/lb`);
    const target = await loopbackTarget(sshd, `${tgt.name}/lb`);
    const limit = LIMIT_KIBPS * 1024;
    console.log(`${SIZE / MiB} MiB of random data, limit ${LIMIT_KIBPS} KiB/s, ${ROUNDS} round(s); ratio = achieved / limit`);
    const rows: { what: string; stream: number; steady: number | null }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const job: JobSpec = {
        id: 100 + r,
        name: 'bwlimit',
        mode: 'dataset',
        source: ds,
        recursive: false,
        keepLast: 0,
        pruneTarget: false,
        stopBeforeBackup: false,
        sendDecrypted: false,
        bandwidthLimitKiBps: LIMIT_KIBPS,
      };
      const b = testContext(1);
      const res = await runBackup({ target, job, generation: 1, nextGeneration: 2, forkFrom: null }, b.ctx);
      const br = rates(b.reports);
      rows.push({ what: `backup  round ${r + 1}`, stream: br.stream / limit, steady: br.steady && br.steady / limit });

      const t = testContext(2);
      const copy = `${target.backupRoot}/j${job.id}/g1/${ds}`;
      const guid = (await zfs('get', '-Hp', '-o', 'value', 'guid', `${copy}@${res.snapshot}`)).trim();
      await runJobRestore(
        {
          target: { ...target, bandwidthLimitKiBps: LIMIT_KIBPS },
          job: { ...job, bandwidthLimitKiBps: null },
          generation: 1,
          snapshot: res.snapshot,
          guid,
          dataset: copy,
        },
        t.ctx,
      );
      const rr = rates(t.reports);
      rows.push({ what: `restore round ${r + 1}`, stream: rr.stream / limit, steady: rr.steady && rr.steady / limit });
      await releaseHolds(`${target.backupRoot}/j${job.id}`, `lifeboat-j${job.id}`); // the run held its base
      await zfs('destroy', '-r', `${target.backupRoot}/j${job.id}`);
    }
    for (const row of rows)
      console.log(
        `${row.what}: stream ${row.stream.toFixed(3)}x, steady ${row.steady === null ? 'n/a' : `${row.steady.toFixed(3)}x`} of ${LIMIT_KIBPS} KiB/s`,
      );
    const all = rows.flatMap((r) => [r.stream, ...(r.steady === null ? [] : [r.steady])]);
    console.log(`range ${Math.min(...all).toFixed(3)}x – ${Math.max(...all).toFixed(3)}x (goal: within 0.9–1.1)`);
  } finally {
    await sshd.stop();
    await src.destroy();
    await tgt.destroy();
    stopZfsFuse();
  }
}
