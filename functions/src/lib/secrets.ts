// AES-256-GCM for secrets at rest (SSH private keys). Format: v1.<iv b64>.<ciphertext b64>.
const enc = new TextEncoder();
const dec = new TextDecoder();

export interface SecretBox {
  seal(plain: string): Promise<string>;
  open(sealed: string): Promise<string>;
}

function b64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
function unb64(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text);
  const out = new Uint8Array(new ArrayBuffer(s.length));
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** `secret` is any string; the AES key is its SHA-256 (so a passphrase or 32 random bytes in base64 both work). */
export async function createSecretBox(secret: string): Promise<SecretBox> {
  const raw = await crypto.subtle.digest('SHA-256', enc.encode(secret));
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return {
    async seal(plain) {
      const iv = crypto.getRandomValues(new Uint8Array(new ArrayBuffer(12)));
      const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, enc.encode(plain));
      return `v1.${b64(iv)}.${b64(new Uint8Array(ct))}`;
    },
    async open(sealed) {
      const [v, iv, ct] = sealed.split('.');
      if (v !== 'v1' || !iv || !ct) throw new Error('unknown secret format');
      const pt = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: unb64(iv) }, key, unb64(ct));
      return dec.decode(pt);
    },
  };
}
