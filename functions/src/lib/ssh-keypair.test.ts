// The OpenSSH serializer, checked by OpenSSH itself: ssh-keygen reads the private key file back,
// derives the same public line and prints the same fingerprint.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ed25519PublicBlob, encodeOpenSshEd25519, generateEd25519KeyPair, sshFingerprint } from './ssh-keypair.ts';

const dir = mkdtempSync(join(tmpdir(), 'lifeboat-keypair-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keygen(args: string[], privateKey: string): string {
  const file = join(dir, `k${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, privateKey, { mode: 0o600 });
  return execFileSync('ssh-keygen', [...args, '-f', file], { encoding: 'utf8' }).trim();
}

describe('generateEd25519KeyPair', () => {
  // comments of every length mod 8 exercise every padding length of the private section
  it.each(['', 'a', 'lifeboat-t', 'lifeboat-offsite', 'lifeboat-a-much-longer-target-name-1234'])(
    'ssh-keygen -y derives the same public line (comment %j)',
    async (comment) => {
      const pair = await generateEd25519KeyPair(comment);
      expect(pair.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=*( \S+)?$/);
      expect(keygen(['-y'], pair.privateKey)).toBe(pair.publicKey);
    },
  );

  it('fingerprints as ssh-keygen -l does', async () => {
    const pair = await generateEd25519KeyPair('lifeboat-fp');
    const pub = Uint8Array.from(atob(pair.publicKey.split(' ')[1]), (c) => c.charCodeAt(0));
    const fp = await sshFingerprint(pub);
    expect(keygen(['-l'], pair.privateKey)).toContain(` ${fp} `);
    // the blob is the wire form of the key itself
    expect(ed25519PublicBlob(pub.slice(pub.length - 32))).toEqual(pub);
  });

  it('two pairs differ', async () => {
    const [a, b] = await Promise.all([generateEd25519KeyPair('x'), generateEd25519KeyPair('x')]);
    expect(a.publicKey).not.toBe(b.publicKey);
    expect(a.privateKey).not.toBe(b.privateKey);
  });
});

describe('encodeOpenSshEd25519', () => {
  it('refuses keys of the wrong length', () => {
    expect(() => encodeOpenSshEd25519(new Uint8Array(31), new Uint8Array(32), '', 1)).toThrow(/32 bytes/);
  });
  it('is armoured with lines of at most 70 characters', () => {
    const text = encodeOpenSshEd25519(new Uint8Array(32).fill(7), new Uint8Array(32).fill(9), 'c', 42);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN OPENSSH PRIVATE KEY-----');
    expect(lines.at(-1)).toBe('-----END OPENSSH PRIVATE KEY-----');
    expect(lines.slice(1, -1).every((l) => l.length <= 70)).toBe(true);
  });
});
