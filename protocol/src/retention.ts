// Retention: which of a dataset's snapshots a job keeps on one side, and why (docs/zfs.md,
// "Retention"). Written once for the runner (what a backup destroys), the server (the preview API)
// and the UI (the live preview in the job form). Pure: the caller passes the time and the listings.
//
// A policy keeps the union of its rules:
// - last N: the N newest snapshots;
// - hourly/daily/weekly/monthly/yearly N: the newest snapshot of each of the N most recent
//   calendar periods (in the job's time zone; ISO weeks, Monday first) that hold a snapshot —
//   periods without one do not count (as sanoid and Proxmox Backup Server count them);
// - within D: every snapshot created in the last D (`48h`, `14d`, `8w`).
// Each rule is counted over the same candidates, independently of the others, so raising any count
// never lets a snapshot go that was kept before. Whatever the policy, a snapshot that is not the
// job's, (on the target) of another generation, the newest one common to both sides, held or cloned
// is never destroyed. A side without a policy destroys nothing.

export const RETENTION_PERIODS = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export type RetentionPeriod = (typeof RETENTION_PERIODS)[number];

export interface RetentionPolicy {
  last: number;
  hourly: number;
  daily: number;
  weekly: number;
  monthly: number;
  yearly: number;
  /** keep everything newer than this (`<n>h`, `<n>d` or `<n>w`), or null */
  within: string | null;
}

export const RETENTION_COUNT_MAX = 100_000;
const WITHIN = /^([1-9][0-9]{0,5})([hdw])$/;
const UNIT_SECONDS = { h: 3600, d: 86_400, w: 604_800 } as const;

/** A policy that keeps the newest `n` (the simple form, Keep Last). */
export const keepLastPolicy = (n: number): RetentionPolicy => ({
  last: n,
  hourly: 0,
  daily: 0,
  weekly: 0,
  monthly: 0,
  yearly: 0,
  within: null,
});

/** `within` in seconds, or null when it is not a valid duration. */
export function withinSeconds(within: string): number | null {
  const m = WITHIN.exec(within);
  return m ? Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS] : null;
}

/** The first problem of a policy as `[field, message]`, or null. */
export function retentionPolicyError(p: RetentionPolicy): [keyof RetentionPolicy, string] | null {
  for (const k of ['last', ...RETENTION_PERIODS] as const) {
    const v = p[k];
    if (!Number.isInteger(v) || v < 0) return [k, 'must be an integer ≥ 0'];
    if (v > RETENTION_COUNT_MAX) return [k, `must be at most ${RETENTION_COUNT_MAX}`];
  }
  if (p.within !== null && withinSeconds(p.within) === null) return ['within', 'must be a duration like 48h, 14d or 8w'];
  return null;
}

/** One line for logs and the UI: `last 3, daily 7, within 48h`, or `keeps only protected snapshots`. */
export function describePolicy(p: RetentionPolicy): string {
  const parts: string[] = [];
  for (const k of ['last', ...RETENTION_PERIODS] as const) if (p[k] > 0) parts.push(`${k} ${p[k]}`);
  if (p.within) parts.push(`within ${p.within}`);
  return parts.length ? parts.join(', ') : 'keeps only protected snapshots';
}

// ---- the job's two sides ----

export interface JobRetention {
  keepLast: number;
  pruneTarget: boolean;
  sourceRetention: RetentionPolicy | null;
  targetRetention: RetentionPolicy | null;
}

/**
 * The policy in force on each side (null: nothing is destroyed there). Without an explicit policy a
 * side follows the simple form: Keep Last on the source, and on the target with Prune on Target;
 * Keep Last 0 prunes nothing (docs/zfs.md, "Retention").
 */
export function effectivePolicy(job: JobRetention, side: 'source' | 'target'): RetentionPolicy | null {
  const explicit = side === 'source' ? job.sourceRetention : job.targetRetention;
  if (explicit) return explicit;
  if (side === 'target' && !job.pruneTarget) return null;
  return job.keepLast > 0 ? keepLastPolicy(job.keepLast) : null;
}

// ---- calendar periods in a time zone ----

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsets = new Map<string, Map<number, number>>();
/** Offsets change on quarter hours (UTC) in every zone of today's tz database: cache per 15 min. */
const OFFSET_STEP = 900;

/** Is `tz` an IANA time zone this runtime knows? */
export function isTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Seconds to add to UTC unix time `t` for the wall clock in `tz`. */
export function zoneOffset(tz: string, t: number): number {
  return offsetIn(tz)(t);
}

