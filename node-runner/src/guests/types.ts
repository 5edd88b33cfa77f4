// Guest providers: one interface over a JSON manifest, FreeBSD jails and vm-bhyve VMs.
import { ExecError } from '../core/errors.ts';

export type GuestKind = 'jail' | 'vm';
export type ProviderName = 'manifest' | 'jail' | 'vm-bhyve';

/** One guest as the runner reports it in its inventory (`POST /runner/inventory`, `guests[]`). */
export interface InventoryGuest {
  kind: GuestKind;
  id: string;
  name: string;
  /** Dataset roots (never empty in an inventory report). */
  roots: string[];
  network: Record<string, unknown> | null;
  running: boolean;
  provider: ProviderName;
}

/** What a provider knows about a guest: the inventory fields plus provider-specific configuration. */
export interface GuestInfo extends InventoryGuest {
  /** Non-network configuration worth carrying to another node (jail parameters); null when none. */
  config: Record<string, unknown> | null;
}

export interface RegisterGuestSpec {
  kind: GuestKind;
  /** The id to register under (the source id, or a new one when asked). */
  id: string;
  name: string;
  /** The restored datasets (already received and in place). */
  roots: string[];
  /** Network metadata to apply (restoreNetwork: true), or null to register without network configuration. */
  network: Record<string, unknown> | null;
  /** Provider configuration carried in the metadata (jail parameters), if any. */
  config?: Record<string, unknown> | null;
  /** The guest's id/name on the node it was backed up from (vm-bhyve: the conf file name inside the restored directory). */
  sourceId?: string | null;
  sourceName?: string | null;
  /** The event log: what the provider left out of the metadata, and why. */
  log?: (line: string) => void;
}

export interface GuestProvider {
  readonly name: ProviderName;
  /** Every guest this provider manages on this node. */
  list(): Promise<GuestInfo[]>;
  /**
   * Lookups take the kind as well where one provider holds both (the manifest: jail 101 next to
   * VM 101 is normal); guests are keyed by (kind, id) everywhere.
   */
  get(id: string, kind?: GuestKind): Promise<GuestInfo | null>;
  isRunning(id: string, kind?: GuestKind): Promise<boolean>;
  /** Stop the guest and wait until it is stopped; throws GuestError when it does not stop. */
  stop(id: string, kind?: GuestKind): Promise<void>;
  /** Start the guest and wait until it runs; throws GuestError when it does not start. */
  start(id: string, kind?: GuestKind): Promise<void>;
  /** Refuse (GuestError code 'exists') when `spec.id` is taken; changes nothing. Call before restoring data. */
  checkRegister(spec: RegisterGuestSpec): Promise<void>;
  /** Register a restored guest. Refuses an existing id (GuestError 'exists') without changing anything. */
  register(spec: RegisterGuestSpec): Promise<GuestInfo>;
}

export type GuestErrorCode = 'exists' | 'not-found' | 'stop-failed' | 'start-failed' | 'invalid' | 'command-failed';

/** A guest operation failed. errorClass is 'source-state' ('invalid': 'internal'). */
export class GuestError extends ExecError {
  constructor(
    public code: GuestErrorCode,
    message: string,
  ) {
    super(code === 'invalid' ? 'internal' : 'source-state', message);
    this.name = 'GuestError';
  }
}

/**
 * Runner configuration for guest providers (CLI: --manifest FILE, --jail-conf FILE, --vm-dir DIR).
 * Every provider whose option is set is used; none set → no guests.
 */
export interface GuestsConfig {
  /** manifest provider: path of the JSON manifest. */
  manifest?: string | null;
  /** jail provider: path of jail.conf (usually /etc/jail.conf). */
  jailConf?: string | null;
  /** jail provider: the jail.conf.d directory; default `<dirname(jailConf)>/jail.conf.d`. */
  jailConfDir?: string | null;
  /** vm-bhyve provider: its vm_dir (a directory, or `zfs:pool/dataset` as in rc.conf). */
  vmDir?: string | null;
  /** Graceful stop timeout (manifest stop command, `service jail stop`, `vm stop` before `vm poweroff`). Default 60 s. */
  stopTimeoutMs?: number;
  /** How long to wait for a started guest to show as running. Default 30 s. */
  startTimeoutMs?: number;
}

export const DEFAULT_STOP_TIMEOUT_MS = 60_000;
export const DEFAULT_START_TIMEOUT_MS = 30_000;

/** Guest handling for jail/VM jobs, supplied by the caller's guest provider. */
export interface BackupGuest {
  /** All dataset roots of the guest; snapshotted atomically (one `zfs snapshot` call per pool). */
  roots: string[];
  /** Stop the guest if it runs; resolve true when it was running (start() then follows the snapshot). */
  stop?(): Promise<boolean>;
  start?(): Promise<void>;
  /** Guest metadata (`lifeboat:guest:*` user properties) for the generation's root datasets on the target. */
  properties?: Record<string, string>;
}
