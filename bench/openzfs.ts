// Full-send throughput on real OpenZFS (the test VM), side by side in one run:
//   hand    `zfs send ds@s | ssh … lbtarget@127.0.0.1 zfs recv -u …`, typed in the guest (the node),
//           with a fresh SSH connection, to the guest's own sshd (the target), as the runner does;
//           once with ssh's default ciphers (as typed), once with the cipher order the runner
//           uses on this CPU (ciphers.ts) — the same transport, so the runner's own overhead shows;
//   runner  Run Now of a new job through the API: the whole run (claim, listings, snapshot, estimate,
//           send, GUID check, tagging, catalog), timed by the event's own start and end, and from the
//           POST to the finished event as the API client sees it.
// After one unmeasured warm-up run of each, alternating for BENCH_ROUNDS rounds (default 3; the
// order flips every round), then medians and the ratio hand / runner (goal ≥ 0.9). Then the same
// with a 1 MiB dataset: the difference is the run's fixed cost (target checks, first-run scaffold,
// tags, catalog: about a dozen zfs processes, each ~0.1–0.3 s under TCG), which a throughput
// ratio only hides at sizes where the stream dominates. The guest runs under TCG: absolute rates
// are the emulator's, only ratios and the fixed cost's order of magnitude mean anything. Boots its
// own VM unless LIFEBOAT_OPENZFS_VM is set. The runner refreshes its inventory every 30 s, as in
// production (the tests' 3 s would take the VM's CPU from the stream).
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { cipherListFor } from '../node-runner/src/ssh/ciphers.ts';
import { releaseHolds, startWorld } from '../tests/openzfs/world.ts';

const MiB = 1 << 20;
const SIZE = Number(process.env.BENCH_BYTES ?? 512 * MiB);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const script = new URL('../scripts/openzfs-vm.sh', import.meta.url).pathname;