/** `zoneOffset` for one zone, its cache looked up once (the planner calls it per snapshot). */
function offsetIn(tz: string): (t: number) => number {
  let byStep = offsets.get(tz);
  if (!byStep) offsets.set(tz, (byStep = new Map()));
  const cache = byStep;
  const f = formatter(tz);
  return (t) => {
    const step = Math.floor(t / OFFSET_STEP);
    let off = cache.get(step);
    if (off === undefined) {
      const at = step * OFFSET_STEP;
      const p: Record<string, number> = {};
      for (const x of f.formatToParts(new Date(at * 1000))) if (x.type !== 'literal') p[x.type] = Number(x.value);
      off = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) / 1000 - at;
      cache.set(step, off);
    }
    return off;
  };
}

/** Civil date of a day count since 1970-01-01 (H. Hinnant's days_from_civil, inverted). */
function civil(days: number): { y: number; m: number; d: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: era * 400 + yoe + (m <= 2 ? 1 : 0), m, d };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The period of local time `local` (unix seconds shifted to the zone): a number, equal within one period. */
function periodKey(period: RetentionPeriod, local: number): number {
  const days = Math.floor(local / 86_400);
  switch (period) {
    case 'hourly':
      return Math.floor(local / 3600);
    case 'daily':
      return days;
    case 'weekly':
      return days - ((((days + 3) % 7) + 7) % 7); // the Monday (1970-01-01 was a Thursday)
    case 'monthly': {
      const c = civilOf(days);
      return c.y * 12 + c.m - 1;
    }
    case 'yearly':
      return civilOf(days).y;
  }
}

// the last day converted: a listing's snapshots come by the dozen per day
let lastDays = NaN;
let lastCivil = { y: 0, m: 0, d: 0 };
function civilOf(days: number) {
  if (days !== lastDays) {
    lastCivil = civil(days);
    lastDays = days;
  }
  return lastCivil;
}

/** How a period reads in a reason: `hourly 2026-11-28 14:00`, `weekly 2026-W48`, `monthly 2026-11`. */
function periodLabel(period: RetentionPeriod, local: number): string {
  const days = Math.floor(local / 86_400);
  const c = civil(days);
  switch (period) {
    case 'hourly':
      return `hourly ${c.y}-${pad(c.m)}-${pad(c.d)} ${pad(Math.floor((local - days * 86_400) / 3600))}:00`;
    case 'daily':
      return `daily ${c.y}-${pad(c.m)}-${pad(c.d)}`;
    case 'weekly': {
      const thursday = periodKey('weekly', local) + 3; // the ISO week-year is its Thursday's year
      const t = civil(thursday);
      const jan1 = Math.floor(Date.UTC(t.y, 0, 1) / 86_400_000);
      return `weekly ${t.y}-W${pad(Math.floor((thursday - jan1) / 7) + 1)}`;
    }
    case 'monthly':
      return `monthly ${c.y}-${pad(c.m)}`;
    case 'yearly':
      return `yearly ${c.y}`;
  }
}

// ---- the planner ----

export interface RetentionSnapshot {
  /** name after '@' */
  name: string;
  guid: string;
  createtxg: bigint | string | number;
  /** unix seconds */
  creation: number;
  /** lifeboat:job (null: hand-made or foreign) */
  job: number | null;
  /** lifeboat:generation */
  generation: number | null;
  /** number of holds */
  userrefs: number;
  /** some dataset has this snapshot as its origin */
  cloned: boolean;
}

export interface RetentionInput<S extends RetentionSnapshot> {
  side: 'source' | 'target';
  jobId: number;
  /** null: nothing is destroyed on this side */
  policy: RetentionPolicy | null;
  /** target side: the current generation; only its snapshots are candidates */
  generation?: number | null;
  /** IANA zone the calendar periods are counted in (the job's) */
  timeZone: string;
  /** unix seconds (for `within`) */
  now: number;
  /** the snapshots of ONE dataset, any order */
  snapshots: S[];
  /** GUIDs of the corresponding dataset on the other side (newest-common protection) */
  otherSideGuids: Iterable<string>;
  /**
   * Source side: GUIDs this dataset has bookmarks of. A bookmarked newest common snapshot is no
   * longer protected as such: the bookmark is the next incremental base (docs/zfs.md, "Bookmarks").
   */
  bookmarkedGuids?: Iterable<string>;
}

export interface RetentionVerdict<S extends RetentionSnapshot> {
  snapshot: S;
  keep: boolean;
  /** why it is kept (every rule that keeps it), or why not (`no rule keeps it (last 3, daily 7)`; one array shared by the plan's destroyed snapshots: read-only) */
  reasons: readonly string[];
}

export interface RetentionPlan<S extends RetentionSnapshot> {
  /** newest first */
  verdicts: RetentionVerdict<S>[];
  destroy: S[];
}

