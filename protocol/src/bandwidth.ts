// The bandwidth limit of a stream (README "Bandwidth limits"): a job's and its target's, the lower
// wins; 0 or null (or absent) is unlimited. Pure: the runner applies it, the UI shows it.

/** KiB/s as the API and the database hold it. */
export type KiBps = number | null | undefined;

/** The limit in bytes per second that applies, or null for unlimited. */
export function effectiveLimitBps(...limits: KiBps[]): number | null {
  const set = limits.filter((l): l is number => typeof l === 'number' && Number.isFinite(l) && l > 0);
  return set.length ? Math.min(...set) * 1024 : null;
}

/** "1024 KiB/s (1.0 MiB/s)" for log lines and the UI; "unlimited" for null. */
export function formatLimit(bps: number | null): string {
  if (bps === null) return 'unlimited';
  const kib = bps / 1024;
  return kib >= 1024 ? `${kib} KiB/s (${(kib / 1024).toFixed(1)} MiB/s)` : `${kib} KiB/s`;
}
