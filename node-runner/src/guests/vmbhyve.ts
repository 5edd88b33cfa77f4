// bhyve VMs managed by vm-bhyve (1.5+): `vm list` for names, datastores and state; each VM's
// configuration in `<datastore path>/<name>/<name>.conf` (sysrc-style key="value" lines).
// id = name = the VM name (what `vm start|stop` take). Roots: the dataset mounted at the VM's
// directory (its zvol disks are children, covered by the recursive snapshot) plus every
// `diskN_dev="custom"` disk on /dev/zvol/<dataset> outside it (possibly on other pools).
// Network metadata: { interfaces: [{ type, switch, mac, device, … }] } from networkN_* keys.
// stop = `vm stop NAME` (ACPI), wait up to the stop timeout, then `vm poweroff -f NAME`.
import { lstat, readFile, unlink } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { isValidDatasetName } from '../zfs/parse.ts';
import {
  GuestError,
  DEFAULT_START_TIMEOUT_MS,
  DEFAULT_STOP_TIMEOUT_MS,
  type GuestInfo,
  type GuestProvider,
  type RegisterGuestSpec,
} from './types.ts';
import { VM_BHYVE_NAME, vmNicSettingsFromMetadata } from './restore-config.ts';
import { lockFor, atomicWrite, mountedDatasets, mountpointOf, oneLine, outermostRoots, runCmd, trimSlash, waitUntil } from './util.ts';

export interface VmListRow {
  name: string;
  datastore: string;
  loader: string;
  cpu: string;
  memory: string;
  vnc: string;
  auto: string;
  state: string;
  running: boolean;
  pid: number | null;
}

/** Parse `vm list` (printf fields through `column -t`: each field starts under its header). */
export function parseVmList(stdout: string): VmListRow[] {
  const lines = stdout.split('\n').filter((l) => l.trim());
  const header = lines.shift();
  if (!header || !/^NAME\s+DATASTORE\s+LOADER/.test(header)) return [];
  const cols: { name: string; at: number }[] = [];
  for (const m of header.matchAll(/\S+/g)) cols.push({ name: m[0], at: m.index! });
  return lines
    .map((l) => {
      const f: Record<string, string> = {};
      cols.forEach((c, i) => {
        f[c.name] = l.slice(c.at, i + 1 < cols.length ? cols[i + 1].at : undefined).trim();
      });
      const state = f.STATE ?? '';
      const m = /^(Running|Bootloader) \((\d+)\)/.exec(state);
      return {
        name: f.NAME ?? '',
        datastore: f.DATASTORE ?? '',
        loader: f.LOADER ?? '',
        cpu: f.CPU ?? '',
        memory: f.MEMORY ?? '',
        vnc: f.VNC ?? '',
        auto: f.AUTO ?? '',
        state,
        running: !!m,
        pid: m ? Number(m[2]) : null,
      };
    })
    .filter((r) => r.name);
}

/** sysrc-style config: `key="value"` / `key=value` lines, # comments. */
export function parseVmConf(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) continue;
    const k = t.slice(0, eq).trim();
    let v = t.slice(eq + 1).trim();
    if ((v.startsWith('"') && v.endsWith('"') && v.length >= 2) || (v.startsWith("'") && v.endsWith("'") && v.length >= 2))
      v = v.slice(1, -1);
    m.set(k, v.replace(/\\(["\\$`])/g, '$1'));
  }
  return m;
}

const confQuote = (v: string) => {
  // one line per key: a line break in a value would start a line of its own (vm-bhyve's conf is read by sh)
  if (/[\u0000-\u001f\u007f]/.test(v))
    throw new GuestError('invalid', `a vm-bhyve setting with a control character: ${JSON.stringify(v.slice(0, 64))}`);
  return `"${v.replace(/(["\\$`])/g, '\\$1')}"`;
};

/** Set (value string) or remove (null) keys in conf text, keeping every other line as it is. */
export function updateVmConf(text: string, changes: Record<string, string | null>): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const done = new Set<string>();
  const out: string[] = [];
  for (const line of lines) {
    const m = /^\s*([A-Za-z0-9_]+)\s*=/.exec(line);
    if (m && m[1] in changes) {
      const v = changes[m[1]];
      if (v !== null && !done.has(m[1])) out.push(`${m[1]}=${confQuote(v)}`);
      done.add(m[1]);
      continue;
    }
    out.push(line);
  }
  for (const [k, v] of Object.entries(changes)) if (v !== null && !done.has(k)) out.push(`${k}=${confQuote(v)}`);
  return out.join('\n') + '\n';
}

const NET_KEY = /^network(\d+)_([a-z0-9_]+)$/;

/** networkN_* keys → { interfaces: [...] } (null when there are none). */
export function vmNetworkFromConf(conf: Map<string, string>): Record<string, unknown> | null {
  const ifs: Record<string, string>[] = [];
  for (const [k, v] of conf) {
    const m = NET_KEY.exec(k);
    if (!m) continue;
    const i = Number(m[1]);
    (ifs[i] ??= {})[m[2]] = v;
  }
  const list = Array.from(ifs, (x) => x ?? {});
  return list.length ? { interfaces: list } : null;
}

