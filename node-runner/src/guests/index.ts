// Guest providers behind one interface, the inventory report, and the adapter to backup.ts.
import { ExecError } from '../core/errors.ts';
import type { BackupGuest } from './types.ts';
import type { ExecContext } from '../executors/types.ts';
import { ManifestProvider } from './manifest.ts';
import { JailProvider } from './jail.ts';
import { VmBhyveProvider } from './vmbhyve.ts';
import { guestMetadataProps, type GuestMetadata } from './metadata.ts';
import { outermostRoots } from './util.ts';
import {
  GuestError,
  type GuestInfo,
  type GuestKind,
  type GuestProvider,
  type GuestsConfig,
  type InventoryGuest,
  type RegisterGuestSpec,
} from './types.ts';

export * from './types.ts';
export { ManifestProvider } from './manifest.ts';
export { JailProvider } from './jail.ts';
export { VmBhyveProvider } from './vmbhyve.ts';
export { guestMetadataProps, parseGuestMetadata, GUEST_PROP, GUEST_PROP_MAX_BYTES, type GuestMetadata } from './metadata.ts';

/** The providers configured for this node (manifest, jail, vm-bhyve — each only when its option is set). */
export function providersFromConfig(config: GuestsConfig): GuestProvider[] {
  const t = { stopTimeoutMs: config.stopTimeoutMs, startTimeoutMs: config.startTimeoutMs };
  const out: GuestProvider[] = [];
  if (config.manifest) out.push(new ManifestProvider(config.manifest, t));
  if (config.jailConf || config.jailConfDir)
    out.push(new JailProvider({ jailConf: config.jailConf ?? null, jailConfDir: config.jailConfDir ?? null, ...t }));
  if (config.vmDir) out.push(new VmBhyveProvider({ vmDir: config.vmDir, ...t }));
  return out;
}

const toInventory = (g: GuestInfo): InventoryGuest => ({
  kind: g.kind,
  id: g.id,
  name: g.name,
  roots: [...g.roots],
  network: g.network,
  running: g.running,
  provider: g.provider,
});

/**
 * The node's guests for the inventory report. A provider that fails is logged and skipped (the
 * datasets are still reported); guests without any dataset root are left out (the server needs one).
 */
export async function readGuests(config: GuestsConfig, log: (msg: string) => void = () => {}): Promise<InventoryGuest[]> {
  const out: InventoryGuest[] = [];
  const seen = new Set<string>();
  for (const p of providersFromConfig(config)) {
    let guests: GuestInfo[];
    try {
      guests = await p.list();
    } catch (e) {
      log(`guests: provider ${p.name} failed: ${(e as Error).message}`);
      continue;
    }
    for (const g of guests) {
      if (!g.roots.length) {
        log(`guests: ${g.kind} ${g.name} (${g.provider}) has no ZFS dataset; not reported`);
        continue;
      }
      if (!g.id || g.id.length > 64 || !g.name || g.name.length > 255) {
        log(`guests: ${g.kind} id "${g.id.slice(0, 80)}" (${g.provider}): id must be 1-64 and name 1-255 characters; not reported`);
        continue;
      }
      const key = `${g.kind}:${g.id}`;
      if (seen.has(key)) {
        log(`guests: ${g.kind} id "${g.id}" is reported by more than one provider; keeping the first`);
        continue;
      }
      seen.add(key);
      out.push(toInventory(g));
    }
  }
  return out;
}

/** Find a guest by kind and id among the configured providers. */
export async function findGuest(
  config: GuestsConfig | GuestProvider[],
  kind: GuestKind,
  id: string,
): Promise<{ provider: GuestProvider; guest: GuestInfo } | null> {
  const providers = Array.isArray(config) ? config : providersFromConfig(config);
  for (const provider of providers) {
    const guest = await provider.get(id, kind);
    if (guest && guest.kind === kind) return { provider, guest };
  }
  return null;
}

/** A BackupGuest for backup.ts, plus what happened when starting the guest again. */
export interface GuestBackupHandle extends BackupGuest {
  /** Set when start() failed: the reason. start() itself never throws, so the transfer goes on. */
  readonly startFailure: string | null;
  /** Whether stop() found the guest running (and stopped it). */
  readonly wasStopped: boolean;
}

/**
 * Adapter from a provider's guest to backup.ts's BackupGuest:
 * - roots: the guest's roots (nested ones dropped when the backup is recursive; VMs always are);
 * - stop(): stops only when running (resolves false otherwise); a failure throws ExecError
 *   'source-state' so backup.ts aborts before any snapshot;
 * - start(): starts the guest again; a failure is recorded in `startFailure` (and logged) instead of
 *   thrown, so the transfer still runs — the caller fails the event afterwards (runGuestBackup does);
 * - properties: guestMetadataProps(guest) for the generation's root datasets on the target.
 */
