// Node entry only: the same scrypt as lib/password.ts, through node:crypto (native, ~10x faster).
import { scrypt } from 'node:crypto';
import { createPasswordHasher, type PasswordHasher } from './lib/password.ts';

export function nodePasswordHasher(): PasswordHasher {
  return createPasswordHasher(
    (pw, salt, o) =>
      new Promise((resolve, reject) => {
        scrypt(pw, salt, o.dkLen, { N: o.N, r: o.r, p: o.p, maxmem: o.maxmem }, (err, key) =>
          err ? reject(err) : resolve(new Uint8Array(key)),
        );
      }),
  );
}
