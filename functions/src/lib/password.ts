// Admin password hashing: scrypt (memory-hard) from @noble/hashes, pure JS, so the same code runs on
// Node and on workerd (node:crypto is not there). Stored as `scrypt$<logN>$<r>$<p>$<salt b64url>$<hash b64url>`.
// Parameters: N=2^15, r=8, p=3 — one of OWASP's equivalent scrypt settings, 32 MiB per hash, which fits
// the 128 MB of a Worker isolate (N=2^17 would not).
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { base64url } from './tokens.ts';

const LOG_N = 15,
  R = 8,
  P = 3,
  DK_LEN = 32;
const enc = new TextEncoder();

function unb64url(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
}

/** scrypt(password, salt) → DK_LEN bytes. Injected so the Node entry can use node:crypto (same output, native speed). */
export type ScryptFn = (
  password: Uint8Array,
  salt: Uint8Array,
  params: { N: number; r: number; p: number; dkLen: number; maxmem: number },
) => Promise<Uint8Array>;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
}

const nobleScrypt: ScryptFn = (pw, salt, o) => scryptAsync(pw, salt, o);

/** `cost` lowers the work factor for tests only; verification always uses the parameters stored in the hash. */
export function createPasswordHasher(scrypt: ScryptFn = nobleScrypt, cost = { logN: LOG_N, r: R, p: P }): PasswordHasher {
  const derive = (password: string, salt: Uint8Array, logN: number, r: number, p: number) =>
    // NFC so the same password typed on different systems matches.
    scrypt(enc.encode(password.normalize('NFC')), salt, {
      N: 2 ** logN,
      r,
      p,
      dkLen: DK_LEN,
      maxmem: 2 ** logN * r * 128 * 2 + 1024 * 1024,
    });
  return {
    hash: (password) => hashPassword(password, derive, cost),
    verify: (password, stored) => verifyPassword(password, stored, derive),
  };
}

type Derive = (password: string, salt: Uint8Array, logN: number, r: number, p: number) => Promise<Uint8Array>;

async function hashPassword(password: string, derive: Derive, { logN, r, p }: { logN: number; r: number; p: number }): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const dk = await derive(password, salt, logN, r, p);
  return `scrypt$${logN}$${r}$${p}$${base64url(salt)}$${base64url(dk)}`;
}

async function verifyPassword(password: string, stored: string, derive: Derive): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number);
  if (![logN, r, p].every((n) => Number.isInteger(n) && n > 0) || logN > 20 || r > 32 || p > 16) return false;
  const want = unb64url(parts[5]);
  const got = await derive(password, unb64url(parts[4]), logN, r, p);
  if (got.length !== want.length) return false;
  let diff = 0;
  for (let i = 0; i < got.length; i++) diff |= got[i] ^ want[i];
  return diff === 0;
}
