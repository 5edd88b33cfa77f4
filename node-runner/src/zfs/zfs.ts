import type { Writable } from 'node:stream';
// ZFS adapter: every command is an argument vector, run locally or on a target (ZfsHost).
// Works on OpenZFS 2.x and zfs-fuse 0.7: numbers and GUIDs come from `zfs get -Hp` only
// (zfs-fuse has no `list -p`; `list -o guid` prints "7.30E" there).
import { PROP } from '../../../protocol/src/layout.ts';
import type { ChildProcess } from 'node:child_process';
import { ExecError, type ErrorClass } from '../core/errors.ts';
import { execArgv, spawnArgv, type CmdResult, type ExecOptions } from '../core/process.ts';
import { parseCapabilities, parseGetHp, parseListH, type PropTable, type ZfsCapabilities } from './parse.ts';

/** Where zfs commands run: this node, or a target over SSH. */
/** A spawned command's stdin and stdout: a pipe to this process, nothing, or a socket handed over (stream-pipe.ts). */
export interface SpawnStdio {
  stdin: 'pipe' | 'ignore';
  stdout: 'pipe' | 'ignore' | Writable;
}

export interface ZfsHost {
  /** 'local' or 'user@host:port' (for messages and capability caching). */
  readonly label: string;
  exec(argv: string[], opts?: ExecOptions): Promise<CmdResult>;
  /** Start a streaming command (stdin/stdout as requested). */
  spawn(argv: string[], stdio: SpawnStdio, signal?: AbortSignal): ChildProcess;
  /** Classify a failed result: transport problems keep their class, the rest is `fallback`. */
  classify(res: CmdResult, fallback: ErrorClass): ErrorClass;
}

export class LocalHost implements ZfsHost {
  readonly label = 'local';
  exec(argv: string[], opts?: ExecOptions): Promise<CmdResult> {
    return execArgv(argv, opts);
  }
  spawn(argv: string[], stdio: SpawnStdio, signal?: AbortSignal): ChildProcess {
    return spawnArgv(argv, { signal, stdio: [stdio.stdin, stdio.stdout, 'pipe'] });
  }
  classify(_res: CmdResult, fallback: ErrorClass): ErrorClass {
    return fallback;
  }
}

/** `sh -c SET_EACH sh <dataset> <k=v>…`: one `zfs set` per property, all at once; fails when any fails. */
const SET_EACH =
  'ds=$1; shift; pids=; for kv in "$@"; do zfs set "$kv" "$ds" & pids="$pids $!"; done; rc=0; for p in $pids; do wait "$p" || rc=$?; done; exit $rc';

export const USER_PROP_JOB = PROP.job;
export const USER_PROP_GENERATION = PROP.generation;
export const USER_PROP_EVENT = PROP.event;
export const USER_PROP_SOURCE = PROP.source;

/** Properties read for every dataset and snapshot of a tree. */
export const TREE_PROPS = [
  'type',
  'guid',
  'createtxg',
  'creation',
  'used',
  'referenced',
  'userrefs',
  'origin',
  USER_PROP_JOB,
  USER_PROP_GENERATION,
  USER_PROP_EVENT,
  USER_PROP_SOURCE,
];

export interface SnapshotInfo {
  dataset: string;
  name: string; // after '@'
  full: string; // dataset@name
  guid: string;
  createtxg: bigint;
  creation: number; // unix seconds
  used: number;
  referenced: number;
  userrefs: number;
  job: number | null; // lifeboat:job
  generation: number | null; // lifeboat:generation
  event: number | null; // lifeboat:event
}

/**
 * A bookmark (`dataset#name`, OpenZFS): a sent snapshot's GUID and txg, kept after the snapshot is
 * gone, so it can still be an incremental base (`send -i dataset#name`; docs/zfs.md, "Bookmarks").
 */
export interface BookmarkInfo {
  dataset: string;
  name: string; // after '#'
  full: string; // dataset#name
  guid: string;
  createtxg: bigint;
  bookmark: true;
}

