// The only way the UI talks to the control plane: fetch /api/v1, either with a token
// (Authorization: Bearer, kept in this tab's sessionStorage) or with the session cookie of a password
// sign-in (no Authorization header; writes carry X-CSRF-Token, held in memory only).
import { fieldSentence } from './error-text';
import { goto } from '$app/navigation';
import { applySession, dropSession, session, type SessionInfo } from './session.svelte';

const TOKEN_KEY = 'lifeboat.adminToken';
const BASE = '/api/v1';

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}
export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}
export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An error answer `{ error: { code, message, fields } }`, or a transport failure (status 0). */
export class ApiError extends Error {
  status: number;
  code: string;
  fields: Record<string, string>;
  activeEventId: string | number | null;
  /** Seconds from a Retry-After header (429), else null. */
  retryAfter: number | null = null;
  constructor(status: number, body: unknown) {
    const err = (body as { error?: Record<string, unknown> } | null)?.error ?? {};
    super(typeof err.message === 'string' && err.message ? err.message : `Request failed (HTTP ${status})`);
    this.status = status;
    this.code = typeof err.code === 'string' ? err.code : `http_${status}`;
    const fields = err.fields && typeof err.fields === 'object' ? (err.fields as Record<string, unknown>) : {};
    this.fields = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)]));
    const active = err.activeEventId ?? (body as Record<string, unknown> | null)?.activeEventId;
    this.activeEventId = typeof active === 'string' || typeof active === 'number' ? active : null;
  }
}

/**
 * The message for one field, made a sentence when the server sends a fragment
 * ("is required" → "Name is required"), else with a capital first letter.
 */
export function fieldMessage(err: ApiError | null, key: string, label: string): string | null {
  const m = err?.fields?.[key];
  return m ? fieldSentence(label, m) : null;
}

/** Normalises anything thrown into an ApiError so pages can show `message` and `fields`. */
export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  return new ApiError(0, { error: { code: 'network', message: e instanceof Error ? e.message : String(e) } });
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);
const CSRF = 'X-CSRF-Token';

/** Asks the server who we are (never 401) and remembers it; with `token` it reports that token. */
export async function refreshSession(token: string | null = getToken()): Promise<SessionInfo | null> {
  try {
    const info = await request<SessionInfo>('GET', '/auth/session', undefined, {}, token, false);
    applySession(info);
    return info;
  } catch {
    applySession(null);
    return null;
  }
}

/** After a 401: sign in again. `expired`: this tab had a token or a session (not a first visit). */
function toSignin(expired: boolean) {
  clearToken();
  dropSession();
  if (!location.pathname.startsWith('/signin')) {
    const next = location.pathname + location.search;
    void goto(`/signin?next=${encodeURIComponent(next)}${expired ? '&expired=1' : ''}`);
  }
}

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  token: string | null = getToken(),
  retryCsrf = true,
  /** This very request, already sent (app.html starts the Overview's first read before this code loads). */
  sent?: Promise<Response>,
): Promise<T> {
  const h: Record<string, string> = { Accept: 'application/json', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  else if (session.csrfToken && !SAFE.has(method)) h[CSRF] = session.csrfToken;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await (sent ?? fetch(BASE + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) }));
  } catch (e) {
    throw asApiError(new Error(`Cannot reach the server: ${e instanceof Error ? e.message : e}`));
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { error: { code: `http_${res.status}`, message: text.slice(0, 500) } };
    }
  }
  // (a page's first requests go out beside the session probe, before anyone knows whether there is a session)
  if (res.status === 401) toSignin(!!token || session.authenticated);
  if (res.status === 403 && !token && retryCsrf && new ApiError(403, data).fields[CSRF] !== undefined) {
    // The CSRF token went stale (e.g. another tab signed in again): read it again once and retry.
    const info = await refreshSession(null);
    if (info?.authenticated && info.method === 'session') return request<T>(method, path, body, headers, null, false);
    toSignin(true);
  }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    const retry = Number(res.headers.get('Retry-After'));
    if (Number.isFinite(retry) && retry > 0) err.retryAfter = Math.ceil(retry);
    throw err;
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>('GET', withQuery(path, query)),
  post: <T>(path: string, body: unknown = {}, headers?: Record<string, string>) => request<T>('POST', path, body, headers),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  del: <T>(path: string) => request<T>('DELETE', path),
};

/** Items of a list answer; tolerates a bare array. */
export function items<T>(res: { items: T[] } | T[]): T[] {
  return Array.isArray(res) ? res : (res?.items ?? []);
}

/** A random UUID, also on plain-HTTP origins where crypto.randomUUID is missing. */
export function uuid(): string {
  if (typeof crypto.randomUUID === 'function' && isSecureContext) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
