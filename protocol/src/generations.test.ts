// planGenerationDrops: table tests (count, age, both, busy generations, never the current one).
import { describe, expect, it } from 'vitest';
import { planGenerationDrops, type GenerationPolicy } from './generations.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-30T00:00:00Z');
// generation g began (30 - 5g) days ago... g5 is current, began 5 days ago
const gens = [1, 2, 3, 4, 5].map((g) => ({ generation: g, createdAt: NOW - (30 - 5 * g) * DAY }));
const run = (policy: GenerationPolicy, busy: [number, string][] = [], current = 5) =>
  Object.fromEntries(
    planGenerationDrops({ generations: gens, current, policy, now: NOW, busy: new Map(busy) }).map((v) => [
      v.generation,
      `${v.drop ? 'drop' : 'keep'}: ${v.reason}`,
    ]),
  );

describe('planGenerationDrops', () => {
  it('no policy keeps everything', () => {
    expect(Object.values(run({ keepGenerations: null, keepGenerationDays: null })).every((v) => v.startsWith('keep'))).toBe(true);
  });
  it('keep the newest 2 (the current one counts)', () => {
    expect(run({ keepGenerations: 2, keepGenerationDays: null })).toEqual({
      5: 'keep: current',
      4: 'keep: one of the newest 2',
      3: 'drop: not one of the newest 2',
      2: 'drop: not one of the newest 2',
      1: 'drop: not one of the newest 2',
    });
  });
  it('keep 1 keeps only the current one', () => {
    expect(run({ keepGenerations: 1, keepGenerationDays: null })[4]).toBe('drop: not one of the newest 1');
  });
  it('keep for D days after it stopped being current (the successor’s start), boundary excluded', () => {
    // g4 stopped 5 days ago, g3 10, g2 15, g1 20
    expect(run({ keepGenerations: null, keepGenerationDays: 10 })).toEqual({
      5: 'keep: current',
      4: 'keep: not current for 5 of 10 days',
      3: 'drop: not current for 10 days (keep 10)',
      2: 'drop: not current for 15 days (keep 10)',
      1: 'drop: not current for 20 days (keep 10)',
    });
  });
  it('both rules: kept when either keeps it', () => {
    expect(run({ keepGenerations: 2, keepGenerationDays: 12 })).toMatchObject({
      4: 'keep: one of the newest 2',
      3: 'keep: not current for 10 of 12 days',
      2: 'drop: not one of the newest 2 and not current for 15 days (keep 12)',
    });
  });
  it('a generation a restore reads or the next backup forks from is kept with that reason', () => {
    const v = run({ keepGenerations: 1, keepGenerationDays: null }, [
      [2, 'a restore from it is queued or running (event 9)'],
      [1, 'the next backup forks from it (restored)'],
    ]);
    expect(v[2]).toBe('keep: a restore from it is queued or running (event 9)');
    expect(v[1]).toBe('keep: the next backup forks from it (restored)');
    expect(v[3]).toMatch(/^drop/);
  });
  it('never the current generation or a newer one, even when listed out of order', () => {
    const v = run({ keepGenerations: 1, keepGenerationDays: 0 }, [], 3);
    expect(v[3]).toBe('keep: current');
    expect(v[4]).toBe('keep: newer than the current one');
    expect(v[5]).toBe('keep: newer than the current one');
    expect(v[2]).toMatch(/^drop/);
  });
});
