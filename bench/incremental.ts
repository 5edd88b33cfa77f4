// A small incremental backup, side by side in one run (issue 14 #7):
//   hand    `zfs send -i @prev ds@now | ssh … root@127.0.0.1 zfs recv …`, typed as a user would: a fresh
//           SSH connection every time, ssh's default ciphers; timed around the pipe alone (its
//           `zfs snapshot` is not counted, which favours it), and once more with the snapshot;
//   runner  Run Now of a job through the API (the real server and its local runner process, bundled
//           when node-runner/dist is current): the whole run from the event's start to its end
//           (claim, listings, snapshot, send, GUID check, tags, prune, catalog) and from the POST to
//           the finished event as an API client sees it (polled every 20 ms).
// Each round first writes BENCH_BYTES (default 1 MiB) of new random data into both datasets, outside
// the timing; after one unmeasured warm-up of each (the job's first, full run; the hand copy's full
// receive), BENCH_ROUNDS rounds (default 7) alternate the order. BENCH_KEEP is the job's Keep Last
// (default 0, no pruning: the pipe prunes nothing either; 3 adds a destroy on each side per run). Prints every round, the medians and
// hand / runner (≥ 1.0 means the runner is at least as fast as the pipe). zfs-fuse pools and a test
// sshd on 127.0.0.1; nothing else on the box is touched. On a shared box compare the ratio, not the
// seconds.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../tests/helpers/server.ts';
import { startSshd } from '../tests/helpers/sshd.ts';
import { createPool, writeRandom, zfs } from '../tests/helpers/zfs.ts';

const SIZE = Number(process.env.BENCH_BYTES ?? 1 << 20);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 7));
/** The job's Keep Last (default 0: no pruning, like the hand-typed pipe; 3 adds a destroy on each side per run). */
const KEEP = Number(process.env.BENCH_KEEP ?? 0);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface EventView {
  id: number;
  status: string;
  error?: string | null;
  startedAt: string;
  finishedAt: string;
  bytesDone: number | null;
}

