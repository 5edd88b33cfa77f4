// Full-send throughput on real OpenZFS (the test VM), side by side in one run:
//   hand    `zfs send ds@s | ssh … lbtarget@127.0.0.1 zfs recv -u …`, typed in the guest (the node),
//           with a fresh SSH connection, to the guest's own sshd (the target), as the runner does;
//           once with ssh's default ciphers (as typed), once with the cipher order the runner
//           uses on this CPU (ciphers.ts) — the same transport, so the runner's own overhead shows;
//   runner  Run Now of a new job through the API: the whole run (claim, listings, snapshot, estimate,
//           send, GUID check, tagging, catalog), timed by the event's own start and end, and from the
//           POST to the finished event as the API client sees it.
// After one unmeasured warm-up run of each, alternating for BENCH_ROUNDS rounds (default 3; the
// order flips every round), then medians and the ratio hand / runner (goal ≥ 0.9). The guest runs under TCG: absolute rates are the
// emulator's, only the ratio means anything. Boots its own VM unless LIFEBOAT_OPENZFS_VM is set.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { cipherListFor } from '../node-runner/src/ssh/ciphers.ts';
import { startWorld } from '../tests/openzfs/world.ts';

const MiB = 1 << 20;
const SIZE = Number(process.env.BENCH_BYTES ?? 128 * MiB);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
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
  const w = await startWorld({ prefix: 'lbbz', user: 'lbtarget', srcMiB: Math.ceil((SIZE * 1.5) / MiB) + 64, tgtMiB: Math.ceil((SIZE * 3) / MiB) + 128 });
  try {
    const ds = `${w.src.name}/data`;
    await w.vm.zfs('create', ds);
    for (let off = 0, i = 0; off < SIZE; off += 64 * MiB, i++) await w.vm.writeRandom(`${w.src.mountpoint}/data/f${i}`, Math.min(64 * MiB, SIZE - off));
    await w.vm.zfs('snapshot', `${ds}@hand`);
    await w.vm.zfs('create', '-o', 'canmount=off', `${w.backupRoot}/hand`);
    const key = `/var/tmp/${w.src.name}-bench.key`;
    await w.vm.must(['sh', '-c', `umask 077; cat > ${key}`], { input: w.privateKey });
    const ssh = `ssh -i ${key} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
    const runnerCiphers = cipherListFor(await w.vm.must(['cat', '/proc/cpuinfo']));
    const times = { hand: [] as number[], handSame: [] as number[], runnerEvent: [] as number[], runnerApi: [] as number[] };
    let bytes = 0;
    const handWith = async (r: number, opts: string, into: number[]) => {
      // timed in the guest, so the host's ssh round trip to the VM is not part of it
      const ms = await w.vm.must(['sh', '-c', `s=$(date +%s%N); zfs send ${ds}@hand | ${ssh} ${opts} lbtarget@127.0.0.1 zfs recv -u ${w.backupRoot}/hand/r${r} && e=$(date +%s%N) && echo $(( (e - s) / 1000000 ))`]);
      into.push(Number(ms.trim().split('\n').pop()) / 1000);
      await w.vm.zfs('destroy', '-r', `${w.backupRoot}/hand/r${r}`);
    };
    const hand = async (r: number) => {
      await handWith(r, '', times.hand);
      if (runnerCiphers) await handWith(r, `-o Ciphers=${runnerCiphers}`, times.handSame);
    };
    const runner = async (r: number) => {
      const id = await w.job({ name: `bench${r}`, source: ds });
      const t0 = performance.now();
      const e = await w.backupOk(id);
      times.runnerApi.push((performance.now() - t0) / 1000);
      times.runnerEvent.push((Date.parse(e.finishedAt) - Date.parse(e.startedAt)) / 1000);
      bytes = e.bytesDone;
      await w.vm.zfs('destroy', '-r', `${w.backupRoot}/j${id}`);
    };
    // one unmeasured run of each first: the first stream after the pool was made runs cold
    await handWith(ROUNDS, '', []);
    await runner(ROUNDS);
    for (const k of Object.keys(times) as (keyof typeof times)[]) times[k] = [];
    for (let r = 0; r < ROUNDS; r++) {
      for (const f of r % 2 ? [runner, hand] : [hand, runner]) await f(r);
      console.log(`round ${r + 1}: hand ${times.hand[r].toFixed(2)} s${runnerCiphers ? ` (${times.handSame[r].toFixed(2)} s with the runner's ciphers)` : ''}, runner ${times.runnerEvent[r].toFixed(2)} s (event), ${times.runnerApi[r].toFixed(2)} s (API)`);
    }
    const m = { hand: median(times.hand), handSame: runnerCiphers ? median(times.handSame) : median(times.hand), event: median(times.runnerEvent), api: median(times.runnerApi) };
    const rate = (s: number) => `${(bytes / s / 1e6).toFixed(1)} MB/s`;
    console.log(`\nfull send of ${(bytes / MiB).toFixed(1)} MiB to the OpenZFS VM (OpenZFS ${w.vm.info.zfsVersion}, TCG), median of ${ROUNDS} alternating rounds`);
    console.log(`hand-typed zfs send | ssh zfs recv   ${m.hand.toFixed(2).padStart(7)} s  ${rate(m.hand)}`);
    console.log(`lifeboat run (event start → end)     ${m.event.toFixed(2).padStart(7)} s  ${rate(m.event)}`);
    console.log(`lifeboat run (Run Now → finished)    ${m.api.toFixed(2).padStart(7)} s  ${rate(m.api)}`);
    if (runnerCiphers) console.log(`hand-typed, the runner's ciphers      ${m.handSame.toFixed(2).padStart(7)} s  ${rate(m.handSame)}  (${runnerCiphers.split(',')[0]} first)`);
    console.log(`runner vs hand-typed pipe: ${(m.hand / m.event).toFixed(2)}x (event), ${(m.hand / m.api).toFixed(2)}x (API)  (goal ≥ 0.9)`);
    if (runnerCiphers) console.log(`runner vs hand-typed pipe with the same ciphers: ${(m.handSame / m.event).toFixed(2)}x (event), ${(m.handSame / m.api).toFixed(2)}x (API)`);
    await w.vm.exec(['rm', '-f', key]);
    return m;
  } finally {
    await w.close();
    if (runDir) spawnSync('bash', [script, 'stop', runDir], { stdio: 'inherit' });
  }
}
