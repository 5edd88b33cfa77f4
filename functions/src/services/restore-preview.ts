// What an out-of-band guest restore will register on the node, shown before it runs (README,
// "Out-of-band restores"). Computed with the allow-lists the runner applies when it registers
// (protocol/src/guest-config.ts), from the metadata the restore event carries to the runner (the
// catalog's): the same input through the same functions gives the same file. Pure: restores.ts reads
// the catalog and the node's inventory, this decides.
import {
  checkManifestMetadata,
  checkUserNetwork,
  GuestConfigError,
  jailConfFile,
  vmNicSettingsFromMetadata,
} from '../../../protocol/src/guest-config.ts';
import { invalid } from '../lib/errors.ts';

export type ProviderName = 'manifest' | 'jail' | 'vm-bhyve';

/** A guest's metadata as the catalog holds it (read back from the target: untrusted, so typed here). */
export interface CatalogGuest {
  kind: 'jail' | 'vm';
  id: string;
  name: string;
  provider: string | null;
  roots: string[];
  network: Record<string, unknown> | null;
  config: Record<string, unknown> | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const asString = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

/** The catalog's `guest` column as a CatalogGuest, or null when it is not a usable guest (as the runner's parseGuestMetadata). */
export function catalogGuest(raw: unknown): CatalogGuest | null {
  if (!isObject(raw)) return null;
  const kind = raw.kind;
  const id = asString(raw.id);
  if ((kind !== 'jail' && kind !== 'vm') || !id) return null;
  const roots = Array.isArray(raw.roots)
    ? raw.roots.filter((r): r is string => typeof r === 'string')
    : typeof raw.roots === 'string'
      ? [raw.roots]
      : [];
  return {
    kind,
    id,
    name: asString(raw.name) ?? id,
    provider: asString(raw.provider),
    roots,
    network: isObject(raw.network) ? raw.network : null,
    config: isObject(raw.config) ? raw.config : null,
  };
}

/** The provider the runner registers with (node-runner/src/guests/index.ts providerForRestore): native or manifest, the backup's first. */
export function pickProvider(meta: CatalogGuest, nodeProviders: readonly string[]): ProviderName | null {
  const native: ProviderName = meta.kind === 'jail' ? 'jail' : 'vm-bhyve';
  const wanted: ProviderName[] = meta.provider === 'manifest' ? ['manifest', native] : [native, 'manifest'];
  return wanted.find((p) => nodeProviders.includes(p)) ?? null;
}

/** A user's own network configuration: a 400 naming the key that cannot be set. */
export function checkNetworkInput(kind: 'jail' | 'vm', network: Record<string, unknown>): void {
  try {
    checkUserNetwork(kind, network);
  } catch (e) {
    if (e instanceof GuestConfigError) throw invalid(e.field, e.message);
    throw e;
  }
}

export interface GuestPreviewInput {
  meta: CatalogGuest;
  newGuestId: string | null;
  restoreNetwork: boolean;
  /** The user's own network configuration (already checked), or null. */
  network: Record<string, unknown> | null;
  destination: string;
  /** Where the destination will be mounted (inherited from its nearest mounted ancestor), when known. */
  destinationPath: string | null;
  /** The node's configured providers; null when the node has not reported them. */
  nodeProviders: readonly string[] | null;
}

export interface GuestPreview {
  kind: 'jail' | 'vm';
  id: string;
  name: string;
  sourceId: string;
  network: 'yours' | 'backup' | 'none';
  provider: ProviderName | null;
  file: string | null;
  text: string | null;
  dropped: string[];
  notes: string[];
}

/** What the runner will register for this restore (the same decisions as restoreSpec + the provider's register). */
export function previewGuestRestore(o: GuestPreviewInput): GuestPreview {
  const { meta } = o;
  const id = o.newGuestId || meta.id;
  // a guest whose name was its id (jails, vm-bhyve) takes the new id as its name
  const name = id !== meta.id && meta.name === meta.id ? id : meta.name;
  const networkFrom = o.network ? 'yours' : o.restoreNetwork && meta.network ? 'backup' : 'none';
  const network = o.network ?? (o.restoreNetwork ? meta.network : null);
  const notes: string[] = [];
  const provider = o.nodeProviders ? pickProvider(meta, o.nodeProviders) : null;
  const base = { kind: meta.kind, id, name, sourceId: meta.id, network: networkFrom, provider } as const;
  if (!o.nodeProviders) {
    return {
      ...base,
      file: null,
      text: null,
      dropped: [],
      notes: ['the node has not reported its guest providers yet (a runner older than this server): the preview is not available'],
    };
  }
  if (!provider) {
    return {
      ...base,
      file: null,
      text: null,
      dropped: [],
      notes: [
        `no guest provider on this node can register a ${meta.kind}: the restore would fail (configure the runner's --manifest${meta.kind === 'jail' ? ' or --jail-conf' : ' or --vm-dir'})`,
      ],
    };
  }
  try {
    if (provider === 'jail') {
      const path = o.destinationPath ?? `<mountpoint of ${o.destination}>`;
      if (!o.destinationPath)
        notes.push(`path is the mountpoint ${o.destination} will have (its parents are not mounted in the node's last inventory)`);
      const { text, dropped } = jailConfFile({ id, path, extraRoots: [], sourceId: meta.id, config: meta.config, network });
      return { ...base, file: `jail.conf.d/${id}.conf`, text, dropped, notes };
    }
    if (provider === 'vm-bhyve') {
      const { settings, dropped } = vmNicSettingsFromMetadata(network);
      const lines = Object.entries(settings).map(([k, v]) => `${k}="${v}"`);
      notes.push(
        `the VM's own conf (${meta.name}.conf in its restored directory) is kept and renamed to ${id}.conf; every networkN_* line in it is replaced by the lines shown${lines.length ? '' : ' (none: no network)'}`,
      );
      if (id !== meta.id) notes.push('a new id gets a new uuid');
      return { ...base, file: `<vm datastore>/${id}/${id}.conf`, text: lines.join('\n'), dropped, notes };
    }
    checkManifestMetadata(id, name, network, meta.config);
    const entry: Record<string, unknown> = { kind: meta.kind, id, name, roots: [o.destination], network: network ?? null };
    if (meta.config && Object.keys(meta.config).length) entry.config = meta.config;
    return { ...base, file: 'the manifest (--manifest)', text: JSON.stringify(entry, null, 2), dropped: [], notes };
  } catch (e) {
    // metadata from the backup that does not fit: the restore would fail before anything is registered
    if (e instanceof GuestConfigError)
      return { ...base, file: null, text: null, dropped: [], notes: [`the restore would fail: ${e.message}`] };
    throw e;
  }
}

/** Where `dataset` will be mounted: below its nearest ancestor with a real mountpoint in the inventory. */
export function inheritedMountpoint(dataset: string, mountpoints: ReadonlyMap<string, string | null>): string | null {
  const parts = dataset.split('/');
  for (let i = parts.length - 1; i >= 1; i--) {
    const mp = mountpoints.get(parts.slice(0, i).join('/'));
    if (mp === undefined) continue;
    if (!mp || !mp.startsWith('/')) return null; // none, legacy, or not mounted: not known
    return `${mp.replace(/\/+$/, '')}/${parts.slice(i).join('/')}`;
  }
  return null;
}
