// Live pages without polling every list (docs/architecture.md, "Live pages"): one event stream per
// tab on GET /api/v1/events/stream, shared by the pages that show events (Jobs, Events, Overview).
// A page hears which events changed and updates those rows, or reloads its one query; it polls on
// a timer only when the stream is refused (a 4xx/5xx answer). The stream is read with fetch, not
// EventSource, so a token sign-in streams too (EventSource cannot send an Authorization header):
// eventsource-parser splits the messages, and this file does what EventSource would otherwise do,
// reconnecting with Last-Event-ID after the server ends a stream, so nothing is missed in between.
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { getToken } from './api';
import type { EventChange } from './types';

export interface Watcher {
  /** Events that changed (each once, in its latest state). */
  changes?: (c: EventChange[]) => void;
  /** Reload everything shown: the stream (re)started without its history, or polling is due. */
  reload: () => void;
  /**
   * A new stream started at change number `cursor` (its first `hello`). Given, the page decides
   * whether what it shows (or is loading) was read at or above it ($lib/change-cursor) and reloads
   * only if not; absent, it reloads.
   */
  started?: (cursor: number) => void;
  /** When polling (the stream refused): how often to reload. */
  pollMs: number;
}

/** off: no stream yet (or again, after a refusal); polling: the stream was refused. */
let mode: 'off' | 'connecting' | 'live' | 'polling' = 'off';
const watchers = new Map<Watcher, ReturnType<typeof setInterval> | null>();
/** Reconnect waits: the server's `retry` after a stream it ended; doubling up to the cap after a network error. */
const RECONNECT = { afterEndMs: 1_000, firstErrorMs: 1_000, maxErrorMs: 30_000 };

function poll(w: Watcher) {
  return setInterval(() => {
    if (document.visibilityState === 'visible') w.reload();
  }, w.pollMs);
}

function fallBack() {
  mode = 'polling';
  for (const [w, t] of watchers) if (t === null) watchers.set(w, poll(w));
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function onMessage(event: string, data: string, first: boolean): void {
  if (event === 'hello') {
    mode = 'live';
    // A new stream starts at "now": what changed between a page's read and this moment is lost
    // unless the page's answer was read at or after this cursor, so the pages reload once, or
    // check their answer's cursor against it (`started`). A resumed one (Last-Event-ID) replays
    // what it missed; reset=true says it could not (too far behind, or another database).
    const { reset, cursor } = JSON.parse(data) as { reset: boolean; cursor: number };
    if (reset) for (const w of watchers.keys()) w.reload();
    else if (first)
      for (const w of watchers.keys()) {
        if (w.started) w.started(cursor);
        else w.reload();
      }
  } else if (event === 'change') {
    const list = JSON.parse(data) as EventChange[];
    for (const w of watchers.keys()) w.changes?.(list);
  }
}

/** Follow the stream until it is refused (then poll); streams the server ends are resumed. */
async function follow(): Promise<void> {
  let lastId: string | null = null;
  let first = true;
  let afterEnd = RECONNECT.afterEndMs;
  let afterError = RECONNECT.firstErrorMs;
  for (;;) {
    mode = 'connecting';
    const headers: Record<string, string> = { Accept: 'text/event-stream' };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (lastId !== null) headers['Last-Event-ID'] = lastId;
    let res: Response;
    try {
      res = await fetch('/api/v1/events/stream', { headers, cache: 'no-store' });
    } catch {
      // the network, not the server: try again, less often each time (as EventSource does)
      await wait(afterError);
      afterError = Math.min(afterError * 2, RECONNECT.maxErrorMs);
      continue;
    }
    if (!res.ok || !res.body) return fallBack(); // refused (401, 404, …): poll instead
    afterError = RECONNECT.firstErrorMs;
    try {
      const messages = res.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream({ onRetry: (ms) => (afterEnd = ms), onId: (id) => (lastId = id) }))
        .getReader();
      for (;;) {
        const { value, done } = await messages.read();
        if (done) break;
        onMessage(value.event ?? 'message', value.data, first);
        if (value.event === 'hello') first = false;
      }
    } catch {
      // cut mid-stream: resume like a stream the server ended
    }
    await wait(afterEnd);
  }
}

/** Follow event changes until the returned function is called (a page's onMount/cleanup). */
export function watchEvents(w: Watcher): () => void {
  // the first watcher after a refusal tries the stream again (the session may have changed)
  if (watchers.size === 0 && mode === 'polling') mode = 'off';
  watchers.set(w, mode === 'polling' ? poll(w) : null);
  if (mode === 'off') {
    if (typeof ReadableStream === 'undefined' || typeof TextDecoderStream === 'undefined') fallBack();
    else void follow();
  }
  return () => {
    const t = watchers.get(w);
    if (t) clearInterval(t);
    watchers.delete(w);
  };
}
