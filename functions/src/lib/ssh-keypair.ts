// Ed25519 key pairs for targets, made on the server (WebCrypto: the same code on Node and workerd).
// The private half leaves this module only in the OpenSSH format (openssh-key-v1, unencrypted: it is
// sealed with the secret box before it is stored); the public half as an authorized_keys line.
const enc = new TextEncoder();

/** An SSH wire-format string: uint32 big-endian length, then the bytes. */
function sshString(bytes: Uint8Array | string): Uint8Array {
  const b = typeof bytes === 'string' ? enc.encode(bytes) : bytes;
  const out = new Uint8Array(4 + b.length);
  new DataView(out.buffer).setUint32(0, b.length);
  out.set(b, 4);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function uint32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

function b64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** The public key blob: string "ssh-ed25519", string pub (RFC 8709). */
export function ed25519PublicBlob(pub: Uint8Array): Uint8Array {
  return concat(sshString('ssh-ed25519'), sshString(pub));
}

/** `ssh-ed25519 AAAA… comment`, as in an authorized_keys or .pub file. */
export function ed25519PublicLine(pub: Uint8Array, comment: string): string {
  return `ssh-ed25519 ${b64(ed25519PublicBlob(pub))}${comment ? ' ' + comment : ''}`;
}

/**
 * The unencrypted OpenSSH private key file (PROTOCOL.key in the OpenSSH sources): magic, cipher and
 * kdf "none", one public key, then the private section (two equal check ints, the key, the comment,
 * padded 1,2,3… to the cipher block size 8). `check` is the random check int.
 */
export function encodeOpenSshEd25519(seed: Uint8Array, pub: Uint8Array, comment: string, check: number): string {
  if (seed.length !== 32 || pub.length !== 32) throw new Error('an ed25519 seed and public key are 32 bytes each');
  const priv = concat(
    uint32(check),
    uint32(check),
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(concat(seed, pub)),
    sshString(comment),
  );
  const pad = new Uint8Array((8 - (priv.length % 8)) % 8).map((_, i) => i + 1);
  const body = concat(
    enc.encode('openssh-key-v1\0'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(ed25519PublicBlob(pub)),
    sshString(concat(priv, pad)),
  );
  const lines = b64(body).match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** `SHA256:…` of a public key blob, as `ssh-keygen -l` prints it (base64 without padding). */
export async function sshFingerprint(blob: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', blob as Uint8Array<ArrayBuffer>));
  return `SHA256:${b64(digest).replace(/=+$/, '')}`;
}

export interface SshKeyPair {
  /** OpenSSH private key file: a secret, to be sealed and never shown. */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment` */
  publicKey: string;
}

/** A fresh ed25519 key pair. PKCS#8 of an Ed25519 key ends with its 32-byte seed (RFC 8410). */
export async function generateEd25519KeyPair(comment: string): Promise<SshKeyPair> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  const pub = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const seed = pkcs8.slice(pkcs8.length - 32);
  const check = new DataView(crypto.getRandomValues(new Uint8Array(4)).buffer).getUint32(0);
  return { privateKey: encodeOpenSshEd25519(seed, pub, comment, check), publicKey: ed25519PublicLine(pub, comment) };
}
