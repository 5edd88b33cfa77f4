// Which jobs the Jobs page draws (README, "UI at fleet size"): with thousands of jobs, drawing every
// row costs the browser tens of seconds before the first one shows, so the page draws the first
// `limit` of those matching the filter (by name, source, target or node) and offers the rest on
// request. A job the address names (#job-<id>, the Overview's link) is drawn even beyond the limit.

export interface ListedJob {
  id: number | string;
  name: string;
  source: string;
}

export interface JobListing<T> {
  rows: T[];
  /** How many jobs match the filter (rows may be fewer). */
  matched: number;
}

/** `labels`: further text a job is found by (its target's and node's names). */
export function visibleJobs<T extends ListedJob>(
  jobs: readonly T[],
  o: { query: string; limit: number | null; include?: string | null; labels?: (j: T) => (string | undefined)[] },
): JobListing<T> {
  const q = o.query.trim().toLowerCase();
  const matching = q
    ? jobs.filter((j) => [j.name, j.source, ...(o.labels?.(j) ?? [])].some((t) => t !== undefined && t.toLowerCase().includes(q)))
    : jobs;
  if (o.limit === null || matching.length <= o.limit) return { rows: [...matching], matched: matching.length };
  const rows = matching.slice(0, o.limit);
  if (o.include != null) {
    const named = matching.find((j) => String(j.id) === o.include);
    if (named && !rows.includes(named)) rows.push(named);
  }
  return { rows, matched: matching.length };
}
