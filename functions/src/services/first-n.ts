// The first N items of a list in a comparator's order without sorting all of it: GET /overview
// lists the worst few hundred of ten thousand jobs, and a full sort by name (Intl.Collator) costs
// a comparison per item per level. Pure; the table tests sit beside it.

/**
 * `items` ordered by `cmp`, the first `n` only (all when n is null), as a stable sort followed by
 * `slice(0, n)` would give: items that compare equal keep their order in `items`.
 */
export function firstN<T>(items: readonly T[], n: number | null, cmp: (a: T, b: T) => number): T[] {
  if (n === null || n >= items.length) return items.slice().sort(cmp);
  if (n <= 0) return [];
  // `kept`: the best n seen so far, sorted; a new item enters only when it beats the worst kept
  // one (at 10,000 items and n = 200, a few hundred enter), its place found by binary search.
  const kept: T[] = [];
  for (const item of items) {
    if (kept.length === n && cmp(item, kept[n - 1]) >= 0) continue;
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmp(item, kept[mid]) < 0) hi = mid;
      else lo = mid + 1; // after equal ones: stable
    }
    kept.splice(lo, 0, item);
    if (kept.length > n) kept.pop();
  }
  return kept;
}
