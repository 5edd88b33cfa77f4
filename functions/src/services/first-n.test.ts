import { describe, expect, it } from 'vitest';
import { firstN } from './first-n.ts';

const num = (a: number, b: number) => a - b;
/** [key, tag] pairs: equal keys must keep their input order (the tag shows it). */
const byKey = (a: [number, string], b: [number, string]) => a[0] - b[0];

describe('firstN', () => {
  it.each([
    { what: 'the first n in order', items: [5, 3, 9, 1, 7], n: 2, want: [1, 3] },
    { what: 'n = 1: the least', items: [5, 3, 9, 1, 7], n: 1, want: [1] },
    { what: 'null: all, sorted', items: [5, 3, 9, 1, 7], n: null, want: [1, 3, 5, 7, 9] },
    { what: 'n beyond the length: all, sorted', items: [2, 1], n: 10, want: [1, 2] },
    { what: 'n equal to the length: all, sorted', items: [2, 1], n: 2, want: [1, 2] },
    { what: 'n = 0: none', items: [2, 1], n: 0, want: [] },
    { what: 'empty', items: [], n: 3, want: [] },
    { what: 'already sorted', items: [1, 2, 3, 4, 5], n: 3, want: [1, 2, 3] },
    { what: 'reversed', items: [5, 4, 3, 2, 1], n: 3, want: [1, 2, 3] },
    { what: 'duplicates across the cut', items: [2, 1, 2, 2, 0], n: 3, want: [0, 1, 2] },
  ])('$what', ({ items, n, want }) => {
    expect(firstN(items, n, num)).toEqual(want);
  });

  it.each([
    {
      what: 'equal keys keep their input order',
      items: [
        [1, 'a'],
        [0, 'b'],
        [1, 'c'],
        [0, 'd'],
        [1, 'e'],
      ] as [number, string][],
      n: 4,
      want: ['b', 'd', 'a', 'c'],
    },
    {
      what: 'a later equal item does not displace a kept one at the cut',
      items: [
        [1, 'a'],
        [1, 'b'],
        [1, 'c'],
      ] as [number, string][],
      n: 2,
      want: ['a', 'b'],
    },
  ])('$what', ({ items, n, want }) => {
    expect(firstN(items, n, byKey).map((x) => x[1])).toEqual(want);
  });

  it('agrees with a stable sort and slice on many shuffled lists', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 200; round++) {
      const items = Array.from({ length: Math.floor(rand() * 60) }, (_, i) => [Math.floor(rand() * 10), String(i)] as [number, string]);
      const n = Math.floor(rand() * 70);
      expect(firstN(items, n, byKey)).toEqual(items.slice().sort(byKey).slice(0, n));
    }
  });
});
