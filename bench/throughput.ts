// Backup throughput on one ≥ 1 GiB dataset, measured side by side in one run:
//   raw   `zfs send | ssh … zfs recv` (the floor any tool pays),
//   the runner's runBackup (full send), syncoid (Debian package sanoid) on the same data,
// plus a no-change run's wall time and the SSH connections it opened.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBackup } from '../node-runner/src/executors/backup.ts';
import { validateTarget } from '../node-runner/src/executors/validate.ts';
import type { TargetSpec } from '../node-runner/src/executors/types.ts';
import { startSshd } from '../tests/helpers/sshd.ts';
import { createPool, testContext, zfs } from '../tests/helpers/zfs.ts';

const GiB = 1 << 30;
const SIZE = Number(process.env.BENCH_BYTES ?? GiB);

export async function benchThroughput() {
  spawnSync('bash', [new URL('../scripts/provision-test-host.sh', import.meta.url).pathname], { stdio: 'inherit', env: { ...process.env, LIFEBOAT_TEST_PACKAGES: 'sanoid' } });
  const src = await createPool('lbbs', { mounted: true, sizeMiB: Math.ceil((SIZE * 1.6) / (1 << 20)) });
  const tgt = await createPool('lbbt', { mounted: false, sizeMiB: Math.ceil((SIZE * 4.5) / (1 << 20)) });
  const sshd = await startSshd();
  try {
    const ds = `${src.name}/data`;
    await zfs('create', ds);
    // Incompressible data in 64 MiB files, written by dd from /dev/urandom.
    for (let off = 0, i = 0; off < SIZE; off += 64 << 20, i++) {
      execFileSync('dd', ['if=/dev/urandom', `of=${join(src.mountpoint!, 'data', `f${i}`)}`, 'bs=1M', `count=${Math.min(64, (SIZE - off) >> 20)}`, 'status=none']);
    }
    await zfs('snapshot', `${ds}@raw`);
    for (const d of ['raw', 'lb', 'syncoid']) await zfs('create', '-o', 'mountpoint=none', `${tgt.name}/${d}`);
    const keyFile = join(sshd.dir, 'bench_key');
    writeFileSync(keyFile, sshd.clientKey, { mode: 0o600 });
    const known = join(sshd.dir, 'bench_known_hosts');
    writeFileSync(known, (await sshd.hostKeyLine()) + '\n');
    const sshArgs = `-i ${keyFile} -p ${sshd.port} -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${known}`;
    const timed = (f: () => void) => { const s = performance.now(); f(); return (performance.now() - s) / 1000; };

    const raw = timed(() => execFileSync('bash', ['-c', `zfs send ${ds}@raw | ssh ${sshArgs} root@127.0.0.1 zfs recv ${tgt.name}/raw/data`], { stdio: 'inherit' }));

    const target: TargetSpec = { id: 1, name: 'bench', sshHost: '127.0.0.1', sshUser: 'root', sshPort: sshd.port, sshPrivateKey: sshd.clientKey, backupRoot: `${tgt.name}/lb`, createBackupRoot: false, hostKey: null };
    target.hostKey = (await validateTarget(target, testContext().ctx)).hostKey;
    const job = { id: 1, name: 'bench', mode: 'dataset' as const, source: ds, recursive: false, keepLast: 0, pruneTarget: false, stopBeforeBackup: false };
    let s = performance.now();
    const full = await runBackup({ target, job, generation: 1, nextGeneration: 2, forkFrom: null }, testContext(1).ctx);
    const runner = (performance.now() - s) / 1000;

    const sync = timed(() => execFileSync('syncoid', ['--no-privilege-elevation', '--quiet', `--sshport=${sshd.port}`, `--sshkey=${keyFile}`, `--sshoption=UserKnownHostsFile=${known}`, '--no-resume', ds, `root@127.0.0.1:${tgt.name}/syncoid/data`], { stdio: 'inherit' }));

    await new Promise((r) => setTimeout(r, 1100));
    sshd.resetAcceptedConnections();
    s = performance.now();
    const again = await runBackup({ target, job, generation: 1, nextGeneration: 2, forkFrom: null }, testContext(2).ctx);
    const noChange = (performance.now() - s) / 1000;
    const conns = sshd.acceptedConnections();

    const mbs = (bytes: number, sec: number) => bytes / sec / 1e6;
    const bytes = full.bytesSent;
    console.log(`\nthroughput on ${(bytes / GiB).toFixed(2)} GiB (zfs-fuse, sshd on 127.0.0.1)`);
    console.log(`raw zfs send | ssh zfs recv   ${raw.toFixed(2).padStart(7)} s  ${mbs(bytes, raw).toFixed(0).padStart(5)} MB/s  1.00x`);
    console.log(`lifeboat runner (full send)   ${runner.toFixed(2).padStart(7)} s  ${mbs(bytes, runner).toFixed(0).padStart(5)} MB/s  ${(raw / runner).toFixed(2)}x of raw`);
    console.log(`syncoid 2.1.0                 ${sync.toFixed(2).padStart(7)} s  ${mbs(bytes, sync).toFixed(0).padStart(5)} MB/s  runner/syncoid ${(sync / runner).toFixed(2)}x`);
    console.log(`no-change run                 ${noChange.toFixed(2).padStart(7)} s  (${again.bytesSent} bytes sent, ${conns} SSH connections accepted by sshd)`);
    return { raw, runner, sync, noChange, conns };
  } finally {
    await sshd.stop();
    await src.destroy();
    await tgt.destroy();
  }
}
