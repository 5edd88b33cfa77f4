// Schedule preview: validation (croner), a readable description (cronstrue) and the next run times, all client-side.
import { Cron } from 'croner';
import cronstrue from 'cronstrue';
import { isTimeZone } from '$protocol/retention';
import { dateTime } from './format';

export interface SchedulePreview {
  error: string | null;
  description: string;
  next: string[];
}

// cronstrue's English, with 24-hour times like the rest of the UI. Day-of-week 0 and 7 are both
// Sunday, as croner reads them.
const WORDS = { use24HourTimeFormat: true, dayOfWeekStartIndexZero: true, throwExceptionOnParseError: true, verbose: false };

/** English for a 5-field pattern; the pattern itself when it has not 5 fields, "Cron: <pattern>" when cronstrue cannot read it. */
export function describe(pattern: string): string {
  const p = pattern.trim();
  if (p.split(/\s+/).length !== 5) return pattern;
  try {
    // croner reads "?" as "*" (in any field), so "0 3 ? * 1" runs on Mondays only.
    return cronstrue.toString(p.replace(/\?/g, '*'), WORDS);
  } catch {
    return `Cron: ${p}`;
  }
}

/**
 * The next `count` runs of `pattern` in the job's `zone`, each shown in the display zone (one clock:
 * format.ts) unless `shownIn` names another.
 */
export function preview(pattern: string, zone: string, count = 3, shownIn?: string): SchedulePreview {
  const p = pattern.trim();
  if (!p) return { error: null, description: 'Manual only (no schedule)', next: [] };
  if (p.split(/\s+/).length !== 5) return { error: 'Use 5 fields: minute hour day-of-month month day-of-week', description: '', next: [] };
  const tz = zone.trim() || 'UTC';
  if (!isTimeZone(tz)) return { error: `Unknown time zone "${tz}"`, description: '', next: [] };
  try {
    const job = new Cron(p, { timezone: tz, paused: true, mode: '5-part' });
    const runs = job.nextRuns(count);
    job.stop();
    if (!runs.length) return { error: 'This schedule never runs (impossible date)', description: describe(p), next: [] };
    return { error: null, description: describe(p), next: runs.map((d) => dateTime(d, shownIn)) };
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/^Cron\w*:\s*/, '') : String(e);
    return { error: `Invalid schedule: ${msg}`, description: '', next: [] };
  }
}

/** IANA zones for a datalist, when the browser can list them. */
export function zones(): string[] {
  const i = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  try {
    return i.supportedValuesOf ? ['UTC', ...i.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')] : ['UTC'];
  } catch {
    return ['UTC'];
  }
}
