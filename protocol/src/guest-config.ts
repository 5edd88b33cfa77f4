// What a guest registration may take from guest metadata, shared by the runner (which writes it)
// and the control plane (which checks a user's own network configuration and previews what a
// restore will register). README, "Threat model": the target is untrusted, and what it says ends
// up in files the node runs as root (jail.conf.d, vm-bhyve confs) or in argument vectors
// (manifest commands). Pure functions, no I/O: an allow-list per provider, each value checked
// against what the provider itself accepts. A parameter outside the list is dropped and named;
// an allowed one with a value that does not fit rejects the whole registration.

export type JailParamValue = string[] | true;

/** A value that does not fit; `field` is its path (e.g. `network.ip4.addr`), for a 400 naming it. */
export class GuestConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'GuestConfigError';
  }
}

/** Who said it, for the messages: the target's metadata (untrusted) or the user's own choice. */
export interface ConfigSource {
  label: string;
  suffix: string;
}
export const FROM_TARGET: ConfigSource = { label: 'metadata from the target', suffix: '; nothing was registered' };
export const FROM_USER: ConfigSource = { label: 'your configuration', suffix: '' };

// ---- jails -------------------------------------------------------------------------------------

type Check = (v: JailParamValue) => string | null; // null = fine, else what is wrong

const single = (v: JailParamValue): string | null => (Array.isArray(v) && v.length === 1 ? v[0] : null);
const HOSTNAME = /^(?=.{1,255}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IFNAME = /^[A-Za-z][A-Za-z0-9_.]{0,15}$/;
// `[interface|]address[/prefix]`, IPv4 or IPv6 (jail(8) ip4.addr / ip6.addr)
const IPADDR = /^(?:[A-Za-z][A-Za-z0-9_.]{0,15}\|)?(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]{2,39}(?:%[A-Za-z0-9_.]{1,16})?)(?:\/\d{1,3})?$/;

const bool: Check = (v) =>
  v === true || ['true', 'false', '0', '1'].includes(single(v) ?? '') ? null : 'a boolean (a flag, true, false, 0 or 1)';
const int =
  (min: number, max: number): Check =>
  (v) => {
    const s = single(v);
    return s !== null && /^-?\d{1,7}$/.test(s) && Number(s) >= min && Number(s) <= max ? null : `an integer from ${min} to ${max}`;
  };
const oneOf =
  (...words: string[]): Check =>
  (v) =>
    words.includes(single(v) ?? '') ? null : `one of ${words.join(', ')}`;
const each =
  (re: RegExp, what: string, max = 64): Check =>
  (v) =>
    Array.isArray(v) && v.length >= 1 && v.length <= max && v.every((x) => re.test(x)) ? null : what;

/** Jail parameters taken from metadata: network (only when the user asked for it) and a few plain settings. */
const JAIL_NETWORK: Record<string, Check> = {
  ip4: oneOf('new', 'inherit', 'disable'),
  ip6: oneOf('new', 'inherit', 'disable'),
  'ip4.addr': each(IPADDR, 'addresses like [interface|]192.0.2.1[/24]'),
  'ip6.addr': each(IPADDR, 'addresses like [interface|]2001:db8::1[/64]'),
  'ip4.saddrsel': bool,
  'ip6.saddrsel': bool,
  'ip4.nosaddrsel': bool,
  'ip6.nosaddrsel': bool,
  interface: each(IFNAME, 'an interface name', 1),
  vnet: (v) => (v === true || ['new', 'inherit'].includes(single(v) ?? '') ? null : 'new or inherit'),
  'vnet.interface': each(IFNAME, 'interface names'),
  ip_hostname: bool,
};
const JAIL_CONFIG: Record<string, Check> = {
  'host.hostname': each(HOSTNAME, 'a host name', 1),
  'host.domainname': each(HOSTNAME, 'a domain name', 1),
  'mount.devfs': bool,
  devfs_ruleset: int(0, 65535),
  enforce_statfs: int(0, 2),
  'children.max': int(0, 1_000_000),
  securelevel: int(-1, 3),
  persist: bool,
  sysvmsg: oneOf('new', 'inherit', 'disable'),
  sysvsem: oneOf('new', 'inherit', 'disable'),
  sysvshm: oneOf('new', 'inherit', 'disable'),
};
const ALLOW_PARAM = /^allow\.[a-z][a-z0-9_]{0,31}(\.[a-z][a-z0-9_]{0,31})?$/; // allow.raw_sockets, allow.mount.zfs …

/** A metadata value as a jail parameter value (`true` for a flag, else a list of strings), or null. */
function asParam(v: unknown): JailParamValue | null {
  if (v === true) return true;
  if (typeof v === 'string' || typeof v === 'number') return [String(v)];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.map(String);
  return null;
}

export interface JailRestoreParams {
  /** The parameters to write besides the computed ones (path, name, exec.*, zfs.dataset). */
  params: Map<string, JailParamValue>;
  /** Metadata keys left out (not on the allow-list), for the event log. */
  dropped: string[];
}

