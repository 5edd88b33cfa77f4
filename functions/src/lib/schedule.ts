// Cron schedules (5-part, croner) evaluated in the job's IANA zone.
import { Cron } from 'croner';

function cron(pattern: string, timezone: string): Cron {
  return new Cron(pattern, { timezone, mode: '5-part', paused: true });
}

/** Returns an error message for a bad pattern, or null when it is fine. */
export function scheduleError(pattern: string, timezone: string): string | null {
  let c: Cron;
  try {
    c = cron(pattern, timezone);
  } catch (e) {
    return (e as Error).message.replace(/^CronPattern: /, '');
  }
  if (!c.nextRun()) return 'the pattern never matches a date (e.g. Feb 31)';
  return null;
}

/** The first occurrence strictly after `after` (ms), or null. */
export function nextRun(pattern: string, timezone: string, after: number): number | null {
  if (!pattern) return null;
  const d = cron(pattern, timezone).nextRun(new Date(after));
  return d ? d.getTime() : null;
}

export function nextRuns(pattern: string, timezone: string, after: number, n: number): number[] {
  if (!pattern) return [];
  return cron(pattern, timezone)
    .nextRuns(n, new Date(after))
    .map((d) => d.getTime());
}

/**
 * Occurrences due at `now` for a job whose next run was `dueAt`: how many were due (capped)
 * and the next occurrence after now. Used to coalesce missed runs into one catch-up event.
 */
export function dueOccurrences(pattern: string, timezone: string, dueAt: number, now: number, cap = 10_000) {
  const c = cron(pattern, timezone);
  let count = 1;
  let cursor = new Date(dueAt);
  let next: Date | null;
  for (;;) {
    next = c.nextRun(cursor);
    if (!next || next.getTime() > now) break;
    if (count >= cap) {
      next = c.nextRun(new Date(now));
      break;
    }
    count++;
    cursor = next;
  }
  return { count, capped: count >= cap, nextAt: next ? next.getTime() : null };
}
