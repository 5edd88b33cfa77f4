// A small incremental backup on real OpenZFS (issue 14 #7, the test VM), side by side in one run:
//   hand    in the guest (the node): `zfs send -i @prev ds@now | ssh … lbtarget@127.0.0.1 zfs recv -u …`
//           to the guest's own sshd (the target), a fresh SSH connection each time, ssh's default
//           ciphers; timed in the guest around the pipe alone (its `zfs snapshot` not counted, which
//           favours it) and around snapshot + pipe;
//   runner  Run Now of a job through the API, the runner in the guest (its warm connection kept
//           between runs): the whole run from the event's start to its end (listings, snapshot,
//           send, GUID check, tags, holds, catalog).
// Each round writes BENCH_BYTES (default 1 MiB) of new random data into both datasets outside the
// timing; after one unmeasured full run of each, BENCH_ROUNDS rounds (default 5) alternate the order.
// Prints the medians and hand / runner (≥ 1.0: the runner is at least as fast as the pipe). Needs
// LIFEBOAT_OPENZFS_VM (scripts/openzfs-vm.sh start prints it). Under TCG each zfs process costs
// 0.1–0.3 s: only the ratio means anything.
import { startWorld } from '../tests/openzfs/world.ts';

const SIZE = Number(process.env.BENCH_BYTES ?? 1 << 20);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchIncrementalOpenzfs() {
  if (!process.env.LIFEBOAT_OPENZFS_VM) throw new Error('set LIFEBOAT_OPENZFS_VM (scripts/openzfs-vm.sh start prints it)');
  const w = await startWorld({ prefix: 'lbbi', user: 'lbtarget', runnerEnv: { LIFEBOAT_RUNNER_INVENTORY_MS: '30000' } });
  try {
    const job = `${w.src.name}/inc`;
    const mine = `${w.src.name}/hand`;
    const into = `${w.backupRoot}/hand/h`;
    await w.vm.zfs('create', job);
    await w.vm.zfs('create', mine);
    await w.vm.zfs('create', '-o', 'canmount=off', `${w.backupRoot}/hand`);
    const key = `/var/tmp/${w.src.name}-bench.key`;
    await w.vm.must(['sh', '-c', `umask 077; cat > ${key}`], { input: w.privateKey });
    const ssh = `ssh -i ${key} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`;
    const change = async (r: number) => {
      for (const ds of ['inc', 'hand']) await w.vm.writeRandom(`${w.src.mountpoint}/${ds}/f${r}`, SIZE);
    };
    let prev: string | null = null;
    /** One hand-typed pipe: [pipe alone, snapshot + pipe] in seconds, timed in the guest. */
    const hand = async (r: number): Promise<[number, number]> => {
      const snap = `${mine}@r${r}`;
      const send = prev ? `zfs send -i @${prev} ${snap}` : `zfs send ${snap}`;
      const out = await w.vm.must([
        'sh',
        '-c',
        `set -e; a=$(date +%s%N); zfs snapshot ${snap}; b=$(date +%s%N); ${send} | ${ssh} lbtarget@127.0.0.1 zfs recv -u ${into}; c=$(date +%s%N); echo $((c - b)) $((c - a))`,
      ]);
      prev = `r${r}`;
      const [pipe, all] = out.trim().split('\n').pop()!.split(' ').map(Number);
      return [pipe / 1e9, all / 1e9];
    };
    const id = await w.job({ name: 'inc', source: job });
    const runner = async () => {
      const e = await w.backupOk(id);
      return (Date.parse(e.finishedAt) - Date.parse(e.startedAt)) / 1000;
    };
    await change(0);
    console.log(`warm-up (full): hand ${(await hand(0))[0].toFixed(2)} s, runner ${(await runner()).toFixed(2)} s`);
    const t = { pipe: [] as number[], snapPipe: [] as number[], runner: [] as number[] };
    for (let r = 1; r <= ROUNDS; r++) {
      await change(r);
      await sleep(1100); // the runner's snapshot names have one-second resolution
      const steps = [
        async () => {
          const [p, a] = await hand(r);
          t.pipe.push(p);
          t.snapPipe.push(a);
        },
        async () => {
          t.runner.push(await runner());
        },
      ];
      for (const f of r % 2 ? steps : steps.reverse()) await f();
      console.log(
        `round ${r}: hand ${t.pipe.at(-1)!.toFixed(2)} s (${t.snapPipe.at(-1)!.toFixed(2)} s with its snapshot), runner ${t.runner.at(-1)!.toFixed(2)} s`,
      );
    }
    const m = { pipe: median(t.pipe), snapPipe: median(t.snapPipe), runner: median(t.runner) };
    console.log(`\n${SIZE} bytes changed, ${ROUNDS} rounds on OpenZFS ${w.vm.info.zfsVersion} (TCG); medians:`);
    console.log(`  hand pipe ${m.pipe.toFixed(2)} s, hand snapshot + pipe ${m.snapPipe.toFixed(2)} s, runner ${m.runner.toFixed(2)} s`);
    console.log(
      `  hand / runner ${(m.pipe / m.runner).toFixed(2)}x (pipe alone), ${(m.snapPipe / m.runner).toFixed(2)}x (with its snapshot); goal ≥ 1.0`,
    );
    return m;
  } finally {
    await w.close();
  }
}
