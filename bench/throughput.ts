// Backup throughput on one ≥ 1 GiB dataset, measured side by side in one run:
//   raw      `zfs send | ssh … zfs recv` with ssh's default cipher (the floor any tool pays),
//   raw/gcm  the same pipe with the runner's cipher order (ssh/ciphers.ts), when that differs,
//   runner   runBackup (a full send to a fresh job each round),
//   syncoid  (Debian package sanoid) on the same data,
// alternately for BENCH_ROUNDS rounds (default 2; the order flips every round so drift from other
// load on the box does not favour one of them), then medians and ratios; plus a no-change run's
// wall time and the SSH connections it opened. Every received copy is destroyed after its round.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runBackup } from '../node-runner/src/executors/backup.ts';
import { cipherList } from '../node-runner/src/ssh/ciphers.ts';
import { startSshd } from '../tests/helpers/sshd.ts';
import { loopbackTarget, provisionTestHost, sshFiles } from './fixture.ts';
import { createPool, releaseHolds, testContext, zfs } from '../tests/helpers/zfs.ts';

const GiB = 1 << 30;
const SIZE = Number(process.env.BENCH_BYTES ?? GiB);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export async function benchThroughput() {
  const stopZfsFuse = provisionTestHost('sanoid');
  const src = await createPool('lbbs', { mounted: true, sizeMiB: Math.ceil((SIZE * 1.6) / (1 << 20)) });
  const tgt = await createPool('lbbt', { mounted: false, sizeMiB: Math.ceil((SIZE * 4.5) / (1 << 20)) });
  const sshd = await startSshd();
  try {
    const ds = `${src.name}/data`;
    await zfs('create', ds);
    // Incompressible data in 64 MiB files, written by dd from /dev/urandom.
    for (let off = 0, i = 0; off < SIZE; off += 64 << 20, i++) {
      execFileSync('dd', [
        'if=/dev/urandom',
        `of=${join(src.mountpoint!, 'data', `f${i}`)}`,
        'bs=1M',
        `count=${Math.min(64, (SIZE - off) >> 20)}`,
        'status=none',
      ]);
    }
    await zfs('snapshot', `${ds}@raw`);
    for (const d of ['raw', 'lb', 'syncoid']) await zfs('create', '-o', 'mountpoint=none', `${tgt.name}/${d}`);
    const { keyFile, known } = await sshFiles(sshd);
    const sshArgs = `-i ${keyFile} -p ${sshd.port} -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${known}`;
    const runnerCiphers = cipherList();
    const firstCipher = runnerCiphers?.split(',')[0] ?? null;
    const bash = (cmd: string) => execFileSync('bash', ['-c', cmd], { stdio: 'inherit' });
    const timedAsync = async (f: () => Promise<unknown>) => {
      const s = performance.now();
      await f();
      return (performance.now() - s) / 1000;
    };
    const target = await loopbackTarget(sshd, `${tgt.name}/lb`);
    const job = (id: number) => ({
      id,
      name: 'bench',
      mode: 'dataset' as const,
      source: ds,
      recursive: false,
      keepLast: 0,
      pruneTarget: false,
      stopBeforeBackup: false,
      sendDecrypted: false,
    });

    let bytes = 0;
    let noChange: { sec: number; bytes: number; conns: number } | null = null;
    type Name = 'raw' | 'rawGcm' | 'runner' | 'syncoid';
    const contenders: Record<Name, { label: string; run: (round: number) => Promise<number> }> = {
      raw: {
        label: 'raw zfs send | ssh zfs recv',
        run: (r) => timedAsync(async () => bash(`zfs send ${ds}@raw | ssh ${sshArgs} root@127.0.0.1 zfs recv ${tgt.name}/raw/r${r}`)),
      },
      rawGcm: {
        label: `raw, ssh -c ${firstCipher}`,
        run: (r) =>
          timedAsync(async () =>
            bash(`zfs send ${ds}@raw | ssh -c ${firstCipher} ${sshArgs} root@127.0.0.1 zfs recv ${tgt.name}/raw/g${r}`),
          ),
      },
      runner: {
        label: 'lifeboat runner (full send)',
        run: async (r) => {
          const p = { target, job: job(r + 1), generation: 1, nextGeneration: 2, forkFrom: null };
          let full = 0;
          const sec = await timedAsync(async () => {
            full = (await runBackup(p, testContext(1).ctx)).bytesSent;
          });
          bytes = full;
          if (r === ROUNDS - 1) {
            // no-change run: same job again (its snapshot name needs the next second)
            await new Promise((res) => setTimeout(res, 1100));
            sshd.resetAcceptedConnections();
            let again = 0;
            const s2 = await timedAsync(async () => {
              again = (await runBackup(p, testContext(2).ctx)).bytesSent;
            });
            noChange = { sec: s2, bytes: again, conns: sshd.acceptedConnections() };
          }
          return sec;
        },
      },
      syncoid: {
        label: 'syncoid 2.1.0',
        run: (r) =>
          timedAsync(async () =>
            execFileSync(
              'syncoid',
              [
                '--no-privilege-elevation',
                '--quiet',
                `--sshport=${sshd.port}`,
                `--sshkey=${keyFile}`,
                `--sshoption=UserKnownHostsFile=${known}`,
                '--no-resume',
                ds,
                `root@127.0.0.1:${tgt.name}/syncoid/r${r}`,
              ],
              { stdio: 'inherit' },
            ),
          ),
      },
    };
    const received: Record<Name, (r: number) => string> = {
      raw: (r) => `${tgt.name}/raw/r${r}`,
      rawGcm: (r) => `${tgt.name}/raw/g${r}`,
      runner: (r) => `${tgt.name}/lb/j${r + 1}`,
      syncoid: (r) => `${tgt.name}/syncoid/r${r}`,
    };
    const names: Name[] = firstCipher ? ['raw', 'rawGcm', 'runner', 'syncoid'] : ['raw', 'runner', 'syncoid'];
    const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 ? [...names].reverse() : names;
      for (const n of order) {
        const sec = await contenders[n].run(r);
        times[n].push(sec);
        console.log(`round ${r + 1}  ${contenders[n].label.padEnd(32)} ${sec.toFixed(2).padStart(7)} s`);
        if (n === 'runner') await releaseHolds(received[n](r), `lifeboat-j${r + 1}`); // the run held its base
        await zfs('destroy', '-r', received[n](r));
      }
    }

    const mbs = (sec: number) => (bytes / sec / 1e6).toFixed(0).padStart(5);
    const med = Object.fromEntries(names.map((n) => [n, median(times[n])])) as Record<Name, number>;
    console.log(`\nthroughput on ${(bytes / GiB).toFixed(2)} GiB (zfs-fuse, sshd on 127.0.0.1), median of ${ROUNDS} alternating rounds`);
    for (const n of names) console.log(`${contenders[n].label.padEnd(32)} ${med[n].toFixed(2).padStart(7)} s  ${mbs(med[n])} MB/s`);
    console.log(`runner cipher order: ${runnerCiphers ?? "ssh's default"}`);
    console.log(`runner vs raw (ssh default cipher)      ${(med.raw / med.runner).toFixed(2)}x`);
    if (firstCipher) console.log(`runner vs raw (same cipher as runner)    ${(med.rawGcm / med.runner).toFixed(2)}x`);
    console.log(`runner vs syncoid                       ${(med.syncoid / med.runner).toFixed(2)}x`);
    const nc = noChange as { sec: number; bytes: number; conns: number } | null;
    if (nc)
      console.log(
        `no-change run                 ${nc.sec.toFixed(2).padStart(7)} s  (${nc.bytes} bytes sent, ${nc.conns} SSH connections accepted by sshd)`,
      );
    return { times, med, noChange: nc };
  } finally {
    await sshd.stop();
    await src.destroy();
    await tgt.destroy();
    stopZfsFuse();
  }
}
