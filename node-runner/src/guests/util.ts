// Shared helpers for guest providers: commands as argument vectors, polling, atomic file writes,
// mountpoint → dataset resolution.
import { randomBytes } from 'node:crypto';
import { rename, writeFile, unlink } from 'node:fs/promises';
import { dirname, basename, join, resolve } from 'node:path';
import { execArgv, type CmdResult } from '../core/process.ts';
import { oneLine } from '../zfs/zfs.ts';
import { parseListH } from '../zfs/parse.ts';
import { GuestError, type GuestErrorCode } from './types.ts';

export { oneLine };

export async function runCmd(argv: string[], timeoutMs?: number): Promise<CmdResult> {
  return execArgv(argv, { timeoutMs });
}

/** Run and throw GuestError(code) with the command's output on a non-zero exit. */
export async function mustRun(argv: string[], code: GuestErrorCode, what: string, timeoutMs?: number): Promise<CmdResult> {
  const r = await runCmd(argv, timeoutMs);
  if (r.code !== 0) {
    const out = oneLine(r.stderr) || oneLine(r.stdout) || `exit ${r.code}`;
    throw new GuestError(code, `${what}: ${argv.join(' ')} failed (exit ${r.code}): ${out}`);
  }
  return r;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `check` until it returns true or `timeoutMs` passes; resolves whether it became true. */
export async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(everyMs, Math.max(1, deadline - Date.now())));
  }
}

/** Write a file atomically (temp file in the same directory, then rename). */
export async function atomicWrite(path: string, text: string, mode = 0o644): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, text, { mode });
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** Serialise async work (read-modify-write of one file). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => {});
    return p;
  }
}

const fileLocks = new Map<string, Mutex>();

/**
 * The one lock of a file or directory in this process. Every event builds its own provider
 * instances, so a lock per instance would let two events rewrite the same manifest at once
 * (one registration lost): providers lock by path instead.
 */
export function lockFor(path: string): Mutex {
  const key = resolve(path);
  let m = fileLocks.get(key);
  if (!m) fileLocks.set(key, (m = new Mutex()));
  return m;
}

/** Mounted filesystems: mountpoint → dataset (from `zfs list -H -o name,mountpoint`); throws when the listing fails. */
export async function mountedDatasets(): Promise<Map<string, string>> {
  // a listing that failed (or timed out) throws: an empty map would report guests without their roots
  const r = await mustRun(
    ['zfs', 'list', '-H', '-o', 'name,mountpoint', '-t', 'filesystem'],
    'command-failed',
    'listing mountpoints',
    30_000,
  );
  const m = new Map<string, string>();
  for (const [name, mp] of parseListH(r.stdout)) {
    if (mp && mp.startsWith('/')) m.set(trimSlash(mp), name);
  }
  return m;
}

export function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

/** The dataset mounted exactly at `path`, else the one whose mountpoint is the longest prefix of it. */
export function datasetForPath(path: string, mounts: Map<string, string>): string | null {
  let p = trimSlash(path);
  for (;;) {
    const ds = mounts.get(p);
    if (ds) return ds;
    if (p === '/' || !p.includes('/')) return null;
    p = p.slice(0, p.lastIndexOf('/')) || '/';
  }
}

/** Mountpoint of one dataset, or null. */
export async function mountpointOf(dataset: string): Promise<string | null> {
  const r = await runCmd(['zfs', 'get', '-Hp', '-o', 'value', 'mountpoint', dataset], 30_000);
  const v = r.stdout.trim();
  return r.code === 0 && v.startsWith('/') ? trimSlash(v) : null;
}

/** Drop roots nested inside another root (a recursive snapshot of the outer one covers them). */
export function outermostRoots(roots: string[]): string[] {
  const uniq = [...new Set(roots)].sort();
  return uniq.filter((r) => !uniq.some((o) => o !== r && r.startsWith(o + '/')));
}

export const poolOf = (ds: string) => ds.split('/')[0];

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