export function guestForBackup(
  provider: GuestProvider,
  guest: GuestInfo,
  opts: { recursive?: boolean; log?: ExecContext['log']; forRestore?: boolean } = {},
): GuestBackupHandle {
  const log = opts.log ?? (() => {});
  // what a failed stop left undone, in the words of the operation it interrupted
  const untouched = opts.forRestore ? 'nothing was swapped in; the original datasets stay' : 'nothing was snapshotted';
  const label = `${guest.kind} ${guest.name} (${guest.id})`;
  const recursive = opts.recursive ?? guest.kind === 'vm';
  let startFailure: string | null = null;
  let wasStopped = false;
  return {
    roots: recursive ? outermostRoots(guest.roots) : [...new Set(guest.roots)].sort(),
    properties: guestMetadataProps(guest),
    get startFailure() {
      return startFailure;
    },
    get wasStopped() {
      return wasStopped;
    },
    async stop() {
      let running: boolean;
      try {
        running = await provider.isRunning(guest.id, guest.kind);
      } catch (e) {
        throw new ExecError('source-state', `could not read the state of ${label}: ${(e as Error).message}; ${untouched}`);
      }
      if (!running) {
        log(`${label} is not running; no need to stop it`);
        return false;
      }
      log(`stopping ${label}`);
      try {
        await provider.stop(guest.id, guest.kind);
      } catch (e) {
        throw new ExecError('source-state', `could not stop ${label}: ${(e as Error).message}; ${untouched}`);
      }
      wasStopped = true;
      log(`${label} stopped`);
      return true;
    },
    async start() {
      log(`starting ${label}`);
      try {
        await provider.start(guest.id, guest.kind);
        log(`${label} started`);
      } catch (e) {
        startFailure = e instanceof Error ? e.message : String(e);
        log(`${label} did not start again: ${startFailure}`, 'error');
      }
    },
  };
}

export interface GuestRestoreOptions {
  /** Register under this id instead of the backed-up one (OOB restore "new ID"). */
  newId?: string | null;
  /** The restored datasets on this node (destination roots, in the order of meta.roots). */
  roots: string[];
  /** restoreNetwork: apply the backed-up network metadata; false registers without network configuration. */
  restoreNetwork: boolean;
  /** The event log (what the provider left out of the metadata). */
  log?: (line: string) => void;
}

/**
 * The provider that takes a restored guest: the one named in its metadata when configured here,
 * else the native one for its kind (jail → jail, vm → vm-bhyve), else the manifest.
 */
export function providerForRestore(providers: GuestProvider[], meta: GuestMetadata): GuestProvider {
  const native = meta.kind === 'jail' ? 'jail' : 'vm-bhyve';
  // the backup's provider (target metadata) only chooses between the two that can hold this kind;
  // the control plane's preview picks the same way (functions/src/services/restore-preview.ts)
  const wanted = meta.provider === 'manifest' ? ['manifest', native] : [native, 'manifest'];
  const p = wanted.map((n) => providers.find((x) => x.name === n)).find((x) => x !== undefined);
  if (!p)
    throw new GuestError(
      'invalid',
      `no guest provider on this node can register a ${meta.kind} (configure --manifest${meta.kind === 'jail' ? ', --jail-conf' : ', --vm-dir'})`,
    );
  return p;
}

export function restoreSpec(meta: GuestMetadata, opts: GuestRestoreOptions): RegisterGuestSpec {
  const id = opts.newId || meta.id;
  const renamed = id !== meta.id;
  return {
    kind: meta.kind,
    id,
    // a guest whose name was its id (jails, vm-bhyve) takes the new id as its name
    name: renamed && meta.name === meta.id ? id : meta.name,
    roots: [...opts.roots],
    network: opts.restoreNetwork ? meta.network : null,
    config: meta.config,
    sourceId: meta.id,
    sourceName: meta.name,
    log: opts.log,
  };
}

/**
 * OOB guest restore, step 1 (before any data is received): refuse an existing guest id with
 * GuestError 'exists' (→ 409), changing nothing. Returns the provider to register with.
 */
export async function checkGuestRestore(
  providers: GuestProvider[],
  meta: GuestMetadata,
  opts: GuestRestoreOptions,
): Promise<GuestProvider> {
  const p = providerForRestore(providers, meta);
  await p.checkRegister(restoreSpec(meta, opts));
  return p;
}

/**
 * OOB guest restore, step 2 (after the datasets are in place): register the guest with the
 * provider, with its network metadata when restoreNetwork (manifest entry, jail.conf.d file,
 * vm-bhyve conf keys) and without any network configuration otherwise.
 */
export async function registerRestoredGuest(
  providers: GuestProvider[],
  meta: GuestMetadata,
  opts: GuestRestoreOptions,
): Promise<GuestInfo> {
  return providerForRestore(providers, meta).register(restoreSpec(meta, opts));
}

export { GuestError };