const txgOf = (s: RetentionSnapshot): number => Number(s.createtxg);
/** `r` with `why` added (made on first use: most snapshots of a long listing get none). */
const withReason = (r: string[] | null, why: string): string[] => (r ? (r.push(why), r) : [why]);

/**
 * The newest snapshot (by createtxg) whose GUID is also on the other side, or null: the incremental
 * base of a backup and the one snapshot retention never destroys.
 */
export function newestCommon<T extends { guid: string; createtxg: bigint | string | number }>(
  snapshots: T[],
  otherSideGuids: Iterable<string>,
): T | null {
  const other = otherSideGuids instanceof Set ? (otherSideGuids as Set<string>) : new Set(otherSideGuids);
  let best: T | null = null;
  // txgs stay far below 2^53: Number compares them exactly
  for (const s of snapshots) if (other.has(s.guid) && (!best || Number(s.createtxg) > Number(best.createtxg))) best = s;
  return best;
}

export function planRetention<S extends RetentionSnapshot>(input: RetentionInput<S>): RetentionPlan<S> {
  const { side, jobId, policy } = input;
  if (side === 'target' && (input.generation === undefined || input.generation === null)) {
    throw new Error('planRetention: target side needs the current generation');
  }
  // listings come sorted by createtxg (oldest first) from zfs: reversing is then enough
  let snaps = input.snapshots;
  let sorted = true;
  for (let i = 1; i < snaps.length && sorted; i++) sorted = txgOf(snaps[i - 1]) < txgOf(snaps[i]);
  snaps = sorted ? [...snaps].reverse() : [...snaps].sort((a, b) => txgOf(b) - txgOf(a));

  let common = newestCommon(snaps, input.otherSideGuids);
  let bookmarkedCommon: S | null = null;
  if (common && side === 'source' && input.bookmarkedGuids && new Set(input.bookmarkedGuids).has(common.guid)) {
    bookmarkedCommon = common;
    common = null;
  }
  // one pass, newest first; reasons are made only for what is kept (most of a long listing goes)
  const destroyedWhy = policy ? [`no rule keeps it (${describePolicy(policy)})`] : [];
  const since = policy?.within ? input.now - (withinSeconds(policy.within) ?? 0) : Infinity;
  const withinLabel = `within ${policy?.within}`;
  const lastLabel = `last ${policy?.last}`;
  // the calendar rules still counting, and the periods each has counted (at most its count)
  let counting = policy
    ? RETENTION_PERIODS.filter((p) => policy[p] > 0).map((period) => ({ period, n: policy[period], seen: new Set<number>() }))
    : [];
  // the zone is read only by calendar rules (a Keep Last plan never depends on it)
  const offsetOf = counting.length ? offsetIn(input.timeZone) : () => 0;
  const verdicts: RetentionVerdict<S>[] = new Array(snaps.length);
  const destroy: S[] = [];
  let rank = 0;
  for (let i = 0; i < snaps.length; i++) {
    const s = snaps[i];
    let r: string[] | null = null;
    if (s.job !== jobId) r = withReason(r, s.job === null ? 'not ours' : `job ${s.job}`);
    else if (side === 'target' && s.generation !== input.generation) r = withReason(r, `generation ${s.generation ?? 'unknown'}`);
    else if (!policy) r = withReason(r, 'no policy on this side');
    else {
      rank++;
      if (rank <= policy.last) r = withReason(r, lastLabel);
      if (counting.length) {
        const local = s.creation + offsetOf(s.creation);
        let full = false;
        for (const c of counting) {
          const key = periodKey(c.period, local);
          if (c.seen.has(key)) continue; // an older snapshot of a period already counted
          c.seen.add(key);
          r = withReason(r, periodLabel(c.period, local));
          full ||= c.seen.size >= c.n;
        }
        if (full) counting = counting.filter((c) => c.seen.size < c.n);
      }
      if (s.creation >= since) r = withReason(r, withinLabel);
    }
    if (s === common) r = withReason(r, 'newest common');
    if (s.userrefs > 0) r = withReason(r, 'held');
    if (s.cloned) r = withReason(r, 'cloned');
    if (r) verdicts[i] = { snapshot: s, keep: true, reasons: r };
    else if (s === bookmarkedCommon) {
      verdicts[i] = { snapshot: s, keep: false, reasons: [...destroyedWhy, 'newest common, its bookmark is the next base'] };
      destroy.push(s);
    } else {
      verdicts[i] = { snapshot: s, keep: false, reasons: destroyedWhy };
      destroy.push(s);
    }
  }
  return { verdicts, destroy };
}