export async function benchOpenzfs() {
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
  const w = await startWorld({
    prefix: 'lbbz',
    user: 'lbtarget',
    srcMiB: Math.ceil((SIZE * 1.5) / MiB) + 64,
    tgtMiB: Math.ceil((SIZE * 3) / MiB) + 128,
    runnerEnv: { LIFEBOAT_RUNNER_INVENTORY_MS: '30000' },
  });
  try {
    const ds = `${w.src.name}/data`;
    const small = `${w.src.name}/small`;
    await w.vm.zfs('create', ds);
    for (let off = 0, i = 0; off < SIZE; off += 64 * MiB, i++)
      await w.vm.writeRandom(`${w.src.mountpoint}/data/f${i}`, Math.min(64 * MiB, SIZE - off));
    await w.vm.zfs('create', small);
    await w.vm.writeRandom(`${w.src.mountpoint}/small/f0`, MiB);
    await w.vm.zfs('snapshot', `${ds}@hand`, `${small}@hand`);
    await w.vm.zfs('create', '-o', 'canmount=off', `${w.backupRoot}/hand`);
    const key = `/var/tmp/${w.src.name}-bench.key`;
    await w.vm.must(['sh', '-c', `umask 077; cat > ${key}`], { input: w.privateKey });
    const ssh = `ssh -i ${key} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
    const runnerCiphers = cipherListFor(await w.vm.must(['cat', '/proc/cpuinfo']));
    const sameCiphers = runnerCiphers ? `-o Ciphers=${runnerCiphers}` : '';
    let jobs = 0;
    /** One hand-typed pipe of `src@hand`, timed in the guest (the host's round trip to the VM is not part of it). */
    const hand = async (src: string, opts: string): Promise<number> => {
      const into = `${w.backupRoot}/hand/r${++jobs}`;
      const ms = await w.vm.must([
        'sh',
        '-c',
        `s=$(date +%s%N); zfs send ${src}@hand | ${ssh} ${opts} lbtarget@127.0.0.1 zfs recv -u ${into} && e=$(date +%s%N) && echo $(( (e - s) / 1000000 ))`,
      ]);
      await w.vm.zfs('destroy', '-r', into);
      return Number(ms.trim().split('\n').pop()) / 1000;
    };
    /** One Run Now of a new job of `src` (a full send): seconds by the event, by the API client, and its bytes. */
    const runner = async (src: string) => {
      const id = await w.job({ name: `bench${++jobs}`, source: src });
      const t0 = performance.now();
      const e = await w.backupOk(id);
      const api = (performance.now() - t0) / 1000;
      await releaseHolds(w.vm, `${w.backupRoot}/j${id}`, `lifeboat-j${id}`); // the run held its base
      await w.vm.zfs('destroy', '-r', `${w.backupRoot}/j${id}`);
      return { event: (Date.parse(e.finishedAt) - Date.parse(e.startedAt)) / 1000, api, bytes: e.bytesDone as number };
    };
    const times = {
      hand: [] as number[],
      handSame: [] as number[],
      runnerEvent: [] as number[],
      runnerApi: [] as number[],
      smallHand: [] as number[],
      smallRunner: [] as number[],
    };
    let bytes = 0;
    // one unmeasured run of each first: the first stream after the pool was made runs cold
    await hand(ds, sameCiphers);
    await runner(ds);
    for (let r = 0; r < ROUNDS; r++) {
      const steps = [
        async () => {
          times.hand.push(await hand(ds, ''));
          if (runnerCiphers) times.handSame.push(await hand(ds, sameCiphers));
        },
        async () => {
          const x = await runner(ds);
          times.runnerEvent.push(x.event);
          times.runnerApi.push(x.api);
          bytes = x.bytes;
        },
      ];
      for (const f of r % 2 ? steps.reverse() : steps) await f();
      console.log(
        `round ${r + 1}: hand ${times.hand[r].toFixed(2)} s${runnerCiphers ? ` (${times.handSame[r].toFixed(2)} s with the runner's ciphers)` : ''}, runner ${times.runnerEvent[r].toFixed(2)} s (event), ${times.runnerApi[r].toFixed(2)} s (API)`,
      );
    }
    for (let r = 0; r < ROUNDS; r++) {
      const steps = [
        async () => {
          times.smallHand.push(await hand(small, sameCiphers));
        },
        async () => {
          times.smallRunner.push((await runner(small)).event);
        },
      ];
      for (const f of r % 2 ? steps.reverse() : steps) await f();
    }
    const m = {
      hand: median(times.hand),
      handSame: runnerCiphers ? median(times.handSame) : median(times.hand),
      event: median(times.runnerEvent),
      api: median(times.runnerApi),
      smallHand: median(times.smallHand),
      smallRunner: median(times.smallRunner),
    };
    const rate = (s: number) => `${(bytes / s / 1e6).toFixed(1)} MB/s`;
    console.log(
      `\nfull send of ${(bytes / MiB).toFixed(1)} MiB to the OpenZFS VM (OpenZFS ${w.vm.info.zfsVersion}, TCG), median of ${ROUNDS} alternating rounds`,
    );
    console.log(`hand-typed zfs send | ssh zfs recv   ${m.hand.toFixed(2).padStart(7)} s  ${rate(m.hand)}`);
    console.log(`lifeboat run (event start → end)     ${m.event.toFixed(2).padStart(7)} s  ${rate(m.event)}`);
    console.log(`lifeboat run (Run Now → finished)    ${m.api.toFixed(2).padStart(7)} s  ${rate(m.api)}`);
    if (runnerCiphers)
      console.log(
        `hand-typed, the runner's ciphers      ${m.handSame.toFixed(2).padStart(7)} s  ${rate(m.handSame)}  (${runnerCiphers.split(',')[0]} first)`,
      );
    console.log(
      `runner vs hand-typed pipe: ${(m.hand / m.event).toFixed(2)}x (event), ${(m.hand / m.api).toFixed(2)}x (API)  (goal ≥ 0.9)`,
    );
    if (runnerCiphers)
      console.log(
        `runner vs hand-typed pipe with the same ciphers: ${(m.handSame / m.event).toFixed(2)}x (event), ${(m.handSame / m.api).toFixed(2)}x (API)`,
      );
    console.log(
      `fixed cost of a run (1 MiB dataset, first run of a job): runner ${m.smallRunner.toFixed(2)} s vs hand-typed ${m.smallHand.toFixed(2)} s: +${(m.smallRunner - m.smallHand).toFixed(2)} s`,
    );
    await w.vm.exec(['rm', '-f', key]);
    return m;
  } finally {
    await w.close();
    if (runDir) spawnSync('bash', [script, 'stop', runDir], { stdio: 'inherit' });
  }
}
