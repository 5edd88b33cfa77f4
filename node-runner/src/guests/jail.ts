// FreeBSD jails: definitions from jail.conf and jail.conf.d/*.conf, running state from
// `jls -q jid name path`, stop/start with `service jail stop|start NAME` (its exit status does not
// tell failures, so the state is re-read with jls afterwards). A jail's id and name are its jail
// name; its roots are the dataset mounted exactly at its `path` plus any `zfs.dataset` (FreeBSD 14).
// Network metadata: ip4/ip6 (addr, saddrsel), interface, vnet, vnet.interface, ip_hostname.
// register() writes jail.conf.d/<id>.conf from the allow-listed metadata (restore-config.ts) plus
// what it computes itself (path, zfs.dataset, the standard exec.start/exec.stop of /etc/rc).
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isValidDatasetName } from '../zfs/parse.ts';
import { readJailConfFile, type JailDef } from './jailconf.ts';
import { JAIL_NAME, jailConfFile, jailParamsFromMetadata } from './restore-config.ts';
import {
  GuestError,
  DEFAULT_START_TIMEOUT_MS,
  DEFAULT_STOP_TIMEOUT_MS,
  type GuestInfo,
  type GuestProvider,
  type RegisterGuestSpec,
} from './types.ts';
import { lockFor, atomicWrite, mountedDatasets, mountpointOf, oneLine, runCmd, trimSlash, waitUntil } from './util.ts';

export const JAIL_NETWORK_PARAM = /^(ip4|ip6)(\.addr|\.saddrsel|\.nosaddrsel)?$|^interface$|^vnet(\.interface)?$|^ip_hostname$/;

export interface JlsRow {
  jid: number;
  name: string;
  path: string;
}

/** Split one `jls -q` line: values separated by spaces, quoted with " or ' when they hold spaces or quotes, "" when empty. */
export function splitJlsLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    const q = line[i];
    if (q === '"' || q === "'") {
      const e = line.indexOf(q, i + 1);
      out.push(line.slice(i + 1, e < 0 ? line.length : e));
      i = e < 0 ? line.length : e + 1;
    } else {
      const e = line.indexOf(' ', i);
      out.push(line.slice(i, e < 0 ? line.length : e));
      i = e < 0 ? line.length : e;
    }
  }
  return out;
}

/** Parse `jls -q jid name path` output. */
export function parseJls(stdout: string): JlsRow[] {
  const rows: JlsRow[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [jid, name, path] = splitJlsLine(line);
    if (!/^\d+$/.test(jid ?? '') || !name) continue;
    rows.push({ jid: Number(jid), name, path: path ?? '' });
  }
  return rows;
}

export interface JailProviderOptions {
  jailConf?: string | null;
  jailConfDir?: string | null;
  stopTimeoutMs?: number;
  startTimeoutMs?: number;
}

export class JailProvider implements GuestProvider {
  readonly name = 'jail' as const;
  readonly jailConf: string | null;
  readonly jailConfDir: string;
  /** one lock per file/directory across events (util.ts lockFor) */
  private get lock() {
    return lockFor(this.jailConfDir);
  }

  constructor(private opts: JailProviderOptions) {
    this.jailConf = opts.jailConf ?? null;
    this.jailConfDir = opts.jailConfDir ?? join(dirname(opts.jailConf ?? '/etc/jail.conf'), 'jail.conf.d');
  }

  /** Every defined jail; a jail in jail.conf.d/<name>.conf wins over one in jail.conf. */
  async definitions(): Promise<JailDef[]> {
    const defs = new Map<string, JailDef>();
    try {
      if (this.jailConf) for (const d of readJailConfFile(this.jailConf)) defs.set(d.name, d);
      if (existsSync(this.jailConfDir)) {
        for (const f of (await readdir(this.jailConfDir)).filter((x) => x.endsWith('.conf')).sort()) {
          for (const d of readJailConfFile(join(this.jailConfDir, f))) defs.set(d.name, d);
        }
      }
    } catch (e) {
      throw new GuestError('invalid', `jail configuration: ${(e as Error).message}`);
    }
    return [...defs.values()];
  }

  async running(): Promise<JlsRow[]> {
    const r = await runCmd(['jls', '-q', 'jid', 'name', 'path'], 30_000);
    if (r.code !== 0) throw new GuestError('command-failed', `jls failed (exit ${r.code}): ${oneLine(r.stderr)}`);
    return parseJls(r.stdout);
  }

