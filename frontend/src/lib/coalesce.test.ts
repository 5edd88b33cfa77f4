import { describe, expect, it } from 'vitest';
import { coalesce } from './coalesce';

/** A reload whose runs the test ends by hand. */
function reload() {
  const ends: (() => void)[] = [];
  const f = coalesce(() => new Promise<void>((r) => ends.push(r)));
  const finish = async () => {
    ends.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { f, ends, finish };
}

describe('coalesce', () => {
  it('runs at once when idle', () => {
    const r = reload();
    r.f();
    expect(r.ends).toHaveLength(1);
  });

  it('a burst during a run: one more run after it, not one per call', async () => {
    const r = reload();
    r.f();
    r.f();
    r.f();
    r.f();
    expect(r.ends).toHaveLength(1);
    await r.finish();
    expect(r.ends).toHaveLength(1); // the one run again
    await r.finish();
    expect(r.ends).toHaveLength(0);
  });

  it('a failed run does not stop the next', async () => {
    let calls = 0;
    const f = coalesce(() => (++calls === 1 ? Promise.reject(new Error('offline')) : Promise.resolve()));
    f();
    f();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(calls).toBe(2);
  });
});
