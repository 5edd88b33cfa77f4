// Live pages without polling every list (docs/architecture.md, "Live pages"): one EventSource per
// tab on GET /api/v1/events/stream, shared by the pages that show events (Jobs, Events, Overview).
// A page hears which events changed and updates those rows, or reloads its one query; it polls
// on a timer only when the stream is refused: a 4xx/5xx answer (EventSource gives up: CLOSED), no
// EventSource in the browser, or a token sign-in (EventSource cannot send an Authorization
// header; the session cookie it does send). A stream the server ends is resumed by the browser
// with Last-Event-ID, so nothing is missed in between.
import { getToken } from './api';
import type { EventChange } from './types';

export interface Watcher {
  /** Events that changed (each once, in its latest state). */
  changes?: (c: EventChange[]) => void;
  /** Reload everything shown: the stream (re)started without its history, or polling is due. */
  reload: () => void;
  /** When polling (the stream refused): how often to reload. */
  pollMs: number;
}

/** off: no stream yet (or again, after a refusal); polling: the stream was refused. */
let mode: 'off' | 'connecting' | 'live' | 'polling' = 'off';
let source: EventSource | null = null;
const watchers = new Map<Watcher, ReturnType<typeof setInterval> | null>();

function poll(w: Watcher) {
  return setInterval(() => {
    if (document.visibilityState === 'visible') w.reload();
  }, w.pollMs);
}

function fallBack() {
  source?.close();
  source = null;
  mode = 'polling';
  for (const [w, t] of watchers) if (t === null) watchers.set(w, poll(w));
}

function connect() {
  if (typeof EventSource === 'undefined' || getToken()) return fallBack();
  mode = 'connecting';
  const es = new EventSource('/api/v1/events/stream');
  source = es;
  let first = true;
  es.addEventListener('hello', (m) => {
    mode = 'live';
    // A new stream starts at "now": what changed between a page's load and this moment is
    // unknown, so the pages reload once. A resumed one (Last-Event-ID) replays what it missed;
    // reset=true says it could not (too far behind, or another database).
    const { reset } = JSON.parse((m as MessageEvent<string>).data) as { reset: boolean };
    if (reset || first) for (const w of watchers.keys()) w.reload();
    first = false;
  });
  es.addEventListener('change', (m) => {
    const list = JSON.parse((m as MessageEvent<string>).data) as EventChange[];
    for (const w of watchers.keys()) w.changes?.(list);
  });
  // CONNECTING after an error: the browser retries by itself (a stream the server ended, a
  // network blip). CLOSED: the server refused it (401, 404, …): poll instead.
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED && source === es) fallBack();
  };
}

/** Follow event changes until the returned function is called (a page's onMount/cleanup). */
export function watchEvents(w: Watcher): () => void {
  // the first watcher after a refusal tries the stream again (the session may have changed)
  if (watchers.size === 0 && mode === 'polling') mode = 'off';
  watchers.set(w, mode === 'polling' ? poll(w) : null);
  if (mode === 'off') connect();
  return () => {
    const t = watchers.get(w);
    if (t) clearInterval(t);
    watchers.delete(w);
  };
}
