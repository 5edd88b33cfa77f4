// A token bucket for a bandwidth-limited stream (stream-pipe.ts): pure, with an injected clock.
//
// The bucket holds up to `burst` bytes of credit and refills at `rateBps`. Taking a chunk spends
// its size (credit may go negative: the chunk has already been read); the answer is how long to wait
// before reading the next chunk so that, over time, bytes / elapsed stays at the rate. Waking late
// (a busy event loop) is made up for by the refill, up to `burst`: the rate holds as long as no wait
// overshoots by more than burst / rate (a quarter second by default).

/** Credit for a quarter second at the rate, and at least 64 KiB (a pipe's chunk). */
export function defaultBurst(rateBps: number): number {
  return Math.max(64 * 1024, Math.ceil(rateBps / 4));
}

export class TokenBucket {
  private credit: number;
  private last: number;

  constructor(
    readonly rateBps: number,
    readonly burst: number = defaultBurst(rateBps),
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(rateBps > 0) || !Number.isFinite(rateBps))
      throw new RangeError(`rate must be a positive number of bytes per second, got ${rateBps}`);
    if (!(burst > 0)) throw new RangeError(`burst must be positive, got ${burst}`);
    this.credit = burst;
    this.last = now();
  }

  /** Spends `n` bytes; returns the milliseconds to wait before the next chunk (0: go on). */
  take(n: number): number {
    const t = this.now();
    this.credit = Math.min(this.burst, this.credit + ((t - this.last) * this.rateBps) / 1000);
    this.last = t;
    this.credit -= n;
    return this.credit >= 0 ? 0 : (-this.credit * 1000) / this.rateBps;
  }
}