/**
 * The jail parameters a restore writes from metadata: `config` filtered to JAIL_CONFIG and allow.*
 * booleans, `network` (null unless restoring it) to JAIL_NETWORK. Never exec.*, mount.fstab,
 * path, zfs.* or variables: those the restore computes itself or leaves out.
 */
export function jailParamsFromMetadata(
  config: Record<string, unknown> | null,
  network: Record<string, unknown> | null,
  from: ConfigSource = FROM_TARGET,
): JailRestoreParams {
  const params = new Map<string, JailParamValue>();
  const dropped: string[] = [];
  const take = (source: Record<string, unknown> | null, checkFor: (k: string) => Check | undefined, what: string) => {
    for (const [k, raw] of Object.entries(source ?? {})) {
      const check = checkFor(k);
      if (!check) {
        dropped.push(k);
        continue;
      }
      const v = asParam(raw);
      const wrong = v === null ? 'a string, a number, a list of them or a flag' : check(v);
      if (wrong !== null)
        throw new GuestConfigError(`${what}.${k}`, `jail ${what} ${from.label}: ${k} = ${preview(raw)} is not ${wrong}${from.suffix}`);
      params.set(k, v!);
    }
  };
  take(config, (k) => JAIL_CONFIG[k] ?? (ALLOW_PARAM.test(k) ? bool : undefined), 'config');
  take(network, (k) => JAIL_NETWORK[k], 'network');
  return { params, dropped };
}

// ---- vm-bhyve ----------------------------------------------------------------------------------

/** vm-bhyve's own rule for a VM name (it is a directory and a file name). */
export const VM_BHYVE_NAME = /^[A-Za-z0-9][.A-Za-z0-9_-]{0,46}[A-Za-z0-9]$/;

/** networkN_<key> settings a restore may write, with their values (vm-bhyve's conf is read by sh). */
const VM_NIC: Record<string, RegExp> = {
  type: /^(virtio-net|e1000)$/,
  switch: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,30}$/,
  mac: /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/,
  device: /^[A-Za-z][A-Za-z0-9_.]{0,15}$/,
  span: /^(yes|no)$/,
};

/** `{ interfaces: [{ type, switch, mac, … }] }` → `networkN_<key>` values; other keys dropped, bad values rejected. */
export function vmNicSettingsFromMetadata(
  network: Record<string, unknown> | null,
  from: ConfigSource = FROM_TARGET,
): { settings: Record<string, string>; dropped: string[] } {
  const settings: Record<string, string> = {};
  const dropped: string[] = [];
  const ifs = network?.interfaces;
  if (network && ifs !== undefined && !Array.isArray(ifs))
    throw new GuestConfigError('network.interfaces', `VM network ${from.label}: "interfaces" is not a list${from.suffix}`);
  for (const k of Object.keys(network ?? {})) if (k !== 'interfaces') dropped.push(k);
  const list = Array.isArray(ifs) ? ifs : [];
  if (list.length > 16)
    throw new GuestConfigError('network.interfaces', `VM network ${from.label}: ${list.length} interfaces (at most 16)${from.suffix}`);
  list.forEach((nic, i) => {
    if (nic === null || typeof nic !== 'object' || Array.isArray(nic))
      throw new GuestConfigError(`network.interfaces.${i}`, `VM network ${from.label}: interface ${i} is not an object${from.suffix}`);
    for (const [k, v] of Object.entries(nic as Record<string, unknown>)) {
      const re = VM_NIC[k];
      if (!re) {
        dropped.push(`interfaces[${i}].${k}`);
        continue;
      }
      const s = typeof v === 'string' || typeof v === 'number' ? String(v) : null;
      if (s === null || !re.test(s))
        throw new GuestConfigError(
          `network.interfaces.${i}.${k}`,
          `VM network ${from.label}: network${i}_${k} = ${preview(v)} is not allowed${from.suffix}`,
        );
      settings[`network${i}_${k}`] = s;
    }
  });
  return { settings, dropped };
}

// ---- a user's own network configuration (OOB restore) and the preview of a registration --------

/**
 * A network configuration the user typed for a restored guest: it replaces the target's. Stricter
 * than metadata: a key outside the allow-list is an error naming it, not dropped.
 */
export function checkUserNetwork(kind: 'jail' | 'vm', network: Record<string, unknown>): void {
  checkMetadataSize('network', network, FROM_USER); // a manifest node keeps it as JSON
  const dropped =
    kind === 'jail' ? jailParamsFromMetadata(null, network, FROM_USER).dropped : vmNicSettingsFromMetadata(network, FROM_USER).dropped;
  if (dropped.length) {
    const allowed = kind === 'jail' ? Object.keys(JAIL_NETWORK).join(', ') : `interfaces: [{ ${Object.keys(VM_NIC).join(', ')} }]`;
    throw new GuestConfigError(
      `network.${dropped[0]}`,
      `${kind === 'jail' ? 'jail' : 'VM'} network ${FROM_USER.label}: ${dropped.join(', ')} cannot be set by a restore (allowed: ${allowed})`,
    );
  }
}

