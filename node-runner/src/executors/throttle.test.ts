// TokenBucket (throttle.ts) against a simulated clock: the waits it asks for keep bytes / time at
// the rate, it allows one burst, it makes up for late wake-ups, and never for idle time past the burst.
import { describe, expect, it } from 'vitest';
import { TokenBucket, defaultBurst } from './throttle.ts';

const MiB = 1024 * 1024;
const KiB = 1024;

/** A reader that takes `chunk`-byte chunks and sleeps as told (plus `late` ms each time). */
function simulate(rate: number, total: number, chunk: number, late = 0, burst?: number) {
  let t = 0;
  const b = new TokenBucket(rate, burst, () => t);
  let sent = 0;
  let lastChunkAt = 0;
  while (sent < total) {
    const wait = b.take(chunk);
    sent += chunk;
    lastChunkAt = t;
    if (wait > 0) t += wait + late;
  }
  return { sent, ms: lastChunkAt, end: t };
}

describe('TokenBucket', () => {
  it('the first burst goes without waiting, then each chunk waits its share', () => {
    let t = 0;
    const b = new TokenBucket(MiB, 128 * KiB, () => t);
    expect(b.take(64 * KiB)).toBe(0);
    expect(b.take(64 * KiB)).toBe(0);
    expect(b.take(64 * KiB)).toBeCloseTo(62.5, 6); // 64 KiB at 1 MiB/s
    t += 62.5;
    expect(b.take(64 * KiB)).toBeCloseTo(62.5, 6);
  });

  it.each([
    ['1 MiB/s, 64 KiB chunks', MiB, 64 * KiB],
    ['1 MiB/s, 16 KiB chunks', MiB, 16 * KiB],
    ['100 KiB/s', 100 * KiB, 64 * KiB],
    ['50 MiB/s', 50 * MiB, 64 * KiB],
  ])('%s: 60 s worth of bytes take 60 s less one burst at most (within 1 %)', (_, rate, chunk) => {
    const { sent, end } = simulate(rate, 60 * rate, chunk);
    const ideal = (sent / rate) * 1000;
    // one burst is free, so the time is short by at most burst/rate
    expect(end).toBeLessThanOrEqual(ideal);
    expect(end).toBeGreaterThanOrEqual(ideal - (defaultBurst(rate) / rate) * 1000 - 1e-6);
    expect(Math.abs(sent / (end / 1000) / rate - 1)).toBeLessThan(0.011);
  });

  it('wake-ups 20 ms late (a busy event loop) are made up for by the refill: the rate still holds', () => {
    const { sent, end } = simulate(MiB, 32 * MiB, 64 * KiB, 20);
    expect(sent / (end / 1000) / MiB).toBeGreaterThan(0.99);
    expect(sent / (end / 1000) / MiB).toBeLessThan(1.01);
  });

  it('idle time earns no more than one burst of credit', () => {
    let t = 0;
    const b = new TokenBucket(MiB, 256 * KiB, () => t);
    b.take(256 * KiB);
    t += 60_000; // a minute without data
    expect(b.take(256 * KiB)).toBe(0);
    expect(b.take(64 * KiB)).toBeCloseTo(62.5, 6);
  });

  it('a chunk larger than the burst waits for all of it', () => {
    const t = 0;
    const b = new TokenBucket(MiB, 64 * KiB, () => t);
    expect(b.take(MiB + 64 * KiB)).toBeCloseTo(1000, 6);
  });

  it('refuses a rate that is not a positive number', () => {
    expect(() => new TokenBucket(0)).toThrow(RangeError);
    expect(() => new TokenBucket(-1)).toThrow(RangeError);
    expect(() => new TokenBucket(Number.NaN)).toThrow(RangeError);
  });

  it('defaultBurst: a quarter second, at least 64 KiB', () => {
    expect(defaultBurst(MiB)).toBe(256 * KiB);
    expect(defaultBurst(10 * KiB)).toBe(64 * KiB);
  });
});