export interface DatasetInfo {
  name: string;
  type: string;
  guid: string;
  used: number;
  referenced: number;
  origin: string | null;
  job: number | null;
  generation: number | null;
  source: string | null;
  props: Record<string, string | null>;
  /** oldest first (by createtxg) */
  snapshots: SnapshotInfo[];
  /** oldest first (by createtxg); listed where zfs has bookmarks */
  bookmarks: BookmarkInfo[];
}

const intOrNull = (v: string | null | undefined): number | null => {
  if (v === null || v === undefined || !/^-?\d+$/.test(v)) return null;
  return Number(v);
};
const num = (v: string | null | undefined): number => intOrNull(v) ?? 0;
/** createtxg as a bigint (exact past 2^53); 0 when unset. */
const txgOf = (v: string | null | undefined): bigint => (v != null && /^\d+$/.test(v) ? BigInt(v) : 0n);

/** Build dataset/snapshot records from a `get -Hp` table. */
export function treeFromTable(table: PropTable): DatasetInfo[] {
  const datasets = new Map<string, DatasetInfo>();
  const snaps: SnapshotInfo[] = [];
  const marks: BookmarkInfo[] = [];
  for (const [name, p] of table) {
    const at = name.indexOf('@');
    const hash = name.indexOf('#');
    if (at < 0 && hash >= 0) {
      marks.push({
        dataset: name.slice(0, hash),
        name: name.slice(hash + 1),
        full: name,
        guid: p.guid ?? '',
        createtxg: txgOf(p.createtxg),
        bookmark: true,
      });
      continue;
    }
    if (at >= 0) {
      snaps.push({
        dataset: name.slice(0, at),
        name: name.slice(at + 1),
        full: name,
        guid: p.guid ?? '',
        createtxg: txgOf(p.createtxg),
        creation: num(p.creation),
        used: num(p.used),
        referenced: num(p.referenced),
        userrefs: num(p.userrefs),
        job: intOrNull(p[USER_PROP_JOB]),
        generation: intOrNull(p[USER_PROP_GENERATION]),
        event: intOrNull(p[USER_PROP_EVENT]),
      });
    } else if (name.indexOf('#') < 0) {
      datasets.set(name, {
        name,
        type: p.type ?? 'filesystem',
        guid: p.guid ?? '',
        used: num(p.used),
        referenced: num(p.referenced),
        origin: p.origin ?? null,
        job: intOrNull(p[USER_PROP_JOB]),
        generation: intOrNull(p[USER_PROP_GENERATION]),
        source: p[USER_PROP_SOURCE] ?? null,
        props: p,
        snapshots: [],
        bookmarks: [],
      });
    }
  }
  for (const s of snaps) datasets.get(s.dataset)?.snapshots.push(s);
  for (const b of marks) datasets.get(b.dataset)?.bookmarks.push(b);
  const byTxg = (a: { createtxg: bigint }, b: { createtxg: bigint }) =>
    a.createtxg < b.createtxg ? -1 : a.createtxg > b.createtxg ? 1 : 0;
  for (const d of datasets.values()) {
    d.snapshots.sort(byTxg);
    d.bookmarks.sort(byTxg);
  }
  return [...datasets.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const capsCache = new Map<string, Promise<ZfsCapabilities>>();

export class Zfs {
  constructor(
    readonly host: ZfsHost,
    readonly signal?: AbortSignal,
  ) {}

  /** Run `zfs args…`; throws ExecError (class from the host, else `errorClass`). */
  async run(args: string[], what: string, errorClass: ErrorClass = 'zfs', bin = 'zfs'): Promise<string> {
    const res = await this.host.exec([bin, ...args], { signal: this.signal });
    if (this.signal?.aborted) throw new ExecError('cancelled', `${what}: cancelled`);
    if (res.code !== 0) {
      throw new ExecError(
        this.host.classify(res, errorClass),
        `${what} on ${this.host.label} failed: ${oneLine(res.stderr) || `exit ${res.code}`}`,
      );
    }
    return res.stdout;
  }

  /** Capabilities of this host's zfs, detected once per process and host. */
  capabilities(): Promise<ZfsCapabilities> {
    let p = capsCache.get(this.host.label);
    if (!p) {
      p = this.detectCapabilities();
      capsCache.set(this.host.label, p);
      p.catch(() => capsCache.delete(this.host.label));
    }
    return p;
  }

  private async detectCapabilities(): Promise<ZfsCapabilities> {
    const v = await this.host.exec(['zfs', 'version'], { signal: this.signal });
    const cls = this.host.classify(v, 'target-not-ready');
    if (cls !== 'target-not-ready' && v.code !== 0) throw new ExecError(cls, `zfs on ${this.host.label}: ${oneLine(v.stderr)}`);
    if (v.code === 127 || (/command not found|No such file/i.test(v.stderr) && !/usage/i.test(v.stderr))) {
      throw new ExecError('target-not-ready', `zfs is not available on ${this.host.label}: ${oneLine(v.stderr)}`);
    }
    let usage = v.stderr + v.stdout;
    let versionOut: string | null = null;
    if (v.code === 0) {
      versionOut = v.stdout;
      const u = await this.host.exec(['zfs'], { signal: this.signal }); // prints usage, exit 2
      usage = u.stderr + u.stdout;
    }
    if (!/usage/i.test(usage))
      throw new ExecError('target-not-ready', `zfs on ${this.host.label} did not answer as expected: ${oneLine(usage)}`);
    return parseCapabilities(usage, versionOut);
  }

  /**
   * `zfs get -Hp` of `props` for `names` (optionally -r / -d). With `skipMissing`, a name (or a
   * dataset under it) that vanished since the caller listed it is left out instead of failing the
   * whole call: zfs reports each missing one, goes on with the rest and exits 1.
   */
  async get(
    names: string[],
    props: string[],
    opts: { recursive?: boolean; depth?: number; sources?: string; skipMissing?: boolean } = {},
  ): Promise<PropTable> {
    const args = ['get', '-Hp'];
    if (opts.recursive) args.push('-r');
    if (opts.depth !== undefined) args.push('-d', String(opts.depth));
    if (opts.sources) args.push('-s', opts.sources);
    args.push('-o', 'name,property,value', props.join(','), ...names);
    if (!opts.skipMissing) return parseGetHp(await this.run(args, `zfs get ${names.join(' ')}`));
    const res = await this.host.exec(['zfs', ...args], { signal: this.signal });
    const other = res.stderr.split('\n').filter((l) => l.trim() && !/does not exist/.test(l));
    if (res.code !== 0 && (other.length || !res.stderr.trim()))
      throw new ExecError(
        this.host.classify(res, 'zfs'),
        `zfs get ${names.join(' ')} on ${this.host.label} failed: ${oneLine(res.stderr)}`,
      );
    return parseGetHp(res.stdout);
  }

  /** Does the dataset (or snapshot) exist? Other failures throw. */
  async exists(name: string): Promise<boolean> {
    return (await this.existing([name])).has(name);
  }

  /** Datasets and snapshots of `root` (its whole subtree when recursive, else just it), with TREE_PROPS. */
  async tree(root: string, recursive: boolean, extraProps: string[] = []): Promise<DatasetInfo[]> {
    const table = await this.get([root], [...TREE_PROPS, ...extraProps], recursive ? { recursive: true } : { depth: 1 });
    const all = treeFromTable(table);
    return recursive ? all : all.filter((d) => d.name === root);
  }

  /** tree(), or [] when `root` does not exist: one command instead of exists() + get. */
  treeIfExists(root: string, recursive: boolean, extraProps: string[] = []): Promise<DatasetInfo[]> {
    return this.tree(root, recursive, extraProps).catch(missingAs([]));
  }

  /** GUID of a dataset, or null when it does not exist (other failures throw). */
  guidIfExists(name: string): Promise<string | null> {
    return this.get([name], ['guid']).then((t) => t.get(name)?.guid ?? null, missingAs(null));
  }

  /** Filesystems/volumes under `root` (including it), parents first. */
  async listDatasets(root: string, recursive: boolean): Promise<string[]> {
    const args = ['list', '-H', '-o', 'name', '-t', 'filesystem,volume'];
    if (recursive) args.push('-r');
    args.push(root);
    return parseListH(await this.run(args, `zfs list ${root}`))
      .map((r) => r[0])
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** name → origin snapshot for every filesystem/volume of `pool` that is a clone. */
  async clonesOrigins(pool: string): Promise<Set<string>> {
    const rows = parseListH(
      await this.run(['list', '-H', '-o', 'name,origin', '-t', 'filesystem,volume', '-r', pool], `zfs list origin ${pool}`),
    );
    return new Set(rows.map((r) => r[1]).filter((o) => o && o !== '-'));
  }

  /** One atomic `zfs snapshot [-r] -o … a@n b@n …` (one call: all roots are snapshotted together). */
  async snapshot(roots: string[], name: string, props: Record<string, string>, recursive: boolean): Promise<void> {
    const args = ['snapshot'];
    if (recursive) args.push('-r');
    for (const [k, v] of Object.entries(props)) args.push('-o', `${k}=${v}`);
    args.push(...roots.map((r) => `${r}@${name}`));
    await this.run(args, `zfs snapshot ${roots.join(' ')}@${name}`, 'source-state');
  }

  async create(name: string, props: Record<string, string> = {}, parents = true): Promise<void> {
    const args = ['create'];
    if (parents) args.push('-p');
    for (const [k, v] of Object.entries(props)) args.push('-o', `${k}=${v}`);
    args.push(name);
    await this.run(args, `zfs create ${name}`);
  }

  /**
   * Create `name` and each missing ancestor, one level per call (so exactly what was created is
   * known), every one with canmount=off unless `mountable`: Linux lets only root mount, so a
   * delegated (non-root) `zfs create` of a mountable filesystem exits 1 after creating it, and
   * `create -p` would also try to mount each parent. `props` are `name`'s own, or a function giving
   * each created level its own. Besides the creates, one listing of the chain and one GUID read.
   * Returns what was created, parents first (docs/zfs.md: creating datasets); `into` gets the same,
   * also when a create fails halfway, so the caller can remove what this call left.
   */
  async ensureDataset(
    name: string,
    props: Record<string, string> | ((level: string) => Record<string, string>) = {},
    opts: { mountable?: boolean; missingPool?: ErrorClass; into?: { name: string; guid: string }[] } = {},
  ): Promise<{ name: string; guid: string }[]> {
    const parts = name.split('/');
    const chain = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    const there = await this.existing(chain);
    let first = chain.length;
    while (first > 0 && !there.has(chain[first - 1])) first--;
    const missing = chain.slice(first);
    if (!missing.length) return [];
    if (!missing[0].includes('/'))
      throw new ExecError(opts.missingPool ?? 'target-not-ready', `pool ${missing[0]} does not exist on ${this.host.label}`);
    const propsOf = typeof props === 'function' ? props : (n: string) => (n === name ? props : {});
    const made: string[] = [];
    let created: { name: string; guid: string }[] = [];
    try {
      for (const n of missing) {
        await this.create(n, { ...(opts.mountable ? {} : { canmount: 'off' }), ...propsOf(n) }, false);
        made.push(n);
      }
    } finally {
      if (made.length) {
        // read also after a cancel (not this adapter's signal); an unreadable GUID stays '', and
        // whoever removes scaffolding by GUID then leaves that dataset alone
        const guids = await new Zfs(this.host).get(made, ['guid']).catch(() => new Map<string, Record<string, string>>());
        created = made.map((n) => ({ name: n, guid: guids.get(n)?.guid ?? '' }));
        opts.into?.push(...created);
      }
    }
    return created;
  }

  /** Which of `names` exist: one `zfs get` (zfs reports each missing one and goes on). */
  async existing(names: string[]): Promise<Set<string>> {
    const res = await this.host.exec(['zfs', 'get', '-H', '-o', 'name', 'type', ...names], { signal: this.signal });
    const other = res.stderr.split('\n').filter((l) => l.trim() && !/does not exist/.test(l));
    if (res.code !== 0 && (other.length || !res.stderr.trim())) {
      throw new ExecError(this.host.classify(res, 'zfs'), `zfs get type ${names.join(' ')} on ${this.host.label}: ${oneLine(res.stderr)}`);
    }
    return new Set(res.stdout.split('\n').filter((l) => names.includes(l)));
  }

  /** `zfs set`: all properties in one call where zfs takes several (OpenZFS), else one call per property, run at once (zfs-fuse). */
  async set(name: string, props: Record<string, string>): Promise<void> {
    const entries = Object.entries(props);
    if (entries.length > 1 && (await this.capabilities()).multiSet) {
      await this.run(['set', ...entries.map(([k, v]) => `${k}=${v}`), name], `zfs set ${entries.map(([k]) => k).join(',')} ${name}`);
      return;
    }
    if (entries.length > 1) {
      // one property per call (zfs-fuse): the calls run at once, in one command (one round trip to a
      // target); concurrent sets share a transaction group's sync instead of waiting for one each
      // (three tags: median 0.5 s against 1.2 s one after another, zfs-fuse on the 2-core test box)
      const kvs = entries.map(([k, v]) => `${k}=${v}`);
      await this.run(['-c', SET_EACH, 'sh', name, ...kvs], `zfs set ${entries.map(([k]) => k).join(',')} ${name}`, 'zfs', 'sh');
      return;
    }
    for (const [k, v] of entries) await this.run(['set', `${k}=${v}`, name], `zfs set ${k} ${name}`);
  }

  /** `zfs clone` (no -p: the caller creates parents with ensureDataset, unmounted). */
  async clone(snapshot: string, dataset: string, props: Record<string, string> = {}): Promise<void> {
    const args = ['clone'];
    for (const [k, v] of Object.entries(props)) args.push('-o', `${k}=${v}`);
    await this.run([...args, snapshot, dataset], `zfs clone ${snapshot} ${dataset}`);
  }

  async promote(dataset: string): Promise<void> {
    await this.run(['promote', dataset], `zfs promote ${dataset}`);
  }

  /**
   * In one command, all at once: tag each of `sets` (`zfs set`), hold each of `holds.hold` with
   * `holds.tag`, release that tag from each of `holds.release`, and bookmark each of
   * `holds.bookmark` (`pool/ds@snap` → `pool/ds#snap`). Concurrent ZFS writes share a
   * transaction group's sync, so this waits for about one instead of one per write (docs/zfs.md,
   * "Holds"). A failed `zfs set` throws; a failed hold or release does not (already held and not
   * held count as done): zfs's messages about them are returned, and nothing else depends on them.
   */
  async setAndHold(
    sets: { name: string; props: Record<string, string> }[],
    holds: { tag: string; hold: string[]; release: string[]; bookmark?: string[] },
  ): Promise<string[]> {
    const marks = holds.bookmark ?? [];
    for (const n of [...holds.hold, ...holds.release, ...marks])
      if (!n.includes('@')) throw new ExecError('internal', `not a snapshot: ${n}`);
    const withProps = sets.filter((x) => Object.keys(x.props).length);
    if (!withProps.length && !holds.hold.length && !holds.release.length && !marks.length) return [];
    // positional parameters only ($1 the tag, then every name and value): nothing is spliced into the script
    const args = [holds.tag];
    const ref = (v: string) => (args.push(v), `"\${${args.length}}"`);
    const multiSet = (await this.capabilities()).multiSet;
    const lines: string[] = [];
    for (const x of withProps) {
      const kvs = Object.entries(x.props).map(([k, v]) => ref(`${k}=${v}`));
      const name = ref(x.name);
      if (kvs.length > 1 && multiSet) lines.push(`zfs set ${kvs.join(' ')} ${name} & p="$p $!";`);
      else for (const kv of kvs) lines.push(`zfs set ${kv} ${name} & p="$p $!";`);
    }
    const quietly = (cmd: string, args: string, fine: string) =>
      `( e=$(zfs ${cmd} ${args} 2>&1) || case $e in ${fine}) ;; *) printf '%s\\n' "$e" >&2;; esac ) &`;
    for (const h of holds.hold) lines.push(quietly('hold', `"$1" ${ref(h)}`, '*"tag already exists"*'));
    for (const r of holds.release) lines.push(quietly('release', `"$1" ${ref(r)}`, '*"no such tag"*|*"does not exist"*'));
    for (const m of marks) lines.push(quietly('bookmark', `${ref(m)} ${ref(m.replace('@', '#'))}`, '*"already exists"*'));
    // every write in the background at once; the exit status is the tags' (`wait <pid>`), then all end (`wait`)
    const script = `p=; ${lines.join(' ')} rc=0; for q in $p; do wait "$q" || rc=$?; done; wait; exit $rc`;
    const what = withProps.map((x) => x.name).join(' ') || holds.tag;
    const res = await this.host.exec(['sh', '-c', script, 'sh', ...args], { signal: this.signal });
    if (this.signal?.aborted) throw new ExecError('cancelled', `zfs set/hold ${what}: cancelled`);
    const problems = res.stderr.split('\n').filter((l) => l.trim());
    if (res.code !== 0)
      throw new ExecError(
        this.host.classify(res, 'zfs'),
        `zfs set ${what} on ${this.host.label} failed: ${oneLine(res.stderr) || `exit ${res.code}`}`,
      );
    return problems;
  }

  /** `zfs holds -H`: the hold tags of each snapshot (OpenZFS; zfs-fuse's `zfs holds` is broken, see docs/zfs.md, "Holds"). */
  async holds(snapshots: string[]): Promise<Map<string, string[]>> {
    const tags = new Map<string, string[]>(snapshots.map((s) => [s, []]));
    if (!snapshots.length) return tags;
    const out = await this.run(['holds', '-H', ...snapshots], `zfs holds ${snapshots.join(' ')}`);
    for (const line of out.split('\n')) {
      const [name, tag] = line.split('\t');
      if (name && tag) tags.get(name)?.push(tag);
    }
    return tags;
  }

  /** Destroy one bookmark (`pool/ds#name`) after re-reading its GUID right before: refuses when it differs. */
  async destroyBookmarkChecked(full: string, expectGuid: string): Promise<void> {
    if (!/^[^@#]+#[^@#]+$/.test(full)) throw new ExecError('internal', `refusing to destroy non-bookmark ${full}`);
    const guid = (await this.get([full], ['guid'])).get(full)?.guid;
    if (guid !== expectGuid)
      throw new ExecError('zfs', `refusing to destroy ${full}: GUID ${guid ?? 'none'} is not the planned ${expectGuid}`);
    await this.run(['destroy', full], `zfs destroy ${full}`);
  }

  /**
   * Destroy one snapshot after re-reading its GUID and owner right before: refuses when the GUID
   * differs, the owner is not `jobId`, or it is held. Never -r/-R.
   */
  async destroySnapshotChecked(full: string, expectGuid: string, jobId: number): Promise<void> {
    if (!full.includes('@')) throw new ExecError('internal', `refusing to destroy non-snapshot ${full}`);
    const t = await this.get([full], ['guid', USER_PROP_JOB, 'userrefs']);
    const p = t.get(full);
    if (!p) throw new ExecError('zfs', `snapshot ${full} vanished before destroy`);
    if (p.guid !== expectGuid) throw new ExecError('zfs', `refusing to destroy ${full}: GUID ${p.guid} is not the planned ${expectGuid}`);
    if (p[USER_PROP_JOB] !== String(jobId)) throw new ExecError('zfs', `refusing to destroy ${full}: not owned by job ${jobId}`);
    if (Number(p.userrefs ?? 0) > 0) throw new ExecError('zfs', `refusing to destroy ${full}: it has holds`);
    await this.run(['destroy', full], `zfs destroy ${full}`);
  }
}

/** A rejection handler: `value` when zfs said the dataset does not exist, else the error again. */
export function missingAs<T>(value: T): (e: unknown) => T {
  return (e) => {
    if (e instanceof ExecError && e.errorClass === 'zfs' && /does not exist/.test(e.message)) return value;
    throw e;
  };
}

export function oneLine(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 6)
    .join(' | ')
    .slice(0, 1000);
}
