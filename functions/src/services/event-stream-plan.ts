// Pure decisions of GET /events/stream (routes/event-stream.ts): where a (re)connected stream
// starts reading event changes, and how long it waits between looks (docs/architecture.md, "Live
// pages"). No I/O here; the table tests sit beside it.

/** More changes than this behind the cursor: the client reloads its lists instead of replaying them. */
export const MAX_BACKLOG = 2_000;

/**
 * The stream's start. `lastEventId`: the Last-Event-ID the browser sent back (an id this server
 * gave: a change number), absent on a first connection; `cursor`: the newest change number now.
 * `reset`: the client must reload what it shows (the changes it missed are not replayed).
 */
export function resumeFrom(lastEventId: number | null, cursor: number, maxBacklog = MAX_BACKLOG): { from: number; reset: boolean } {
  // a first connection: the page loads its lists itself; changes from now on
  if (lastEventId === null) return { from: cursor, reset: false };
  // an id from the future: the database was replaced or restored from a backup
  if (lastEventId > cursor) return { from: cursor, reset: true };
  // too far behind (a laptop woke up): one reload is cheaper than replaying the history
  if (cursor - lastEventId > maxBacklog) return { from: cursor, reset: true };
  return { from: lastEventId, reset: false };
}

/** The Last-Event-ID header as a change number; null when absent, 'invalid' for anything but a whole number. */
export function parseLastEventId(header: string | undefined): number | null | 'invalid' {
  if (header === undefined || header === '') return null;
  if (!/^\d{1,15}$/.test(header)) return 'invalid';
  return Number(header);
}

/**
 * How long the stream waits before its next look at the change cursor: the check interval, never
 * past the stream's end, and soon enough for the next heartbeat. `sinceWrite`: ms since the last
 * bytes went out.
 */
export function nextWait(o: { checkMs: number; heartbeatMs: number; leftMs: number; sinceWrite: number }): number {
  return Math.max(0, Math.min(o.checkMs, o.leftMs, o.heartbeatMs - o.sinceWrite));
}
