// Pure parsers for zfs command output. No I/O here.

/** name → property → value (null for "-", i.e. unset / not applicable). */
export type PropTable = Map<string, Record<string, string | null>>;

/**
 * Parse `zfs get -Hp -o name,property,value[,source] …` output (tab separated).
 * Values may be empty; a value of "-" with no source means unset and becomes null.
 * Dataset names can contain spaces but not tabs; a user property value could contain a tab, so
 * everything between the property and the (optional) source column is the value.
 */
export function parseGetHp(stdout: string, withSource = false): PropTable {
  const table: PropTable = new Map();
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const parts = line.split('\t');
    if (parts.length < 3) continue;
    const name = parts[0];
    const prop = parts[1];
    const source = withSource ? parts[parts.length - 1] : null;
    const value = (withSource ? parts.slice(2, -1) : parts.slice(2)).join('\t');
    let row = table.get(name);
    if (!row) {
      row = {};
      table.set(name, row);
    }
    row[prop] = value === '-' && (source === null || source === '-') ? null : value;
  }
  return table;
}

/** Parse `zfs list -H -o a,b,…` output into rows of columns. */
export function parseListH(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}

export interface ZfsCapabilities {
  /** `zfs version` first line (OpenZFS 0.8+), null when the command does not exist (zfs-fuse). */
  version: string | null;
  flavor: 'openzfs' | 'zfs-fuse' | 'unknown';
  /** `zfs recv -s` (resumable receive, resume tokens). */
  resumableRecv: boolean;
  /** `zfs recv -u` (do not mount the received dataset). */
  recvNoMount: boolean;
  /** `zfs recv -o prop=value`. */
  recvSetProps: boolean;
  /** `zfs recv -x prop`. */
  recvExcludeProps: boolean;
  /** `zfs send -nvP` dry-run size estimate. */
  sendEstimate: boolean;
  /** `zfs bookmark`. */
  bookmarks: boolean;
  /** `zfs list -p` (exact numbers in list output). */
  listParsable: boolean;
  /** `zfs snapshot a@s b@s …` (several snapshots, atomically, in one call; zfs-fuse takes one). */
  multiSnapshot: boolean;
  /** Native encryption: the `encryption` property and raw sends (`zfs send -w`). */
  encryption: boolean;
  /** `zfs set a=1 b=2 <dataset>` (several properties in one call; zfs-fuse takes one). */
  multiSet: boolean;
  /** `zfs send -c`: blocks go as they are compressed on disk (OpenZFS 0.7+; zfs-fuse 0.7 has none of -c/-L/-e). */
  sendCompressed: boolean;
  /** `zfs send -L`: blocks larger than 128 KiB stay whole. */
  sendLargeBlock: boolean;
  /** `zfs send -e`: embedded (tiny, in-pointer) blocks stay embedded. */
  sendEmbedded: boolean;
  /** `zfs hold` / `zfs release` (user holds; zfs-fuse has them, but not a working `zfs holds`). */
  holds: boolean;
}

/** Flags and options a usage line offers: letters of `[-abc]` groups and `-o`/`-x` style tokens. */
function usageFlags(usage: string, command: string[]): Set<string> {
  const flags = new Set<string>();
  const lines = usage.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i].trim();
    const word = t.split(/\s+/)[0];
    if (!command.includes(word)) continue;
    const text = t; // flags of interest are on the first line of each usage entry
    for (const m of text.matchAll(/\[-([A-Za-z]+)\]/g)) for (const c of m[1]) flags.add(c);
    for (const m of text.matchAll(/\[-([A-Za-z])[\s|]/g)) flags.add(m[1]);
    for (const m of text.matchAll(/(?:^|\s)-([A-Za-z])\b/g)) flags.add(m[1]);
  }
  return flags;
}

/** Capabilities from the usage text (`zfs` without arguments) and the `zfs version` output. */
export function parseCapabilities(usage: string, versionOut: string | null): ZfsCapabilities {
  const recv = usageFlags(usage, ['receive', 'recv']);
  const send = usageFlags(usage, ['send']);
  const list = usageFlags(usage, ['list']);
  const hasBookmark = /^\s*bookmark\s/m.test(usage);
  const version = versionOut
    ? (versionOut
        .split('\n')
        .find((l) => l.trim())
        ?.trim() ?? null)
    : null;
  const flavor: ZfsCapabilities['flavor'] = version ? 'openzfs' : /receive \[-vnF\]/.test(usage) ? 'zfs-fuse' : 'unknown';
  return {
    version,
    flavor,
    resumableRecv: recv.has('s'),
    recvNoMount: recv.has('u'),
    recvSetProps: recv.has('o'),
    recvExcludeProps: recv.has('x'),
    sendEstimate: send.has('n') && send.has('v') && send.has('P'),
    bookmarks: hasBookmark,
    listParsable: list.has('p'),
    multiSnapshot: /^\s*snapshot\b.*@\S*>?\s+\.\.\./m.test(usage),
    encryption: send.has('w') && /^\s*load-key\b/m.test(usage),
    multiSet: /^\s*set (\[-\w+\] )*<property=value> \.\.\. /m.test(usage), // 2.3: `set [-u] <property=value> ...`
    sendCompressed: send.has('c'),
    sendLargeBlock: send.has('L'),
    sendEmbedded: send.has('e'),
    holds: /^\s*hold\s/m.test(usage) && /^\s*release\s/m.test(usage),
  };
}

/**
 * Bytes a cut receive already holds, from `zfs send -nvP -t <token>`: OpenZFS prints the token's
 * contents ("resume token contents: … bytes = 0x7f1000"). Null when the output has no such field.
 */
export function parseResumeTokenBytes(out: string): number | null {
  const m = /^\s*bytes\s*=\s*(0x[0-9a-f]+|\d+)\s*$/im.exec(out);
  return m ? Number(m[1]) : null;
}

/** `zfs send -nvP` output → estimated stream size in bytes, or null. */
export function parseSendEstimate(out: string): number | null {
  let size: number | null = null;
  for (const line of out.split('\n')) {
    const m = /^size\s+(\d+)/.exec(line.trim());
    if (m) size = Number(m[1]);
  }
  if (size !== null) return size;
  // older OpenZFS without a size line: sum the per-snapshot estimates (last column)
  let sum = 0;
  let seen = false;
  for (const line of out.split('\n')) {
    const m = /^(?:full|incremental)\s.*\s(\d+)$/.exec(line.trim());
    if (m) {
      sum += Number(m[1]);
      seen = true;
    }
  }
  return seen ? sum : null;
}

const COMPONENT = /^[A-Za-z0-9_.: -]+$/; // what zfs accepts, a space too

/** A dataset name as zfs accepts it: components of [A-Za-z0-9_.:- ] and space, no "." or "..", a pool first. */
export function isValidDatasetName(name: string): boolean {
  if (!name || name.length > 255 || name.includes('@') || name.includes('#')) return false;
  if (!/^[A-Za-z]/.test(name)) return false; // a pool name starts with a letter (and so never reads as an option)
  return name.split('/').every((c) => COMPONENT.test(c) && c !== '.' && c !== '..');
}

export function isValidSnapshotName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/.test(name) && name.length <= 200;
}

export { snapshotNameFor } from '../../../protocol/src/layout.ts';

/** Is `child` equal to or inside dataset `parent`? */
export function isSameOrDescendant(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent + '/');
}
