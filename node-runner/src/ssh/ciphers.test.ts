import { describe, expect, it } from 'vitest';
import { cpuHasAes } from './ciphers.ts';

describe('cpuHasAes', () => {
  it.each([
    ['x86 with AES-NI', 'processor\t: 0\nflags\t\t: fpu vme sse2 aes avx2 sha_ni\n', true],
    ['x86 without', 'processor\t: 0\nflags\t\t: fpu vme sse2 avx2\n', false],
    ['arm64 with the crypto extension', 'processor\t: 0\nFeatures\t: fp asimd aes pmull sha1 sha2\n', true],
    ['arm64 without', 'processor\t: 0\nFeatures\t: fp asimd\n', false],
    ['a flag that only contains "aes"', 'flags\t\t: vaesx\n', false],
    ['nothing readable', '', false],
  ])('%s', (_n, text, want) => {
    expect(cpuHasAes(text)).toBe(want);
  });
});
