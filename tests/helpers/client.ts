// What every test server handle (the Node entry, the fault fixture's, workerd's) does the same way:
// the admin's API calls, and waiting for a condition or an event to end.
import type { ApiCall, BodyOf, LbEvent } from './api.ts';

/** Admin API calls to the server at `url` (its `/api/v1`), with the bearer token `token()` gives. */
export function adminApi(url: string, token: () => string): ApiCall {
  return async <T, M extends string, P extends string>(method: M, path: P, body?: unknown) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as BodyOf<T, M, P> };
  };
}

export interface PollOptions {
  ms?: number;
  everyMs?: number;
  /** Checked before each try: a reason to stop at once (the server process exited). */
  gone?: () => string | null;
  /** Added to the timeout's message (the server's output). */
  context?: () => string;
}

/** Calls `f` until it gives a truthy value (an error counts as not yet) or `ms` pass. */
export async function poll<T>(what: string, f: () => Promise<T | null | undefined | false>, o: PollOptions = {}): Promise<T> {
  const deadline = Date.now() + (o.ms ?? 60_000);
  let last: unknown;
  while (Date.now() < deadline) {
    const gone = o.gone?.();
    if (gone) throw new Error(`${gone} while waiting for ${what}${o.context ? `:\n${o.context()}` : ''}`);
    try {
      const v = await f();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, o.everyMs ?? 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (${last})` : ''}${o.context ? `\n${o.context()}` : ''}`);
}

/** Waits for event `id` to end (neither queued nor running), through `api` and `waitFor`. */
export function eventWaiter(
  api: ApiCall,
  waitFor: <T>(what: string, f: () => Promise<T | null | undefined | false>, ms?: number) => Promise<T>,
) {
  return (id: number, ms = 120_000): Promise<LbEvent> =>
    waitFor(
      `event ${id} to finish`,
      async () => {
        const e = (await api('GET', `/events/${id}`)).body;
        return e && !['queued', 'running'].includes(e.status) ? e : null;
      },
      ms,
    );
}
