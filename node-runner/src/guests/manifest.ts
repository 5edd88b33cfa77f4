// `manifest` provider: a JSON file describing guests and their stop/start/status commands
// (argument vectors, never a shell). Works for any guest manager; the tests drive it with real
// processes.
//
// {
//   "defaults": { "vm": { "stop": [...], "start": [...], "status": [...] }, "jail": { ... } },
//   "guests": [
//     { "kind": "vm", "id": "101", "name": "web", "roots": ["tank/vm/web", "fast/vm/web-data"],
//       "network": { "mac": "58:9c:fc:00:00:01", "ip4": ["10.0.0.5/24"] },
//       "stop": ["/usr/local/bin/webctl", "stop", "{id}"], "start": [...], "status": [...],
//       "stopTimeoutSeconds": 60 }
//   ]
// }
// In command vectors, `{id}`, `{name}`, `{kind}` and `{root}` (the first root) are replaced inside
// each argument. `status` exits 0 when the guest runs, non-zero when it does not. A guest without
// its own commands uses `defaults[kind]`. A guest without a status command is reported stopped
// and is never stopped by Stop Before Backup.
import { readFile } from 'node:fs/promises';
import { isValidDatasetName } from '../zfs/parse.ts';
import {
  GuestError,
  DEFAULT_START_TIMEOUT_MS,
  DEFAULT_STOP_TIMEOUT_MS,
  type GuestInfo,
  type GuestKind,
  type GuestProvider,
  type RegisterGuestSpec,
} from './types.ts';
import { checkManifestMetadata } from './restore-config.ts';
import { lockFor, atomicWrite, isPlainObject, mustRun, runCmd, waitUntil } from './util.ts';

interface Commands {
  stop?: string[];
  start?: string[];
  status?: string[];
}
interface ManifestEntry extends Commands {
  kind: GuestKind;
  id: string;
  name: string;
  roots: string[];
  network?: Record<string, unknown> | null;
  config?: Record<string, unknown> | null;
  stopTimeoutSeconds?: number;
  [extra: string]: unknown;
}
interface ManifestFile {
  defaults?: Partial<Record<GuestKind, Commands>>;
  guests: ManifestEntry[];
  [extra: string]: unknown;
}

const isArgv = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string');

function validate(path: string, data: unknown): ManifestFile {
  const bad = (msg: string) => new GuestError('invalid', `manifest ${path}: ${msg}`);
  if (!isPlainObject(data)) throw bad('must be a JSON object with a "guests" array');
  const guests = data.guests ?? [];
  if (!Array.isArray(guests)) throw bad('"guests" must be an array');
  const seen = new Set<string>();
  guests.forEach((g, i) => {
    const at = `guests[${i}]`;
    if (!isPlainObject(g)) throw bad(`${at} must be an object`);
    if (g.kind !== 'jail' && g.kind !== 'vm') throw bad(`${at}.kind must be "jail" or "vm"`);
    if (typeof g.id !== 'string' || !g.id || g.id.length > 64) throw bad(`${at}.id must be a string of 1 to 64 characters`);
    if (typeof g.name !== 'string' || !g.name) throw bad(`${at}.name must be a non-empty string`);
    if (!Array.isArray(g.roots) || !g.roots.length || !g.roots.every((r) => typeof r === 'string' && isValidDatasetName(r)))
      throw bad(`${at}.roots must be a non-empty array of dataset names`);
    if (g.network != null && !isPlainObject(g.network)) throw bad(`${at}.network must be an object or null`);
    for (const c of ['stop', 'start', 'status'] as const)
      if (g[c] !== undefined && !isArgv(g[c])) throw bad(`${at}.${c} must be a non-empty array of strings`);
    const key = `${g.kind}:${g.id}`;
    if (seen.has(key)) throw bad(`duplicate ${g.kind} id "${g.id}"`);
    seen.add(key);
  });
  if (data.defaults !== undefined && !isPlainObject(data.defaults)) throw bad('"defaults" must be an object');
  return { ...data, guests: guests as ManifestEntry[] } as ManifestFile;
}

export interface ManifestOptions {
  stopTimeoutMs?: number;
  startTimeoutMs?: number;
}

export class ManifestProvider implements GuestProvider {
  readonly name = 'manifest' as const;
  /** one lock per file/directory across events (util.ts lockFor) */
  private get lock() {
    return lockFor(this.path);
  }
  constructor(
    readonly path: string,
    private opts: ManifestOptions = {},
  ) {}

