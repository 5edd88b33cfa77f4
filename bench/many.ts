// Many datasets (issue 14 #8): a recursive job whose BENCH_CHILDREN children (default 100) each got a
// small change (BENCH_BYTES of new random data, default 64 KiB), side by side in one run:
//   streams 4  the runner's backup (runBackup in this process: snapshot, listings, sends, GUID checks,
//              tags, holds), small incrementals 4 at a time over one connection (the default)
//   streams 1  the same, one dataset after another (LIFEBOAT_RUNNER_STREAMS=1)
//   syncoid    `syncoid -r` (Debian's sanoid 2.1.0) of an identical tree, with its own sync snapshots
// Each contender has its own tree, so each round sends the same amount of change for each. After
// one unmeasured full run of each, BENCH_ROUNDS rounds (default 3) alternate the order; every run
// connects anew (no warm connection: syncoid has none). Prints the medians and syncoid / runner
// (≥ 2 is the goal). zfs-fuse pools and a test sshd on 127.0.0.1; nothing else on the box is touched.
// `npm run bench -- many-openzfs`: the runner's two settings on real OpenZFS (the test VM, node and
// target in it, the runner inside; BENCH_CHILDREN default 30 there, TCG is slow): one world per
// setting, one after the other, Run Now through the API, the run timed by its event; beside the
// 4-stream runs, syncoid -r (the image has Debian's sanoid 2.1.0) on an identical tree, timed in the guest.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runBackup } from '../node-runner/src/executors/backup.ts';
import { configureConcurrentStreams } from '../node-runner/src/executors/backup-send.ts';
import { loopbackTarget, provisionTestHost, sshFiles } from './fixture.ts';
import { startSshd } from '../tests/helpers/sshd.ts';
import { createPool, testContext, writeRandom, zfs } from '../tests/helpers/zfs.ts';
import { startWorld } from '../tests/openzfs/world.ts';

