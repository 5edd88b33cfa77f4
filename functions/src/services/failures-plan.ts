// GET /overview's "failed and interrupted in the last 24 hours" without reading every failed event
// of the history each time (services/overview.ts): each database keeps, in the process, the ids of
// the failed and interrupted events that finished since `from`, as of event change number `cursor`.
// The next answer reads only the events changed above that cursor (events_change_idx) and checks
// the kept ids again by id (a deleted event takes no change number); anything it cannot vouch for
// reads the whole list again. Pure; the table tests sit beside it.

export interface FailuresMemo {
  /** The change number read before the read that made `ids`. */
  cursor: number;
  /** The window's start then (epoch ms): `ids` holds every such event that finished since. */
  from: number;
  ids: number[];
}

/** More changed events than this since the memo: read the whole list again. */
export const MAX_CHANGED = 5_000;

/**
 * `incremental`: the memo's ids plus the events changed above its cursor hold every failed or
 * interrupted event that finished since `from` (the window only moved forward, the database did
 * not go back). `full`: read them all.
 */
export function failuresPlan(memo: FailuresMemo | undefined, now: { cursor: number; from: number }): 'incremental' | 'full' {
  if (!memo) return 'full';
  if (now.cursor < memo.cursor) return 'full'; // the database went back (replaced)
  if (now.from < memo.from) return 'full'; // a window that starts earlier: events the memo never looked at
  if (now.cursor - memo.cursor > MAX_CHANGED) return 'full'; // a long way behind: the changed rows cost more
  return 'incremental';
}
