// Guest metadata as ZFS user properties on the target: `lifeboat:guest:<key>`.
// Every value is JSON (so "101" stays a string and browse.ts's guestFromProps, which JSON-parses
// values, keeps the types). A value longer than the property limit is split into
// `lifeboat:guest:<key>:chunks` = N and `lifeboat:guest:<key>:0` … `:<N-1>`, each a JSON string
// holding a piece of the JSON text; parseGuestMetadata joins them again.
import { PROP } from '../../../protocol/src/layout.ts';
import { isPlainObject, poolOf } from './util.ts';
import type { GuestInfo, GuestKind } from './types.ts';

export const GUEST_PROP = PROP.guest;
/**
 * ZFS user property values are limited to ZAP_MAXVALUELEN (8192 bytes, with the NUL) on OpenZFS 2.x
 * and zfs-fuse 0.7; stay well below it.
 */
export const GUEST_PROP_MAX_BYTES = 8000;

/** Guest metadata as it travels to the target and comes back in the catalog. */
export interface GuestMetadata {
  kind: GuestKind;
  /** CT ID (jail) or RID (VM): the provider's guest id. */
  id: string;
  name: string;
  provider: string | null;
  roots: string[];
  /** Pools of the roots, base pool (the first root's) first. */
  pools: string[];
  basePool: string | null;
  network: Record<string, unknown> | null;
  config: Record<string, unknown> | null;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function setValue(out: Record<string, string>, key: string, value: unknown): void {
  const json = JSON.stringify(value);
  if (bytes(json) <= GUEST_PROP_MAX_BYTES) {
    out[`${GUEST_PROP}:${key}`] = json;
    return;
  }
  // split the JSON text into pieces whose JSON-string encoding fits
  const pieces: string[] = [];
  const chars = Array.from(json); // code points: never split a surrogate pair
  let cur = '';
  let curBytes = 2; // the quotes
  for (const ch of chars) {
    const enc = JSON.stringify(ch).slice(1, -1);
    const b = bytes(enc);
    if (curBytes + b > GUEST_PROP_MAX_BYTES) {
      pieces.push(cur);
      cur = '';
      curBytes = 2;
    }
    cur += ch;
    curBytes += b;
  }
  if (cur) pieces.push(cur);
  out[`${GUEST_PROP}:${key}:chunks`] = JSON.stringify(pieces.length);
  pieces.forEach((p, i) => {
    out[`${GUEST_PROP}:${key}:${i}`] = JSON.stringify(p);
  });
}

/** Metadata of a guest as `lifeboat:guest:*` user properties (values are JSON; long ones chunked). */
export function guestMetadataProps(
  guest: Pick<GuestInfo, 'kind' | 'id' | 'name' | 'roots' | 'network'> & {
    provider?: string | null;
    config?: Record<string, unknown> | null;
  },
): Record<string, string> {
  const roots = [...guest.roots];
  const pools: string[] = [];
  for (const r of roots) if (!pools.includes(poolOf(r))) pools.push(poolOf(r));
  const out: Record<string, string> = {};
  setValue(out, 'kind', guest.kind);
  setValue(out, 'id', String(guest.id));
  setValue(out, 'name', guest.name);
  if (guest.provider) setValue(out, 'provider', guest.provider);
  setValue(out, 'roots', roots);
  setValue(out, 'pools', pools);
  setValue(out, 'basepool', pools[0] ?? null);
  setValue(out, 'network', guest.network ?? null);
  if (guest.config && Object.keys(guest.config).length) setValue(out, 'config', guest.config);
  return out;
}

/**
 * Parse guest metadata from either raw user properties (`lifeboat:guest:kind` → '"vm"') or the
 * catalog's already-parsed object (browse.ts guestFromProps: `{ kind: 'vm', id: 101, … }`).
 * Returns null when there is no usable kind/id.
 */
export function parseGuestMetadata(input: Record<string, unknown> | null | undefined): GuestMetadata | null {
  if (!input) return null;
  // normalise keys: strip the property prefix
  const raw = new Map<string, unknown>();
  for (const [k, v] of Object.entries(input)) {
    if (v === null || v === undefined) continue;
    let key = k;
    if (key.startsWith(GUEST_PROP)) key = key.slice(GUEST_PROP.length).replace(/^[:.]/, '');
    raw.set(key, v);
  }
  const decode = (v: unknown): unknown => {
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  };
  const value = (key: string): unknown => {
    const n = raw.get(`${key}:chunks`);
    if (n !== undefined) {
      const count = Number(decode(n));
      if (!Number.isInteger(count) || count < 1 || count > 10_000) return undefined;
      let text = '';
      for (let i = 0; i < count; i++) {
        const piece = raw.get(`${key}:${i}`);
        if (piece === undefined) return undefined;
        const d = decode(piece);
        text += typeof d === 'string' ? d : typeof piece === 'string' ? piece : String(d);
      }
      try {
        return JSON.parse(text);
      } catch {
        return undefined;
      }
    }
    return raw.has(key) ? decode(raw.get(key)) : undefined;
  };
  const str = (v: unknown): string | null =>
    typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
  const kind = str(value('kind'));
  const id = str(value('id'));
  if ((kind !== 'jail' && kind !== 'vm') || !id) return null;
  const strArr = (v: unknown): string[] =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
  const roots = strArr(value('roots'));
  let pools = strArr(value('pools'));
  if (!pools.length) for (const r of roots) if (!pools.includes(poolOf(r))) pools.push(poolOf(r));
  const basePool = str(value('basepool') ?? value('basePool')) ?? pools[0] ?? null;
  if (basePool && pools[0] !== basePool) pools = [basePool, ...pools.filter((p) => p !== basePool)];
  const network = value('network');
  const config = value('config');
  return {
    kind,
    id,
    name: str(value('name')) ?? id,
    provider: str(value('provider')),
    roots,
    pools,
    basePool,
    network: isPlainObject(network) ? network : null,
    config: isPlainObject(config) ? config : null,
  };
}
