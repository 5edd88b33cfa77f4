// Shared by the Overview page and the root layout's load (which starts its first request), as
// $lib/events does for the Events page.
import { api, asApiError, type ApiError } from './api';
import type { Overview } from './types';

/** Job lines asked for at first: with thousands of jobs the worst ones (listed first) are what matters. */
export const FIRST_ROWS = 200;

export type FirstOverview = { ok: true; data: Overview } | { ok: false; error: ApiError };

let pending: { at: number; promise: Promise<FirstOverview> } | null = null;

/**
 * Starts reading GET /overview (its first FIRST_ROWS lines) and keeps the promise for
 * {@link takeFirstOverview}. The root layout calls this as soon as its own module is loaded, so
 * the request overlaps the download of the page's modules and the session probe (a visitor who is
 * not signed in is sent to /signin by the probe or by this request's 401). Never rejects.
 */
export function prefetchOverview(): void {
  const promise: Promise<FirstOverview> = api.get<Overview>('/overview', { jobs: FIRST_ROWS }).then(
    (data) => ({ ok: true as const, data }),
    (e: unknown) => ({ ok: false as const, error: asApiError(e) }),
  );
  pending = { at: Date.now(), promise };
}

/** The prefetched answer (used once, only when started for this very navigation), else a new request. */
export function takeFirstOverview(): Promise<FirstOverview> {
  if (!pending || Date.now() - pending.at > 5000) prefetchOverview();
  const p = pending!.promise;
  pending = null;
  return p;
}
