// Shared by the Events page, its load function and the root layout (which starts the first request).
import { api, asApiError, type ApiError } from './api';
import { apiQuery, readView } from './event-query';
import type { LbEvent, Page } from './types';

export type FirstPage = { ok: true; page: Page<LbEvent> } | { ok: false; error: ApiError };

let pending: { search: string; at: number; promise: Promise<FirstPage> } | null = null;

/**
 * Starts reading the first page of events for the Events page at `url` (its filters) and keeps the
 * promise for {@link takeFirstEventsPage}. The root layout calls this as soon as its own module is
 * loaded, so the request overlaps the download of the page's modules and the session probe (a
 * password session has no token to tell it is signed in; a visitor who is not is sent to /signin
 * by the probe or by this request's 401). Never rejects.
 */
export function prefetchFirstEventsPage(url: URL): void {
  const promise: Promise<FirstPage> = api.get<Page<LbEvent>>('/events', apiQuery(readView(url.searchParams))).then(
    (page) => ({ ok: true as const, page }),
    (e: unknown) => ({ ok: false as const, error: asApiError(e) }),
  );
  pending = { search: url.search, at: Date.now(), promise };
}

/** The prefetched first page for `url` (used once), else a new request; null when signed out. */
export function takeFirstEventsPage(url: URL): Promise<FirstPage> | null {
  // Only the answer started for this very navigation (an abandoned one must not show old rows).
  if (!pending || pending.search !== url.search || Date.now() - pending.at > 5000) prefetchFirstEventsPage(url);
  const p = pending?.promise ?? null;
  pending = null;
  return p;
}
