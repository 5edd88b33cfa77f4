// Start reading the first page of events while the page renders (not after it mounted): with
// thousands of events this request is what the first paint of the table waits for.
import { api, getToken, type ApiError, asApiError } from '$lib/api';
import { DEFAULT_LIMIT, FILTER_KEYS } from '$lib/events';
import type { LbEvent, Page } from '$lib/types';
import type { PageLoad } from './$types';

export type FirstPage = { ok: true; page: Page<LbEvent> } | { ok: false; error: ApiError };

export const load: PageLoad = ({ url }) => {
  // Signed out: the layout sends the browser to /signin; do not ask the API.
  if (!getToken()) return { first: null };
  const sp = url.searchParams;
  const query: Record<string, string | number> = { limit: Number(sp.get('limit')) || DEFAULT_LIMIT };
  for (const k of FILTER_KEYS) if (sp.get(k)) query[k] = sp.get(k)!;
  // Not awaited: the page renders at once and fills the table when this settles (never rejects).
  const first: Promise<FirstPage> = api.get<Page<LbEvent>>('/events', query).then(
    (page) => ({ ok: true as const, page }),
    (e: unknown) => ({ ok: false as const, error: asApiError(e) }),
  );
  return { first };
};
