// Secrets that live in the data directory when the environment does not provide them.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Read `name` from the data dir, creating it (mode 0600) with a random value the first time. */
export function fileSecret(dataDir: string, name: string, prefix = ''): { value: string; path: string; created: boolean } {
  const path = join(dataDir, name);
  if (existsSync(path)) return { value: readFileSync(path, 'utf8').trim(), path, created: false };
  const value = prefix + randomBytes(32).toString('base64url');
  writeFileSync(path, value + '\n', { mode: 0o600, flag: 'wx' });
  return { value, path, created: true };
}
