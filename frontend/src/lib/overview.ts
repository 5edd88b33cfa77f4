// Shared by the Overview page and the root layout's load (which starts its first request), as
// $lib/events does for the Events page.
import { api, asApiError, getToken, request, type ApiError } from './api';
import { FIRST_PATH } from './overview-path';
import type { Overview } from './types';

export { FIRST_ROWS } from './overview-path';

export type FirstOverview = { ok: true; data: Overview } | { ok: false; error: ApiError };

let pending: { at: number; promise: Promise<FirstOverview> } | null = null;

/**
 * Starts reading GET /overview (its first FIRST_ROWS lines) and keeps the promise for
 * {@link takeFirstOverview}. The root layout calls this as soon as its own module is loaded, so
 * the request overlaps the download of the page's modules and the session probe (a visitor who is
 * not signed in is sent to /signin by the probe or by this request's 401). Never rejects.
 */
export function prefetchOverview(): void {
  // app.html sent this request before any of this code arrived (on a first visit to /): take it, once
  const w = window as { __lifeboatFirstOverview?: Promise<Response> };
  const sent = w.__lifeboatFirstOverview;
  delete w.__lifeboatFirstOverview;
  const promise: Promise<FirstOverview> = (
    sent ? request<Overview>('GET', FIRST_PATH, undefined, {}, getToken(), true, sent) : api.get<Overview>(FIRST_PATH)
  ).then(
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