/**
 * { interfaces: [...] } → conf changes: every existing networkN_* key removed, then the
 * allow-listed, checked settings of the metadata (restore-config.ts); `dropped` names the rest.
 */
export function vmNetworkToConf(
  conf: Map<string, string>,
  network: Record<string, unknown> | null,
): { changes: Record<string, string | null>; dropped: string[] } {
  const changes: Record<string, string | null> = {};
  for (const k of conf.keys()) if (NET_KEY.test(k)) changes[k] = null;
  const { settings, dropped } = vmNicSettingsFromMetadata(network);
  return { changes: { ...changes, ...settings }, dropped };
}

export interface VmBhyveOptions {
  vmDir: string;
  stopTimeoutMs?: number;
  startTimeoutMs?: number;
}

export class VmBhyveProvider implements GuestProvider {
  readonly name = 'vm-bhyve' as const;
  /** one lock per file/directory across events (util.ts lockFor) */
  private get lock() {
    return lockFor(this.opts.vmDir);
  }
  constructor(private opts: VmBhyveOptions) {}

  /** The default datastore: its directory and, for `zfs:pool/ds`, its dataset. */
  private async defaultStore(): Promise<{ path: string; dataset: string | null }> {
    const d = this.opts.vmDir;
    if (d.startsWith('zfs:')) {
      const ds = d.slice(4);
      const mp = await mountpointOf(ds);
      if (!mp) throw new GuestError('invalid', `vm_dir ${d}: dataset ${ds} is not mounted`);
      return { path: mp, dataset: ds };
    }
    return { path: trimSlash(d), dataset: null };
  }

  /** Directory of a datastore: "default" is vm_dir; others come from .config/system.conf path_<name>. */
  private async storePath(datastore: string): Promise<string> {
    const def = await this.defaultStore();
    if (!datastore || datastore === 'default') return def.path;
    let sys = new Map<string, string>();
    try {
      sys = parseVmConf(await readFile(join(def.path, '.config', 'system.conf'), 'utf8'));
    } catch {
      /* none */
    }
    const p = sys.get(`path_${datastore}`);
    if (!p) throw new GuestError('invalid', `vm-bhyve datastore "${datastore}" has no path in ${join(def.path, '.config', 'system.conf')}`);
    return trimSlash(p.startsWith('zfs:') ? ((await mountpointOf(p.slice(4))) ?? p) : p);
  }

  async vmList(): Promise<VmListRow[]> {
    const r = await runCmd(['vm', 'list'], 30_000);
    if (r.code !== 0) throw new GuestError('command-failed', `vm list failed (exit ${r.code}): ${oneLine(r.stderr) || oneLine(r.stdout)}`);
    return parseVmList(r.stdout);
  }

  private async readConf(dir: string, name: string): Promise<Map<string, string>> {
    try {
      return parseVmConf(await readFile(join(dir, name, `${name}.conf`), 'utf8'));
    } catch {
      return new Map();
    }
  }

  private async info(row: VmListRow, mounts: Map<string, string>): Promise<GuestInfo> {
    const dir = await this.storePath(row.datastore);
    const conf = await this.readConf(dir, row.name);
    const roots: string[] = [];
    const main = mounts.get(`${dir}/${row.name}`);
    if (main) roots.push(main);
    for (const [k, v] of conf) {
      if (!/^disk\d+_dev$/.test(k) || v !== 'custom') continue;
      const disk = conf.get(k.replace(/_dev$/, '_name')) ?? '';
      const m = /^\/dev\/zvol\/(.+)$/.exec(disk);
      if (m && isValidDatasetName(m[1])) roots.push(m[1]);
    }
    const config: Record<string, unknown> = {};
    for (const k of ['loader', 'cpu', 'memory', 'uuid', 'guest']) if (conf.has(k)) config[k] = conf.get(k);
    return {
      kind: 'vm',
      id: row.name,
      name: row.name,
      roots: outermostRoots(roots),
      running: row.running,
      provider: 'vm-bhyve',
      network: vmNetworkFromConf(conf),
      config: Object.keys(config).length ? config : null,
    };
  }

  async list(): Promise<GuestInfo[]> {
    const [rows, mounts] = await Promise.all([this.vmList(), mountedDatasets()]);
    return Promise.all(rows.map((r) => this.info(r, mounts)));
  }

  async get(id: string): Promise<GuestInfo | null> {
    const row = (await this.vmList()).find((r) => r.name === id);
    return row ? this.info(row, await mountedDatasets()) : null;
  }

  async isRunning(id: string): Promise<boolean> {
    return (await this.vmList()).some((r) => r.name === id && r.running);
  }

  private async row(id: string): Promise<VmListRow> {
    const row = (await this.vmList()).find((r) => r.name === id);
    if (!row) throw new GuestError('not-found', `vm-bhyve has no VM named "${id}"`);
    return row;
  }

