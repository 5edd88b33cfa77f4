// Pure formatting helpers: sizes, rates, durations, dates and readable labels for ZFS paths.
import { parseTargetPath } from '$protocol/layout';
import { isTimeZone } from '$protocol/retention';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
// Binary units, as zfs(8) counts sizes (1 K = 1024 B). Intl's byte units are decimal (kB = 1000 B)
// and would read "1.1 kB" for a 1 KiB block, so Intl formats the number only: three significant
// digits ("1.50", "10.0", "100"), but never fewer than the whole digits ("1023", not "1,020").
const SCALED = new Intl.NumberFormat('en', {
  minimumSignificantDigits: 3,
  maximumSignificantDigits: 3,
  maximumFractionDigits: 0,
  roundingPriority: 'morePrecision',
  useGrouping: false,
});
const WHOLE = new Intl.NumberFormat('en', { maximumFractionDigits: 0, useGrouping: false });

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  let v = Math.max(0, n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  // Whole bytes below 1 KiB; the unit is picked after rounding, so 1023.6 B reads "1.00 KiB", not "1024 B".
  let text = (i === 0 ? WHOLE : SCALED).format(v);
  if (Number(text) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
    text = SCALED.format(v);
  }
  return `${text} ${UNITS[i]}`;
}

export function rate(bps: number | null | undefined): string {
  return bps === null || bps === undefined || !Number.isFinite(bps) ? '—' : `${bytes(bps)}/s`;
}

/** "12 min 34 s", "1 h 05 min": Intl.DurationFormat is not in every supported browser (nor Node 20) yet. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(r).padStart(2, '0')} s`;
  return `${r} s`;
}

/** Seconds from `startedAt` to `finishedAt`, or to `now` while unfinished (null: not started, or unfinished and no `now`). */
export function elapsed(startedAt: string | null | undefined, finishedAt: string | null | undefined, now: number | null): number | null {
  const start = startedAt ? Date.parse(startedAt) : Number.NaN;
  if (Number.isNaN(start)) return null;
  const end = finishedAt ? Date.parse(finishedAt) : now;
  return end === null || Number.isNaN(end) ? null : Math.max(0, (end - start) / 1000);
}

export function percent(done: number | null | undefined, total: number | null | undefined): number | null {
  // Unknown or non-positive totals give no percentage, whatever the numerator; the result stays in 0..100.
  if (done === null || done === undefined || !Number.isFinite(done)) return null;
  if (total === null || total === undefined || !Number.isFinite(total) || total <= 0) return null;
  return Math.min(100, Math.max(0, (done / total) * 100));
}

// One clock (README, Web UI → One clock): every time on screen is shown in the display zone the user
// chose in Settings (clock.ts keeps it per browser), the browser's own zone until then.
let displayZone: string | undefined;

/** The zone times are shown in; undefined: the browser's. Unknown zones are ignored (the browser's). */
export function setDisplayZone(zone: string | null | undefined): void {
  displayZone = zone && isTimeZone(zone) ? zone : undefined;
}

/** The IANA name of the zone times are shown in now. */
export function displayZoneName(): string {
  return displayZone ?? browserZoneName();
}

export function browserZoneName(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const fmtCache = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string | undefined, seconds = false): Intl.DateTimeFormat {
  const key = `${timeZone ?? ''}|${seconds}`;
  let f = fmtCache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      ...(seconds ? { second: '2-digit' } : {}),
      hourCycle: 'h23',
      timeZone,
      timeZoneName: 'short',
    });
    fmtCache.set(key, f);
  }
  return f;
}

/** Creates the formatter every table uses (the display zone) ahead of the first render. */
export function warmDateFormats(): void {
  formatter(displayZone).format(0);
}

export interface DateTimeOptions {
  /** With seconds ("10:15:07"): the progress dialog. */
  seconds?: boolean;
}

/**
 * "28 Nov 2026 10:15 UTC" in the given IANA zone; without one (the usual case), in the display zone.
 * An unknown zone falls back to the display zone.
 */
export function dateTime(
  value: string | number | Date | null | undefined,
  timeZone: string | undefined = displayZone,
  opts: DateTimeOptions = {},
): string {
  if (value === null || value === undefined || value === '') return '—';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = formatter(timeZone, opts.seconds).formatToParts(d);
  } catch {
    parts = formatter(displayZone, opts.seconds).formatToParts(d);
  }
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  const time = opts.seconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
  return `${p.day} ${p.month} ${p.year} ${time} ${p.timeZoneName ?? ''}`.trim();
}

/** "10:15:07": the time of day of a log line, on the display clock (the full time is in its title). */
export function timeOfDay(value: string | number | Date): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const p = Object.fromEntries(
    formatter(displayZone, true)
      .formatToParts(d)
      .map((x) => [x.type, x.value]),
  );
  return `${p.hour}:${p.minute}:${p.second}`;
}

