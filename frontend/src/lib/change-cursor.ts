// Did a page's answer miss an event change the stream has already gone past? The pages that follow
// GET /events/stream ($lib/live) read their list at an event change number (GET /overview answers
// with its `changeCursor`); the stream tells each change above its `hello` cursor. What changed
// above the answer's number and at or below what the stream has passed reaches the page by neither
// route: then the page reads its list again. Pure; the table tests sit beside it.

/**
 * True when an answer read at change number `readAt` (null: not known) may lack a change the
 * stream has passed: its first `hello` cursor, or a change heard while the answer was on its way
 * (`passed`, null: nothing passed yet).
 */
export function missedChanges(readAt: number | null | undefined, passed: number | null): boolean {
  if (passed === null) return false;
  return readAt === null || readAt === undefined || readAt < passed;
}