/** The standard start/stop of a FreeBSD jail: commands never come from a target. */
const JAIL_STANDARD: [string, JailParamValue][] = [
  ['exec.start', ['/bin/sh /etc/rc']],
  ['exec.stop', ['/bin/sh /etc/rc.shutdown']],
  ['exec.clean', true],
  ['mount.devfs', true],
];

/** jail(8)'s name rule as the jail provider accepts it (the name is also the file name). */
export const JAIL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

export interface JailRegistration {
  /** jail id (name), the restored roots' first mountpoint, the other roots (zfs.dataset) */
  id: string;
  path: string;
  extraRoots: string[];
  /** the jail's name in the metadata, when it is restored under another one */
  sourceId?: string | null;
  config: Record<string, unknown> | null;
  /** null: registered without network configuration */
  network: Record<string, unknown> | null;
}

/**
 * The jail.conf.d/<id>.conf a restore writes: the standard exec lines, the allow-listed metadata,
 * host.hostname (default: the id), path and zfs.dataset; `dropped` names the metadata left out.
 */
export function jailConfFile(o: JailRegistration, from: ConfigSource = FROM_TARGET): { text: string; dropped: string[] } {
  const fromMetadata = jailParamsFromMetadata(o.config, o.network, from);
  const params = new Map<string, JailParamValue>([...JAIL_STANDARD, ...fromMetadata.params]);
  params.set('host.hostname', params.get('host.hostname') ?? [o.id]);
  params.set('path', [o.path]);
  if (o.extraRoots.length) params.set('zfs.dataset', o.extraRoots);
  // the source name comes from the target: in a comment line, as a JSON string (no line breaks)
  const src =
    o.sourceId && o.sourceId !== o.id
      ? ` (restored from jail ${JAIL_NAME.test(o.sourceId) ? o.sourceId : JSON.stringify(o.sourceId.slice(0, 64))})`
      : '';
  const header = `# ${o.id}: registered by lifeboat-runner${src}${o.network ? '' : '; network configuration not restored'}\n`;
  return { text: formatJailBlock(o.id, params, header), dropped: fromMetadata.dropped };
}

// ---- manifest ----------------------------------------------------------------------------------

/** A manifest guest id: also substituted into the operator's command vectors as `{id}`. */
export const MANIFEST_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Printable, no leading dash (it is substituted into argument vectors as `{name}`), at most 128 characters. */
export const MANIFEST_NAME = /^(?!-)[^\u0000-\u001f\u007f]{1,128}$/;
/** Largest network/config metadata kept in a manifest entry (JSON text). */
export const MANIFEST_METADATA_MAX_BYTES = 16 * 1024;

export function checkManifestMetadata(id: string, name: string, network: unknown, config: unknown, from: ConfigSource = FROM_TARGET): void {
  if (!MANIFEST_ID.test(id))
    throw new GuestConfigError('id', `"${preview(id)}" is not a valid guest id (letters, digits, ".", "_" and "-", at most 64)`);
  if (!MANIFEST_NAME.test(name))
    throw new GuestConfigError(
      'name',
      `guest name ${preview(name)} is not usable (printable, at most 128 characters, not starting with "-")`,
    );
  checkMetadataSize('network', network, from);
  checkMetadataSize('config', config, from);
}

/** Metadata kept as JSON (manifest entries) stays under MANIFEST_METADATA_MAX_BYTES. */
function checkMetadataSize(what: 'network' | 'config', v: unknown, from: ConfigSource): void {
  if (v != null && new TextEncoder().encode(JSON.stringify(v)).length > MANIFEST_METADATA_MAX_BYTES) {
    throw new GuestConfigError(what, `guest ${what} ${from.label} is larger than ${MANIFEST_METADATA_MAX_BYTES} bytes${from.suffix}`);
  }
}

/** A short, single-line rendering of an untrusted value for an error message. */
function preview(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

// ---- jail.conf(5) text ----------------------------------------------------------------------

const needsQuote = (s: string) => s === '' || /[\s"'{};,=#$\\]/.test(s) || s.includes('//') || s.includes('/*');
const quote = (s: string) => (needsQuote(s) ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '\\$')}"` : s);

/** One jail block in jail.conf syntax (variables already expanded; `$vars` and `name` left out). */
export function formatJailBlock(name: string, params: Map<string, JailParamValue> | Record<string, JailParamValue>, header = ''): string {
  const entries = params instanceof Map ? [...params.entries()] : Object.entries(params);
  const lines = entries
    .filter(([k]) => !k.startsWith('$') && k !== 'name')
    .map(([k, v]) => {
      // a parameter name is written bare: anything but jail(8)'s name characters could end the statement
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.]*$/.test(k)) throw new Error(`not a jail parameter name: ${JSON.stringify(k)}`);
      return v === true ? `\t${k};` : `\t${k} = ${v.map(quote).join(', ')};`;
    });
  return `${header}${quote(name)} {\n${lines.join('\n')}\n}\n`;
}