/**
 * Beside a scheduled time shown on the one clock, where a schedule's zone matters: " (job zone
 * Europe/Berlin)" when the job's zone is not the display zone, else "".
 */
export function jobZoneNote(jobZone: string | null | undefined): string {
  return !jobZone || jobZone === displayZoneName() ? '' : ` (job zone ${jobZone})`;
}

export function isoTitle(value: string | null | undefined): string {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

const RELATIVE = new Intl.RelativeTimeFormat('en', { style: 'long', numeric: 'always' });

/** "3 minutes ago" / "in 2 hours" — coarse, for last-seen columns. */
export function relative(value: string | null | undefined, now = Date.now()): string {
  if (!value) return 'never';
  const t = new Date(value).getTime();
  if (Number.isNaN(t)) return value;
  const diff = Math.round((t - now) / 1000);
  const a = Math.abs(diff);
  if (a < 2) return 'just now'; // also hides a few ms of clock difference ("in 0 seconds")
  // The unit is chosen after rounding: 3599 s reads "1 hour", not "60 minutes".
  const min = Math.round(a / 60);
  const h = Math.round(a / 3600);
  const [n, unit]: [number, Intl.RelativeTimeFormatUnit] =
    a < 60 ? [a, 'second'] : min < 60 ? [min, 'minute'] : h < 24 ? [h, 'hour'] : [Math.round(a / 86400), 'day'];
  return RELATIVE.format(diff < 0 ? -n : n, unit);
}

/** `lb_j7_20261128T101500Z` (optionally with a collision suffix) → its UTC time. */
export function snapshotTime(name: string): Date | null {
  const m = /^lb_j\d+_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(name);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  return new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
}

export interface ZfsLabelContext {
  jobName?: (jobId: string) => string | undefined;
  /** The event's snapshot name, when the path itself has none. */
  snapshot?: string | null;
  /** The event's generation, when the path stops at the job level (`…/j7`). */
  generation?: number | null;
}

/**
 * Readable label for a raw ZFS path, e.g.
 * `backup/j7/g2/tank/vms/web@lb_j7_20261128T101500Z` → "job web · gen 2 · tank/vms/web · 28 Nov 2026 10:15 UTC".
 * Paths that do not follow the Lifeboat layout come back unchanged.
 */
export function zfsLabel(raw: string | null | undefined, ctx: ZfsLabelContext = {}): string {
  return raw ? zfsLabelParts(raw, ctx).join(' · ') : '—';
}

/** The full raw path a label stands for (the path plus the event's snapshot when it has none). */
export function zfsRaw(raw: string, ctx: ZfsLabelContext = {}): string {
  return ctx.snapshot && !raw.includes('@') && isZfsPath(raw) ? `${raw}@${ctx.snapshot}` : raw;
}

const isZfsPath = (s: string) => /^[^@\s:]+(@[^@\s/:]+)?$/.test(s);

/** The segments of {@link zfsLabel}, for layouts that wrap between segments only. */
export function zfsLabelParts(input: string, ctx: ZfsLabelContext = {}): string[] {
  // Only dataset or dataset@snapshot paths; leave anything else (e.g. user@host:root) alone.
  if (!isZfsPath(input)) return [input];
  const raw = zfsRaw(input, ctx);
  const at = raw.indexOf('@');
  const dataset = at >= 0 ? raw.slice(0, at) : raw;
  const snap = at >= 0 ? raw.slice(at + 1) : '';
  const parts: string[] = [];
  // <backupRoot>/j<job>/g<generation>/<source>, or just <backupRoot>/j<job> on job-level events.
  const lay = parseTargetPath(dataset);
  const name = lay ? ctx.jobName?.(String(lay.jobId)) : undefined;
  if (lay && (lay.generation !== null || name)) {
    parts.push(name ? `job ${name}` : `job #${lay.jobId}`);
    const gen = lay.generation ?? ctx.generation ?? null;
    if (gen !== null) parts.push(`gen ${gen}`);
    if (lay.source) parts.push(lay.source);
  } else {
    parts.push(dataset);
  }
  if (snap) {
    const t = snapshotTime(snap);
    if (t) {
      // the name stays UTC; its label is on the one clock
      parts.push(dateTime(t));
    } else {
      parts.push(`@${snap}`);
    }
  }
  return parts;
}

const KIND_LABELS: Record<string, string> = {
  backup: 'Backup',
  restore: 'Restore',
  'oob-restore': 'OOB restore',
  validate: 'Validate',
  browse: 'Browse target',
  'remove-kept': 'Remove kept dataset',
};
export function kindLabel(kind: string | null | undefined): string {
  return kind ? (KIND_LABELS[kind] ?? titleCase(kind)) : '—';
}

export function titleCase(s: string | null | undefined): string {
  if (!s) return '—';
  return s.replace(/[-_]/g, ' ').replace(/^./, (c) => c.toUpperCase());
}