const CHILDREN = Math.max(1, Number(process.env.BENCH_CHILDREN ?? 100));
const SIZE = Number(process.env.BENCH_BYTES ?? 64 << 10);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchMany() {
  const stopZfsFuse = provisionTestHost('sanoid');
  const src = await createPool('lbms', { mounted: true, sizeMiB: 512 });
  const tgt = await createPool('lbmt', { mounted: false, sizeMiB: 512 });
  const sshd = await startSshd();
  try {
    const trees = { streams4: `${src.name}/s4`, streams1: `${src.name}/s1`, syncoid: `${src.name}/sy` } as const;
    type Name = keyof typeof trees;
    const names = Object.keys(trees) as Name[];
    const kids = (root: string) => Array.from({ length: CHILDREN }, (_, i) => `${root}/c${i}`);
    console.log(`creating ${names.length} trees of ${CHILDREN} children…`);
    for (const root of Object.values(trees)) {
      await zfs('create', root);
      for (const k of kids(root)) await zfs('create', k);
    }
    await zfs('create', '-o', 'mountpoint=none', `${tgt.name}/lb`);
    await zfs('create', '-o', 'mountpoint=none', `${tgt.name}/syncoid`);
    const { keyFile, known } = await sshFiles(sshd);
    const target = await loopbackTarget(sshd, `${tgt.name}/lb`);
    const runner = (id: number, root: string, streams: number) => async () => {
      configureConcurrentStreams(streams);
      const job = { id, name: `bench${id}`, mode: 'dataset' as const, source: root, recursive: true, keepLast: 0, pruneTarget: false };
      const r = await runBackup(
        { target, job: { ...job, stopBeforeBackup: false, sendDecrypted: false }, generation: 1, nextGeneration: 2, forkFrom: null },
        testContext().ctx,
      );
      return r.datasets.length;
    };
    const run: Record<Name, () => Promise<number>> = {
      streams4: runner(1, trees.streams4, 4),
      streams1: runner(2, trees.streams1, 1),
      syncoid: async () => {
        execFileSync(
          'syncoid',
          [
            '-r',
            '--no-privilege-elevation',
            '--quiet',
            `--sshport=${sshd.port}`,
            `--sshkey=${keyFile}`,
            `--sshoption=UserKnownHostsFile=${known}`,
            trees.syncoid,
            `root@127.0.0.1:${tgt.name}/syncoid/sy`,
          ],
          { stdio: 'inherit' },
        );
        return CHILDREN + 1;
      },
    };
    const timed = async (n: Name) => {
      await sleep(1100); // the runner's snapshot names have one-second resolution
      const t0 = performance.now();
      const count = await run[n]();
      const sec = (performance.now() - t0) / 1000;
      if (count !== CHILDREN + 1) throw new Error(`${n} sent ${count} datasets, not ${CHILDREN + 1}`);
      return sec;
    };
    const change = async (r: number) => {
      for (const root of Object.values(trees))
        for (const k of kids(root)) await writeRandom(join(src.mountpoint!, k.slice(src.name.length + 1), `f${r}`), SIZE);
    };
    const full: Partial<Record<Name, number>> = {};
    for (const n of names) console.log(`warm-up (full) ${n}: ${(full[n] = await timed(n)).toFixed(2)} s`);
    const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;
    // syncoid 2.1.0 cannot list a remote target's snapshots on zfs-fuse (`zfs get -t snapshot` is
    // missing there, and its fallback runs the host name as a command): its incrementals fail here
    let syncoidFailed: string | null = null;
    for (let r = 0; r < ROUNDS; r++) {
      await change(r);
      for (const n of r % 2 ? [...names].reverse() : names) {
        if (n === 'syncoid' && syncoidFailed) continue;
        try {
          times[n].push(await timed(n));
        } catch (e) {
          if (n !== 'syncoid') throw e;
          syncoidFailed = (e as Error).message.split('\n')[0];
          console.log(`round ${r + 1} syncoid   failed: ${syncoidFailed}`);
          continue;
        }
        console.log(`round ${r + 1} ${n.padEnd(9)} ${times[n].at(-1)!.toFixed(2)} s`);
      }
    }
    const med = Object.fromEntries(names.map((n) => [n, times[n].length ? median(times[n]) : NaN])) as Record<Name, number>;
    console.log(`\n${CHILDREN} children, ${SIZE} bytes changed in each, ${ROUNDS} round(s); medians:`);
    for (const n of names) console.log(`  ${n.padEnd(9)} ${times[n].length ? `${med[n].toFixed(2)} s` : 'failed'}`);
    if (!syncoidFailed) {
      console.log(`syncoid / streams 4   ${(med.syncoid / med.streams4).toFixed(2)}x  (goal ≥ 2)`);
      console.log(`syncoid / streams 1   ${(med.syncoid / med.streams1).toFixed(2)}x`);
    }
    console.log(`streams 1 / streams 4 ${(med.streams1 / med.streams4).toFixed(2)}x`);
    console.log(`full sends (warm-up): syncoid / streams 4 ${(full.syncoid! / full.streams4!).toFixed(2)}x`);
    return { times, med };
  } finally {
    configureConcurrentStreams(4);
    await sshd.stop();
    await src.destroy();
    await tgt.destroy();
    stopZfsFuse();
  }
}