export async function benchIncremental() {
  const src = await createPool('lbis', { mounted: true, sizeMiB: 256 });
  const tgt = await createPool('lbit', { mounted: false, sizeMiB: 256 });
  const sshd = await startSshd();
  let srv: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    const lb = `${src.name}/lb`;
    const hand = `${src.name}/hand`;
    for (const d of [lb, hand]) await zfs('create', d);
    await zfs('create', '-o', 'mountpoint=none', `${tgt.name}/hand`);
    const keyFile = join(sshd.dir, 'bench_key');
    writeFileSync(keyFile, sshd.clientKey, { mode: 0o600 });
    const known = join(sshd.dir, 'bench_known_hosts');
    writeFileSync(known, (await sshd.hostKeyLine()) + '\n');
    const ssh = `ssh -i ${keyFile} -p ${sshd.port} -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${known} root@127.0.0.1`;

    srv = await startServer({ LIFEBOAT_RUNNER_POOLS: src.name, LIFEBOAT_RUNNER_INVENTORY_MS: '30000' });
    const s = srv;
    await s.waitFor('the local runner to report the source', async () => {
      const nodes = (await s.api('GET', '/nodes')).body.items as { id: number }[];
      if (nodes.length !== 1) return null;
      const n = (await s.api('GET', `/nodes/${nodes[0].id}`)).body as { datasets: { name: string }[] };
      return n.datasets.some((d) => d.name === lb);
    });
    const t = await s.api('POST', '/targets', {
      name: 'bench',
      sshHost: '127.0.0.1',
      sshUser: 'root',
      sshPort: sshd.port,
      sshPrivateKey: sshd.clientKey,
      backupRoot: `${tgt.name}/backups`,
      createBackupRoot: true,
    });
    if (t.status !== 201) throw new Error(`target: ${t.status} ${JSON.stringify(t.body)}`);
    const v = await s.api('POST', `/targets/${t.body.id}/validate`, {});
    if ((await s.waitEvent(v.body.eventId)).status !== 'success') throw new Error('target validation failed');
    const fingerprint = (await s.api('GET', `/targets/${t.body.id}`)).body.pendingHostKeyFingerprint;
    if ((await s.api('POST', `/targets/${t.body.id}/host-key/confirm`, { fingerprint })).status !== 200)
      throw new Error('host key confirmation failed');
    const j = await s.api('POST', '/jobs', {
      name: 'bench',
      targetId: t.body.id,
      mode: 'dataset',
      source: lb,
      keepLast: KEEP,
      pruneTarget: KEEP > 0,
    });
    if (j.status !== 201) throw new Error(`job: ${j.status} ${JSON.stringify(j.body)}`);
    const jobId = j.body.id as number;

    /** One Run Now: seconds by the event (start → end) and by the API client (POST → finished seen). */
    const runner = async () => {
      await sleep(1100); // snapshot names have one-second resolution
      const t0 = performance.now();
      const r = await s.api('POST', `/jobs/${jobId}/run`);
      if (r.status !== 202) throw new Error(`run: ${r.status} ${JSON.stringify(r.body)}`);
      let e: EventView;
      for (;;) {
        e = (await s.api('GET', `/events/${r.body.eventId}`)).body as EventView;
        if (!['queued', 'running'].includes(e.status)) break;
        await sleep(20);
      }
      const api = (performance.now() - t0) / 1000;
      if (e.status !== 'success') throw new Error(`run failed: ${e.error}`);
      return {
        id: e.id,
        startedAt: Date.parse(e.startedAt),
        event: (Date.parse(e.finishedAt) - Date.parse(e.startedAt)) / 1000,
        api,
        bytes: e.bytesDone ?? 0,
      };
    };
    let n = 0;
    /** One hand-typed incremental pipe: seconds of the pipe alone, and with its snapshot. */
    const typed = async () => {
      const prev = n ? `@h${n}` : null;
      const snap = `${hand}@h${++n}`;
      const s0 = performance.now();
      await zfs('snapshot', snap);
      const p0 = performance.now();
      execFileSync(
        'bash',
        ['-c', `set -o pipefail; zfs send ${prev ? `-i ${prev} ` : ''}${snap} | ${ssh} zfs recv ${tgt.name}/hand/data`],
        { stdio: 'inherit' },
      );
      const end = performance.now();
      return { pipe: (end - p0) / 1000, withSnap: (end - s0) / 1000 };
    };
    const fill = async (i: number) => {
      for (const d of ['lb', 'hand']) await writeRandom(join(src.mountpoint!, d, `f${i}`), SIZE);
    };

    await fill(0);
    const first = await runner();
    await typed();
    console.log(`warm-up (full sends): runner ${first.event.toFixed(2)} s`);
    const times = { hand: [] as number[], handSnap: [] as number[], event: [] as number[], api: [] as number[] };
    let bytes = 0;
    let last: Awaited<ReturnType<typeof runner>> | null = null;
    for (let r = 0; r < ROUNDS; r++) {
      await fill(r + 1);
      const steps = [
        async () => {
          const x = await typed();
          times.hand.push(x.pipe);
          times.handSnap.push(x.withSnap);
        },
        async () => {
          const x = await runner();
          times.event.push(x.event);
          times.api.push(x.api);
          bytes = x.bytes;
          last = x;
        },
      ];
      for (const f of r % 2 ? steps.reverse() : steps) await f();
      console.log(
        `round ${r + 1}: hand ${times.hand[r].toFixed(3)} s (${times.handSnap[r].toFixed(3)} s with its snapshot), runner ${times.event[r].toFixed(3)} s (event), ${times.api[r].toFixed(3)} s (API); hand/runner ${(times.hand[r] / times.event[r]).toFixed(2)}x`,
      );
    }
    const m = { hand: median(times.hand), handSnap: median(times.handSnap), event: median(times.event), api: median(times.api) };
    const ratios = times.hand.map((h, i) => h / times.event[i]);
    console.log(
      `\nincremental of ${(SIZE / (1 << 20)).toFixed(1)} MiB (runner sent ${bytes} bytes; job Keep Last ${KEEP}), zfs-fuse, sshd on 127.0.0.1, median of ${ROUNDS} alternating rounds`,
    );
    console.log(
      `hand-typed zfs send -i | ssh zfs recv   ${m.hand.toFixed(3).padStart(7)} s   (${m.handSnap.toFixed(3)} s with zfs snapshot)`,
    );
    console.log(`lifeboat run (event start → end)        ${m.event.toFixed(3).padStart(7)} s`);
    console.log(`lifeboat run (Run Now → finished seen)  ${m.api.toFixed(3).padStart(7)} s`);
    console.log(
      `hand / runner: ${(m.hand / m.event).toFixed(2)}x (event), ${(m.hand / m.api).toFixed(2)}x (API), ${(m.handSnap / m.event).toFixed(2)}x (event vs pipe with its snapshot); median of the per-round ratios ${median(ratios).toFixed(2)}x (goal ≥ 1.0)`,
    );
    // where the last run spent its time: its log lines, as seconds since the event started
    const lr = last as Awaited<ReturnType<typeof runner>> | null;
    if (lr) {
      const lines = (await s.api('GET', `/events/${lr.id}/log`)).body.items as { ts: string; message: string }[];
      console.log(`\nthe last run's log (s since its start):`);
      for (const l of lines) console.log(`  +${((Date.parse(l.ts) - lr.startedAt) / 1000).toFixed(3)}  ${l.message.slice(0, 110)}`);
    }
    return { times, m };
  } finally {
    await srv?.stop();
    await sshd.stop();
    await src.destroy();
    await tgt.destroy();
  }
}
