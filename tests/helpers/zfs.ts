// File-backed zfs-fuse pools for tests: uniquely named, in a temp dir, destroyed afterwards.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, truncate, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Checkpoint } from '../../node-runner/src/executors/types.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(bin: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(bin, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Run and throw (with stderr) on failure. */
export async function must(bin: string, args: string[]): Promise<string> {
  const r = await run(bin, args);
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export const zfs = (...args: string[]) => must('zfs', args);

/**
 * A test's own zfs step right after an unmount (building crash leftovers by hand): zfs-fuse keeps a
 * dataset busy for a moment after it is unmounted, on a loaded machine longer. Retried while busy,
 * a few times, as the runner's own steps are (executors/restore.ts runRetryBusy).
 */
export async function zfsWhenFree(...args: string[]): Promise<string> {
  for (let i = 0; ; i++) {
    const r = await run('zfs', args);
    if (r.code === 0) return r.stdout;
    if (i >= 8 || !/busy/i.test(r.stderr)) throw new Error(`zfs ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
    await new Promise((res) => setTimeout(res, 250 * (i + 1)));
  }
}

/** Fails with the reason when ZFS is not usable (never skip silently). */
/**
 * Release `tag` (e.g. Lifeboat's `lifeboat-j<job>`) from every held snapshot under `root`: what an
 * operator does before destroying a job's snapshots by hand (docs/zfs.md, "Holds").
 */
export async function releaseHolds(root: string, tag: string): Promise<void> {
  for (const line of (await zfs('get', '-Hp', '-r', '-o', 'name,value', 'userrefs', root)).split('\n')) {
    const [name, refs] = line.split('\t');
    if (!name?.includes('@') || !(Number(refs) > 0)) continue;
    const r = await run('zfs', ['release', tag, name]);
    if (r.code !== 0 && !/no such tag/.test(r.stderr)) throw new Error(`zfs release ${tag} ${name}: ${r.stderr.trim()}`);
  }
}

export async function requireZfs(): Promise<void> {
  const r = await run('zpool', ['list', '-H']);
  if (r.code !== 0) {
    throw new Error(
      `ZFS is not available (zpool list: ${r.code === -1 ? 'zpool not found' : r.stderr.trim()}); ` +
        'run scripts/provision-test-host.sh as root (needs /dev/fuse and the zfs-fuse daemon)',
    );
  }
}

export interface TestPool {
  name: string;
  dir: string;
  /** where the pool's root dataset is mounted, or null (mountpoint=none) */
  mountpoint: string | null;
  destroy(): Promise<void>;
}

export function uniqueName(prefix: string): string {
  return `${prefix}${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A new pool on a sparse 128 MiB file. `mounted` false → mountpoint=none. */
export async function createPool(prefix: string, opts: { mounted?: boolean; sizeMiB?: number } = {}): Promise<TestPool> {
  await requireZfs();
  const name = uniqueName(prefix);
  const dir = await mkdtemp(join(tmpdir(), `lb-pool-${name}-`));
  const file = join(dir, 'vdev');
  await writeFile(file, '');
  await truncate(file, (opts.sizeMiB ?? 128) * 1048576); // not << 20: pools over 2 GiB overflow 32 bits
  const mounted = opts.mounted ?? true;
  const mountpoint = mounted ? join(dir, 'mnt') : null;
  if (mountpoint) await mkdir(mountpoint);
  await must('zpool', ['create', '-m', mountpoint ?? 'none', name, file]);
  return {
    name,
    dir,
    mountpoint,
    async destroy() {
      let r = await run('zpool', ['destroy', '-f', name]);
      for (let i = 0; r.code !== 0 && /busy/.test(r.stderr) && i < 10; i++) {
        await new Promise((res) => setTimeout(res, 300));
        r = await run('zpool', ['destroy', '-f', name]);
      }
      await rm(dir, { recursive: true, force: true });
      if (r.code !== 0 && !/no such pool/.test(r.stderr)) throw new Error(`zpool destroy ${name}: ${r.stderr.trim()}`);
    },
  };
}

/** Write `bytes` of incompressible data into a file. */
export async function writeRandom(path: string, bytes: number): Promise<void> {
  await writeFile(path, randomBytes(bytes));
}

/** name → guid for every snapshot under `root` (recursive). */
export async function snapshotGuids(root: string): Promise<Map<string, string>> {
  const out = await zfs('get', '-Hp', '-r', '-o', 'name,value', 'guid', root);
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [n, v] = line.split('\t');
    if (n && n.includes('@')) m.set(n, v);
  }
  return m;
}

export async function snapshotNames(root: string): Promise<string[]> {
  return [...(await snapshotGuids(root)).keys()].sort();
}

/** An ExecContext for executor tests: records progress reports and log lines. */
export function testContext(eventId = 1) {
  const ac = new AbortController();
  const reports: {
    phase: string;
    bytesDone?: number;
    bytesTotal?: number | null;
    rateBps?: number | null;
    etaSeconds?: number | null;
    at: number;
  }[] = [];
  const logs: string[] = [];
  let onProgress: ((p: (typeof reports)[number]) => void) | null = null;
  return {
    ctx: {
      eventId,
      signal: ac.signal,
      progress(p: Omit<(typeof reports)[number], 'at'>) {
        const r = { ...p, at: Date.now() };
        reports.push(r);
        onProgress?.(r);
      },
      log(line: string) {
        logs.push(line);
      },
      /** a test may set it to throw at a checkpoint (a failure injected there) */
      checkpoint: undefined as ((name: Checkpoint) => void) | undefined,
      /** a test may pin the clock snapshot names are taken from */
      now: undefined as (() => Date) | undefined,
    },
    abort: () => ac.abort(),
    reports,
    logs,
    set onProgress(f: ((p: (typeof reports)[number]) => void) | null) {
      onProgress = f;
    },
  };
}
