// Local dataset helpers of a restore (restore.ts): property reads with their source, the live tree,
// unmount/mount of whole trees, and renames that retry while zfs-fuse still says "busy".
import { Zfs, isSameOrDescendant } from '../zfs/index.ts';
import type { LiveDataset } from './restore-types.ts';
import { ExecError, type ExecContext } from './types.ts';
import { mkdir } from 'node:fs/promises';
import { PROP } from '../../../protocol/src/layout.ts';

export const USER_PROP_STAGING = PROP.staging;
export const USER_PROP_SET_ASIDE = PROP.setAside;

/** Properties of a replaced dataset carried over to its restored counterpart when set locally. */
export const CARRY_PROPS = ['mountpoint', 'canmount'];

export const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
export const parentOf = (ds: string) => ds.slice(0, ds.lastIndexOf('/'));
export const baseOf = (ds: string) => ds.slice(ds.lastIndexOf('/') + 1);
export const relParent = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
export const join = (root: string, rel: string) => (rel ? `${root}/${rel}` : root);
export const depth = (ds: string) => ds.split('/').length;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type SourcedProps = Map<string, Record<string, { value: string | null; source: string }>>;

/** `zfs get -Hp -o name,property,value,source` (value null for "-" with source "-"). */
export async function getWithSource(
  z: Zfs,
  names: string[],
  props: string[],
  opts: { recursive?: boolean; depth?: number } = {},
): Promise<SourcedProps> {
  const args = ['get', '-Hp'];
  if (opts.recursive) args.push('-r');
  if (opts.depth !== undefined) args.push('-d', String(opts.depth));
  args.push('-o', 'name,property,value,source', props.join(','), ...names);
  const out = await z.run(args, `zfs get ${names.join(' ')}`);
  const t: SourcedProps = new Map();
  for (const line of out.split('\n')) {
    const parts = line.split('\t');
    if (parts.length < 4) continue;
    const [name, prop] = parts;
    const source = parts[parts.length - 1];
    const value = parts.slice(2, -1).join('\t');
    let row = t.get(name);
    if (!row) {
      row = {};
      t.set(name, row);
    }
    row[prop] = { value: value === '-' && source === '-' ? null : value, source };
  }
  return t;
}

export async function readLive(z: Zfs, destination: string): Promise<LiveDataset[]> {
  const t = await getWithSource(z, [destination], ['type', 'guid', ...CARRY_PROPS], { recursive: true });
  const out: LiveDataset[] = [];
  for (const [name, props] of t) {
    if (name.includes('@') || (props.type?.value !== 'filesystem' && props.type?.value !== 'volume')) continue;
    out.push({ rel: name === destination ? '' : name.slice(destination.length + 1), name, guid: props.guid?.value ?? '', props });
  }
  return out.sort((a, b) => depth(a.name) - depth(b.name) || cmp(a.name, b.name));
}

export async function isOwnStaging(z: Zfs, name: string, E: number): Promise<boolean> {
  const p = (await getWithSource(z, [name], [USER_PROP_STAGING])).get(name)?.[USER_PROP_STAGING];
  return p?.source === 'local' && p.value === String(E);
}

/** Refuse a destination inside the target's backup root when the target is this very host and pool. */
export async function checkNotTargetTree(local: Zfs, remote: Zfs, destination: string, backupRoot: string): Promise<void> {
  if (!isSameOrDescendant(destination, backupRoot) && !isSameOrDescendant(backupRoot, destination)) return;
  if (!(await local.exists(backupRoot))) return;
  const lguid = (await local.get([backupRoot], ['guid'])).get(backupRoot)?.guid;
  const rguid = (await remote.get([backupRoot], ['guid'])).get(backupRoot)?.guid;
  if (lguid && lguid === rguid)
    throw new ExecError('source-state', `destination ${destination} and the backup root ${backupRoot} are the same dataset tree`);
}

/** Run a zfs command, retrying a few times when zfs-fuse answers "busy". */
export async function runRetryBusy(z: Zfs, args: string[], what: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await z.run(args, what);
      return;
    } catch (e) {
      if (i < 5 && e instanceof ExecError && /busy/i.test(e.message)) {
        await sleep(250 * (i + 1));
        continue;
      }
      throw e;
    }
  }
}

/** Unmount every mounted filesystem of `root`'s tree, deepest first; returns them (for remounting). */
export async function unmountTree(z: Zfs, root: string): Promise<string[]> {
  const t = await z.get([root], ['mounted'], { recursive: true });
  const mounted = [...t]
    .filter(([n, p]) => !n.includes('@') && p.mounted === 'yes')
    .map(([n]) => n)
    .sort((a, b) => depth(b) - depth(a) || cmp(b, a));
  const done: string[] = [];
  for (const n of mounted) {
    try {
      await runRetryBusy(z, ['unmount', n], `zfs unmount ${n}`);
      done.push(n);
    } catch (e) {
      if (/not currently mounted/i.test((e as Error).message)) continue;
      await mountList(z, done.reverse()).catch(() => undefined); // leave it as it was
      throw new ExecError('source-state', `cannot unmount ${n} (in use?): ${(e as Error).message}`);
    }
  }
  return done.reverse();
}

/**
 * Mount every filesystem of `root`'s tree that should be (parents first), creating mount
 * directories. An encrypted one whose key is not loaded is left unmounted and named in the log.
 */
export async function mountTree(z: Zfs, root: string, ctx?: ExecContext): Promise<void> {
  const encryption = (await z.capabilities()).encryption;
  const t = await z.get([root], ['type', 'mountpoint', 'canmount', 'mounted', ...(encryption ? ['keystatus', 'encryptionroot'] : [])], {
    recursive: true,
  });
  const rows = [...t]
    .filter(([n, p]) => !n.includes('@') && p.type === 'filesystem')
    .sort((a, b) => depth(a[0]) - depth(b[0]) || cmp(a[0], b[0]));
  for (const [n, p] of rows) {
    if (p.mounted === 'yes' || p.canmount !== 'on' || !p.mountpoint?.startsWith('/')) continue;
    if (p.keystatus === 'unavailable') {
      ctx?.log(`${n} is encrypted and its key is not loaded: not mounted (zfs load-key ${p.encryptionroot ?? n}, then zfs mount ${n})`);
      continue;
    }
    await mkdir(p.mountpoint, { recursive: true }).catch(() => undefined);
    try {
      await runRetryBusy(z, ['mount', n], `zfs mount ${n}`);
    } catch (e) {
      if (/already mounted/i.test((e as Error).message)) continue;
      throw e;
    }
  }
}

export async function mountList(z: Zfs, names: string[]): Promise<void> {
  for (const n of names) {
    try {
      await z.run(['mount', n], `zfs mount ${n}`);
    } catch (e) {
      if (!/already mounted/i.test((e as Error).message)) throw e;
    }
  }
}