  private async load(): Promise<ManifestFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { guests: [] };
      throw new GuestError('invalid', `manifest ${this.path}: ${(e as Error).message}`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new GuestError('invalid', `manifest ${this.path} is not valid JSON: ${(e as Error).message}`);
    }
    return validate(this.path, data);
  }

  private async save(m: ManifestFile): Promise<void> {
    await atomicWrite(this.path, JSON.stringify(m, null, 2) + '\n', 0o600);
  }

  private commands(m: ManifestFile, g: ManifestEntry): Commands {
    const d = m.defaults?.[g.kind] ?? {};
    const sub = (argv: string[] | undefined) =>
      argv?.map((a) =>
        a
          .replaceAll('{id}', g.id)
          .replaceAll('{name}', g.name)
          .replaceAll('{kind}', g.kind)
          .replaceAll('{root}', g.roots[0] ?? ''),
      );
    return { stop: sub(g.stop ?? d.stop), start: sub(g.start ?? d.start), status: sub(g.status ?? d.status) };
  }

  /** The entry with this id (and kind, when given: a jail and a VM may share an id). */
  private find(m: ManifestFile, id: string, kind?: GuestKind): ManifestEntry | undefined {
    return m.guests.find((x) => x.id === id && (kind === undefined || x.kind === kind));
  }

  private async entry(id: string, kind?: GuestKind): Promise<{ m: ManifestFile; g: ManifestEntry }> {
    const m = await this.load();
    const g = this.find(m, id, kind);
    if (!g) throw new GuestError('not-found', `${kind ?? 'guest'} "${id}" is not in the manifest ${this.path}`);
    return { m, g };
  }

  private async statusOf(m: ManifestFile, g: ManifestEntry): Promise<boolean> {
    const status = this.commands(m, g).status;
    if (!status) return false;
    const r = await runCmd(status, 30_000);
    return r.code === 0;
  }

  private info(g: ManifestEntry, running: boolean): GuestInfo {
    return {
      kind: g.kind,
      id: g.id,
      name: g.name,
      roots: [...g.roots],
      network: g.network ?? null,
      running,
      provider: 'manifest',
      config: g.config ?? null,
    };
  }

  async list(): Promise<GuestInfo[]> {
    const m = await this.load();
    return Promise.all(m.guests.map(async (g) => this.info(g, await this.statusOf(m, g))));
  }

  async get(id: string, kind?: GuestKind): Promise<GuestInfo | null> {
    const m = await this.load();
    const g = this.find(m, id, kind);
    return g ? this.info(g, await this.statusOf(m, g)) : null;
  }

  async isRunning(id: string, kind?: GuestKind): Promise<boolean> {
    const { m, g } = await this.entry(id, kind);
    return this.statusOf(m, g);
  }

  async stop(id: string, kind?: GuestKind): Promise<void> {
    const { m, g } = await this.entry(id, kind);
    const c = this.commands(m, g);
    if (!c.stop) throw new GuestError('stop-failed', `guest "${id}" has no stop command in ${this.path}`);
    const timeout = g.stopTimeoutSeconds ? g.stopTimeoutSeconds * 1000 : (this.opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    const started = Date.now();
    await mustRun(c.stop, 'stop-failed', `stopping ${g.kind} ${g.name} (${g.id})`, timeout);
    if (c.status) {
      const left = Math.max(1000, timeout - (Date.now() - started));
      if (!(await waitUntil(async () => !(await this.statusOf(m, g)), left))) {
        throw new GuestError(
          'stop-failed',
          `${g.kind} ${g.name} (${g.id}) still runs ${Math.round((Date.now() - started) / 1000)} s after its stop command`,
        );
      }
    }
  }

  async start(id: string, kind?: GuestKind): Promise<void> {
    const { m, g } = await this.entry(id, kind);
    const c = this.commands(m, g);
    if (!c.start) throw new GuestError('start-failed', `guest "${id}" has no start command in ${this.path}`);
    const timeout = this.opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    await mustRun(c.start, 'start-failed', `starting ${g.kind} ${g.name} (${g.id})`, timeout);
    if (c.status && !(await waitUntil(() => this.statusOf(m, g), timeout))) {
      throw new GuestError(
        'start-failed',
        `${g.kind} ${g.name} (${g.id}) does not run ${Math.round(timeout / 1000)} s after its start command`,
      );
    }
  }

  async checkRegister(spec: RegisterGuestSpec): Promise<void> {
    checkManifestMetadata(spec.id, spec.name, spec.network, spec.config); // from the target: checked first
    const m = await this.load();
    if (this.find(m, spec.id, spec.kind))
      throw new GuestError('exists', `a ${spec.kind} with id "${spec.id}" already exists in ${this.path}`);
    if (!spec.roots.length || !spec.roots.every(isValidDatasetName))
      throw new GuestError('invalid', `register ${spec.id}: roots must be dataset names`);
  }

  async register(spec: RegisterGuestSpec): Promise<GuestInfo> {
    return this.lock.run(async () => {
      await this.checkRegister(spec);
      const m = await this.load();
      const g: ManifestEntry = { kind: spec.kind, id: spec.id, name: spec.name, roots: [...spec.roots], network: spec.network ?? null };
      if (spec.config && Object.keys(spec.config).length) g.config = spec.config;
      m.guests.push(g);
      await this.save(m);
      return this.info(g, await this.statusOf(m, g));
    });
  }
}
