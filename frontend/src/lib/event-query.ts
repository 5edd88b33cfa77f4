// The Events page's state as its address holds it (filters, page size, validations shown, the page
// and its cursor), the API query it makes, and the "21–40 of 1,234" line. Pure: table-tested
// beside (event-query.test.ts).

export const FILTER_KEYS = ['jobId', 'nodeId', 'status', 'kind', 'q'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
/** About a screen of rows at 1280×800 (issue 16: tables that fit). */
export const DEFAULT_LIMIT = 20;
export const LIMITS = [20, 50, 100, 200] as const;
/** Kinds hidden unless asked for (`checks=1`) or filtered for: routine target checks, not backups. */
export const CHECK_KINDS = ['validate', 'browse'] as const;

export interface EventsView {
  filters: Record<FilterKey, string>;
  limit: number;
  /** validations and browses shown */
  checks: boolean;
  /** 1 = newest */
  page: number;
  /** older than this id (the page's upper bound); null on page 1 */
  cursor: number | null;
}

const posInt = (v: string | null): number | null => {
  const n = Number(v);
  return v !== null && Number.isInteger(n) && n > 0 ? n : null;
};

export function readView(sp: URLSearchParams): EventsView {
  const filters = Object.fromEntries(FILTER_KEYS.map((k) => [k, sp.get(k) ?? ''])) as Record<FilterKey, string>;
  const limit = posInt(sp.get('limit'));
  const cursor = posInt(sp.get('cursor'));
  return {
    filters,
    limit: limit !== null && (LIMITS as readonly number[]).includes(limit) ? limit : DEFAULT_LIMIT,
    checks: sp.get('checks') === '1',
    // a page number without its cursor is page 1: the rows are found by the cursor, not the number
    page: cursor === null ? 1 : (posInt(sp.get('page')) ?? 1),
    cursor,
  };
}

/** The address for `v`: `base` (other keys kept) with the view's keys set, defaults left out, `open` dropped (used once). */
export function writeView(v: EventsView, base: URLSearchParams): URLSearchParams {
  const sp = new URLSearchParams(base);
  const set = (k: string, val: string) => (val ? sp.set(k, val) : sp.delete(k));
  for (const k of FILTER_KEYS) set(k, v.filters[k]);
  set('limit', v.limit === DEFAULT_LIMIT ? '' : String(v.limit));
  set('checks', v.checks ? '1' : '');
  set('page', v.page > 1 && v.cursor !== null ? String(v.page) : '');
  set('cursor', v.page > 1 && v.cursor !== null ? String(v.cursor) : '');
  sp.delete('open');
  return sp;
}

/** GET /events (and, without cursor and limit, GET /events/count) for `v`. */
export function apiQuery(v: EventsView, paging = true): Record<string, string | number> {
  const q: Record<string, string | number> = {};
  for (const k of FILTER_KEYS) if (v.filters[k]) q[k] = v.filters[k];
  // a kind asked for is shown, checks or not
  if (!v.checks && !v.filters.kind) q.hideKinds = CHECK_KINDS.join(',');
  if (paging) {
    q.limit = v.limit;
    if (v.cursor !== null && v.page > 1) q.cursor = v.cursor;
  }
  return q;
}

const n = (x: number) => x.toLocaleString('en-GB');

/** "21–40 of 1,234 events" (or "of more than 10,000"); "No events" on an empty first page. */
export function rangeText(page: number, limit: number, shown: number, total: number | null, capped = false): string {
  const of = total === null ? '' : capped ? ` of more than ${n(total)}` : ` of ${n(total)}`;
  if (shown === 0) return page === 1 ? (total === null ? '' : 'No events') : `Page ${page}: no events${of}`;
  const first = (page - 1) * limit + 1;
  return `${n(first)}–${n(first + shown - 1)}${of} events`;
}
