// Schedule preview: validation, a readable description and the next run times, all client-side.
import { Cron } from 'croner';
import { dateTime } from './format';

export interface SchedulePreview {
  error: string | null;
  description: string;
  next: string[];
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAY_NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const MONTH_NAMES: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};

export function isValidZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const num = (s: string) => /^\d+$/.test(s);
const pad = (n: string) => n.padStart(2, '0');
const named = (names: Record<string, number>, s: string) => (Object.hasOwn(names, s.toLowerCase()) ? names[s.toLowerCase()] : undefined);

/** A single day-of-week value (0-7, 7 is Sunday, or a 3-letter name) → its English name; undefined otherwise. */
function dayName(s: string): string | undefined {
  const n = num(s) ? (+s <= 7 ? +s % 7 : undefined) : named(DAY_NAMES, s);
  return n === undefined ? undefined : DAYS[n];
}

/** A single month value (1-12 or a 3-letter name) → its English name; undefined otherwise. */
function monthName(s: string): string | undefined {
  const n = num(s) ? +s : named(MONTH_NAMES, s);
  return n === undefined ? undefined : MONTHS[n - 1];
}

function dowText(f: string): string {
  if (f === '1-5' || f.toLowerCase() === 'mon-fri') return 'on weekdays';
  if (f === '0,6' || f === '6,0' || f.toLowerCase() === 'sat,sun') return 'on weekends';
  const list = f.split(',').map(dayName);
  if (list.every((d) => d !== undefined)) return `on ${list.join(', ')}`;
  const range = /^(\w+)-(\w+)$/.exec(f);
  const [a, b] = range ? [dayName(range[1]), dayName(range[2])] : [];
  if (a && b) return `${a} to ${b}`;
  // Steps, nth weekday (1#2), last weekday (5L), mixed lists…: say only what is certain.
  return `on days of the week ${f}`;
}

/** Best-effort English for common 5-field patterns; falls back to the pattern itself. */
export function describe(pattern: string): string {
  const f = pattern.trim().split(/\s+/);
  if (f.length !== 5) return pattern;
  // croner reads "?" as "*" (in any field), so "0 3 ? * 1" runs on Mondays only.
  const [mi, h, dom, mon, dow] = f.map((x) => x.replace(/\?/g, '*'));
  let time: string;
  if (mi === '*' && h === '*') time = 'Every minute';
  else if (/^\*\/\d+$/.test(mi) && h === '*') time = `Every ${mi.slice(2)} minutes`;
  else if (num(mi) && h === '*') time = mi === '0' ? 'Every hour' : `Every hour at minute ${mi}`;
  else if (num(mi) && /^\*\/\d+$/.test(h)) time = `Every ${h.slice(2)} hours at minute ${mi}`;
  else if (num(mi) && /^\d+(,\d+)*$/.test(h))
    time = `At ${h
      .split(',')
      .map((x) => `${pad(x)}:${pad(mi)}`)
      .join(', ')}`;
  else if (num(mi) && /^\d+-\d+$/.test(h))
    time = `At minute ${mi} of every hour from ${pad(h.split('-')[0])}:00 to ${pad(h.split('-')[1])}:59`;
  else return `Cron: ${pattern}`;
  const when: string[] = [];
  if (dom !== '*') when.push(num(dom) ? `on day ${dom} of the month` : `on days ${dom} of the month`);
  if (mon !== '*') {
    const name = monthName(mon);
    when.push(name ? `in ${name}` : num(mon) ? `in ${mon}` : `in months ${mon}`);
  }
  if (dow !== '*') when.push(dom !== '*' ? `or ${dowText(dow)}` : dowText(dow));
  if (!when.length && time.startsWith('At ')) when.push('every day');
  return [time, ...when].join(' ');
}

export function preview(pattern: string, zone: string, count = 3): SchedulePreview {
  const p = pattern.trim();
  if (!p) return { error: null, description: 'Manual only (no schedule)', next: [] };
  if (p.split(/\s+/).length !== 5) return { error: 'Use 5 fields: minute hour day-of-month month day-of-week', description: '', next: [] };
  const tz = zone.trim() || 'UTC';
  if (!isValidZone(tz)) return { error: `Unknown time zone "${tz}"`, description: '', next: [] };
  try {
    const job = new Cron(p, { timezone: tz, paused: true, mode: '5-part' });
    const runs = job.nextRuns(count);
    job.stop();
    if (!runs.length) return { error: 'This schedule never runs (impossible date)', description: describe(p), next: [] };
    return { error: null, description: describe(p), next: runs.map((d) => dateTime(d, tz)) };
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/^Cron\w*:\s*/, '') : String(e);
    return { error: `Invalid schedule: ${msg}`, description: '', next: [] };
  }
}

export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
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