export async function benchManyOpenzfs() {
  const children = Math.max(1, Number(process.env.BENCH_CHILDREN ?? 30));
  if (!process.env.LIFEBOAT_OPENZFS_VM) throw new Error('set LIFEBOAT_OPENZFS_VM (scripts/openzfs-vm.sh start prints it)');
  const med: Record<string, number> = {};
  const secs = (e: { startedAt: string; finishedAt: string }) => (Date.parse(e.finishedAt) - Date.parse(e.startedAt)) / 1000;
  for (const streams of [4, 1]) {
    const w = await startWorld({
      prefix: `lbm${streams}`,
      user: 'lbtarget',
      runnerEnv: { LIFEBOAT_RUNNER_INVENTORY_MS: '30000', LIFEBOAT_RUNNER_STREAMS: String(streams) },
    });
    // With 4 streams, syncoid -r runs beside it in the same guest on an identical tree of its own:
    // over SSH to 127.0.0.1 like the runner, as root (no delegation to check), timed inside the guest.
    const withSyncoid = streams === 4;
    const trees = withSyncoid ? [`${w.src.name}/tree`, `${w.src.name}/sy`] : [`${w.src.name}/tree`];
    const syKey = '/root/.ssh/lb_bench_syncoid';
    let syPub: string | null = null;
    try {
      for (const root of trees)
        await w.vm.must(['sh', '-c', `zfs create ${root} && for i in $(seq 0 ${children - 1}); do zfs create ${root}/c$i; done`]);
      const syncoid = async () => {
        const ns = await w.vm.must([
          'sh',
          '-c',
          'set -e; s=$(date +%s%N); syncoid -r --quiet --sshkey="$1" --sshoption=StrictHostKeyChecking=no --sshoption=UserKnownHostsFile=/dev/null "$2" "$3"; e=$(date +%s%N); echo $((e - s))',
          'sh',
          syKey,
          trees[1],
          `root@127.0.0.1:${w.tgt.name}/syncoid/sy`,
        ]);
        return Number(ns.trim().split('\n').at(-1)) / 1e9;
      };
      if (withSyncoid) {
        await w.vm.must(['sh', '-c', `rm -f ${syKey} ${syKey}.pub && ssh-keygen -q -t ed25519 -N '' -C lb-bench-syncoid -f ${syKey}`]);
        syPub = (await w.vm.must(['cat', `${syKey}.pub`])).trim();
        await w.vm.addAuthorizedKey('root', syPub);
        await w.vm.zfs('create', '-o', 'mountpoint=none', `${w.tgt.name}/syncoid`);
      }
      const id = await w.job({ name: `many${streams}`, source: trees[0], recursive: true });
      console.log(`streams ${streams}: full run ${secs(await w.backupOk(id)).toFixed(2)} s`);
      if (withSyncoid) console.log(`syncoid: full run ${(await syncoid()).toFixed(2)} s`);
      const times: number[] = [];
      const syTimes: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        for (const root of trees)
          await w.vm.must([
            'sh',
            '-c',
            `for i in $(seq 0 ${children - 1}); do head -c ${SIZE} /dev/urandom > $(zfs get -H -o value mountpoint ${root}/c$i)/f${r}; done`,
          ]);
        await sleep(1100);
        // alternate who goes first: the guest's page cache and ARC favour the second
        const order = r % 2 && withSyncoid ? ['syncoid', 'lifeboat'] : ['lifeboat', 'syncoid'];
        for (const who of order) {
          if (who === 'lifeboat') {
            times.push(secs(await w.backupOk(id)));
            console.log(`streams ${streams}: round ${r + 1} ${times.at(-1)!.toFixed(2)} s`);
          } else if (withSyncoid) {
            syTimes.push(await syncoid());
            console.log(`syncoid:   round ${r + 1} ${syTimes.at(-1)!.toFixed(2)} s`);
          }
        }
      }
      med[streams] = median(times);
      if (withSyncoid) med.syncoid = median(syTimes);
    } finally {
      if (syPub) await w.vm.removeAuthorizedKey('root', syPub).catch(() => undefined);
      await w.close();
    }
  }
  console.log(`\n${children} children, ${SIZE} bytes changed in each, ${ROUNDS} round(s) on OpenZFS (TCG); medians:`);
  console.log(`  streams 4 ${med[4].toFixed(2)} s, streams 1 ${med[1].toFixed(2)} s: ${(med[1] / med[4]).toFixed(2)}x`);
  console.log(`  syncoid -r ${med.syncoid.toFixed(2)} s: syncoid / streams 4 ${(med.syncoid / med[4]).toFixed(2)}x (goal ≥ 2)`);
  return med;
}