  async stop(id: string): Promise<void> {
    await this.row(id);
    const timeout = this.opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const r = await runCmd(['vm', 'stop', id], 30_000);
    if (r.code !== 0)
      throw new GuestError('stop-failed', `vm stop ${id} failed (exit ${r.code}): ${oneLine(r.stderr) || oneLine(r.stdout)}`);
    if (await waitUntil(async () => !(await this.isRunning(id)), timeout, 500)) return;
    // the guest ignored the ACPI shutdown: power it off
    const p = await runCmd(['vm', 'poweroff', '-f', id], 30_000);
    if (!(await waitUntil(async () => !(await this.isRunning(id)), p.code === 0 ? 10_000 : 1000, 250))) {
      throw new GuestError(
        'stop-failed',
        `VM ${id} did not stop within ${Math.round(timeout / 1000)} s of \`vm stop\`, and still runs after \`vm poweroff -f\` (exit ${p.code}): ${oneLine(p.stderr) || oneLine(p.stdout)}`,
      );
    }
  }

  async start(id: string): Promise<void> {
    await this.row(id);
    const timeout = this.opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const r = await runCmd(['vm', 'start', id], timeout);
    const out = oneLine(`${r.stdout}\n${r.stderr}`);
    if (r.code !== 0 || /^\s*!/m.test(r.stdout)) throw new GuestError('start-failed', `vm start ${id} failed (exit ${r.code}): ${out}`);
    if (!(await waitUntil(() => this.isRunning(id), timeout, 250)))
      throw new GuestError('start-failed', `VM ${id} does not run ${Math.round(timeout / 1000)} s after \`vm start\`: ${out}`);
  }

  async checkRegister(spec: RegisterGuestSpec): Promise<void> {
    if (!VM_BHYVE_NAME.test(spec.id)) throw new GuestError('invalid', `"${spec.id}" is not a valid vm-bhyve name`);
    // the source's names come from the target and locate a file: vm-bhyve's own naming rule first
    for (const n of [spec.sourceId, spec.sourceName]) {
      if (n && !VM_BHYVE_NAME.test(n))
        throw new GuestError(
          'invalid',
          `the VM name in the target's metadata (${JSON.stringify(n.slice(0, 64))}) is not a valid vm-bhyve name; nothing was registered`,
        );
    }
    vmNicSettingsFromMetadata(spec.network); // network metadata that does not fit: refused before any data moves
    if ((await this.vmList()).some((r) => r.name === spec.id)) throw new GuestError('exists', `a VM named "${spec.id}" already exists`);
  }

  /**
   * Register a VM restored into `<default datastore>/<id>` (roots[0] must be mounted there): the
   * conf inside it (`<sourceName>.conf`) is renamed to `<id>.conf`; a new id gets a new uuid;
   * network keys are replaced by `spec.network`, or removed when it is null.
   */
  async register(spec: RegisterGuestSpec): Promise<GuestInfo> {
    return this.lock.run(async () => {
      await this.checkRegister(spec);
      const store = await this.defaultStore();
      const dir = `${store.path}/${spec.id}`;
      const mp = spec.roots[0] ? await mountpointOf(spec.roots[0]) : null;
      if (mp !== dir)
        throw new GuestError(
          'invalid',
          `the restored VM root ${spec.roots[0] ?? '(none)'} is mounted at ${mp ?? 'nothing'}, not at ${dir}`,
        );
      const candidates = [spec.sourceName, spec.sourceId, spec.id].filter((x): x is string => !!x && VM_BHYVE_NAME.test(x));
      // a plain file directly inside the restored directory (never a link out of it)
      const inDir = async (n: string) => {
        const p = resolve(dir, `${n}.conf`);
        if (dirname(p) !== resolve(dir)) return null;
        const st = await lstat(p).catch(() => null);
        return st?.isFile() ? p : null;
      };
      let from: string | null = null;
      for (const n of candidates) if ((from = await inDir(n))) break;
      if (!from)
        throw new GuestError('invalid', `no vm-bhyve configuration (${candidates.map((n) => `${n}.conf`).join(' or ')}) in ${dir}`);
      const text = await readFile(from, 'utf8');
      const conf = parseVmConf(text);
      const { changes, dropped } = vmNetworkToConf(conf, spec.network);
      if (dropped.length)
        spec.log?.(`VM ${spec.id}: not taken from the target's network metadata (not on the allow-list): ${dropped.join(', ')}`);
      if (spec.sourceId && spec.sourceId !== spec.id) changes.uuid = randomUUID();
      const to = join(dir, `${spec.id}.conf`);
      await atomicWrite(to, updateVmConf(text, changes));
      if (from !== resolve(to)) await unlink(from); // renamed: the old name came with the restored directory
      const g = await this.get(spec.id);
      if (!g) throw new GuestError('command-failed', `VM ${spec.id} was registered in ${dir} but \`vm list\` does not show it`);
      return g;
    });
  }
}