  private info(d: JailDef, running: boolean, mounts: Map<string, string>): GuestInfo {
    const roots: string[] = [];
    const path = d.params.get('path');
    if (Array.isArray(path) && path[0]) {
      const ds = mounts.get(trimSlash(path[0]));
      if (ds) roots.push(ds);
    }
    const zd = d.params.get('zfs.dataset');
    if (Array.isArray(zd))
      for (const z of zd.flatMap((x) => x.split(/[\s,]+/))) if (z && isValidDatasetName(z) && !roots.includes(z)) roots.push(z);
    const network: Record<string, unknown> = {};
    const config: Record<string, unknown> = {};
    for (const [k, v] of d.params) {
      if (k.startsWith('$') || k === 'name' || k === 'path' || k === 'zfs.dataset') continue;
      if (JAIL_NETWORK_PARAM.test(k)) network[k] = v;
      else config[k] = v;
    }
    return {
      kind: 'jail',
      id: d.name,
      name: d.name,
      roots,
      running,
      provider: 'jail',
      network: Object.keys(network).length ? network : null,
      config: Object.keys(config).length ? config : null,
    };
  }

  async list(): Promise<GuestInfo[]> {
    const [defs, run, mounts] = await Promise.all([this.definitions(), this.running(), mountedDatasets()]);
    const names = new Set(run.map((r) => r.name));
    return defs.map((d) => this.info(d, names.has(d.name), mounts));
  }

  async get(id: string): Promise<GuestInfo | null> {
    const d = (await this.definitions()).find((x) => x.name === id);
    if (!d) return null;
    return this.info(d, await this.isRunning(id), await mountedDatasets());
  }

  async isRunning(id: string): Promise<boolean> {
    return (await this.running()).some((r) => r.name === id);
  }

  private async requireDefined(id: string): Promise<JailDef> {
    const d = (await this.definitions()).find((x) => x.name === id);
    if (!d)
      throw new GuestError('not-found', `jail "${id}" is not defined in ${[this.jailConf, this.jailConfDir].filter(Boolean).join(' or ')}`);
    return d;
  }

  async stop(id: string): Promise<void> {
    await this.requireDefined(id);
    const timeout = this.opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const r = await runCmd(['service', 'jail', 'stop', id], timeout);
    const out = oneLine(`${r.stdout}\n${r.stderr}`);
    if (!(await waitUntil(async () => !(await this.isRunning(id)), 2000, 200))) {
      throw new GuestError('stop-failed', `jail ${id} still runs after \`service jail stop ${id}\` (exit ${r.code}): ${out}`);
    }
  }

  async start(id: string): Promise<void> {
    await this.requireDefined(id);
    const timeout = this.opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    const r = await runCmd(['service', 'jail', 'start', id], timeout);
    const out = oneLine(`${r.stdout}\n${r.stderr}`);
    if (!(await waitUntil(() => this.isRunning(id), 2000, 200))) {
      throw new GuestError('start-failed', `jail ${id} does not run after \`service jail start ${id}\` (exit ${r.code}): ${out}`);
    }
  }

  async checkRegister(spec: RegisterGuestSpec): Promise<void> {
    if (!JAIL_NAME.test(spec.id)) throw new GuestError('invalid', `"${spec.id}" is not a valid jail name (letters, digits, _ and -)`);
    if ((await this.definitions()).some((d) => d.name === spec.id) || existsSync(join(this.jailConfDir, `${spec.id}.conf`))) {
      throw new GuestError('exists', `a jail named "${spec.id}" already exists`);
    }
    if ((await this.running()).some((r) => r.name === spec.id)) throw new GuestError('exists', `a jail named "${spec.id}" is running`);
    jailParamsFromMetadata(spec.config ?? null, spec.network); // metadata that does not fit: refused before any data moves
  }

  async register(spec: RegisterGuestSpec): Promise<GuestInfo> {
    return this.lock.run(async () => {
      await this.checkRegister(spec);
      const root = spec.roots[0];
      const path = root ? await mountpointOf(root) : null;
      if (!path) throw new GuestError('invalid', `the restored jail root ${root ?? '(none)'} is not a mounted filesystem`);
      const { text, dropped } = jailConfFile({
        id: spec.id,
        path,
        extraRoots: spec.roots.slice(1),
        sourceId: spec.sourceId,
        config: spec.config ?? null,
        network: spec.network,
      });
      if (dropped.length) {
        spec.log?.(
          `jail ${spec.id}: not taken from the target's metadata (not on the allow-list of restorable jail parameters): ${dropped.join(', ')}`,
        );
      }
      await atomicWrite(join(this.jailConfDir, `${spec.id}.conf`), text);
      const g = await this.get(spec.id);
      if (!g) throw new GuestError('command-failed', `jail ${spec.id} was written to ${this.jailConfDir} but cannot be read back`);
      return g;
    });
  }
}
