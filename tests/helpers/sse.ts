// A Server-Sent Events client for API tests (GET /events/stream): the messages as they arrive,
// parsed as EventSource does (event, id, data lines, retry; comment lines kept apart as heartbeats).
export interface SseMessage {
  event: string;
  id: string | null;
  data: string;
  retry: number | null;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** The body of a refused stream (a JSON error). */
  text: () => Promise<string>;
  /** Every message so far. */
  messages: SseMessage[];
  /** The first message from position `from` on (default: the next unseen one) that `match` accepts; waits for it. */
  next: (match: (m: SseMessage) => boolean, what: string, ms?: number) => Promise<SseMessage>;
  close: () => void;
}

/** `get`: how the request is made (default: the global fetch; an in-process app passes its `request`). */
export async function openSse(
  url: string,
  headers: Record<string, string>,
  get: (url: string, init: RequestInit) => Response | Promise<Response> = fetch,
): Promise<SseStream> {
  const ctl = new AbortController();
  const res = await get(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ctl.signal });
  const messages: SseMessage[] = [];
  let seen = 0;
  let ended: string | null = null;
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };
  if (res.status === 200 && res.body) {
    void (async () => {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut: number;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            const m: SseMessage = { event: 'message', id: null, data: '', retry: null };
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) m.event = m.event === 'message' ? 'comment' : m.event;
              else if (line.startsWith('event: ')) m.event = line.slice(7);
              else if (line.startsWith('id: ')) m.id = line.slice(4);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
              else if (line.startsWith('retry: ')) m.retry = Number(line.slice(7));
            }
            m.data = data.join('\n');
            messages.push(m);
            poke();
          }
        }
        ended = 'the stream ended';
      } catch (e) {
        ended = `the stream failed: ${e}`;
      }
      poke();
    })();
  }
  return {
    status: res.status,
    headers: res.headers,
    text: () => res.text(),
    messages,
    async next(match, what, ms = 30_000) {
      const until = Date.now() + ms;
      for (;;) {
        while (seen < messages.length) {
          const m = messages[seen++];
          if (match(m)) return m;
        }
        if (ended) throw new Error(`${what}: ${ended}; got ${JSON.stringify(messages)}`);
        const left = until - Date.now();
        if (left <= 0) throw new Error(`${what}: not within ${ms} ms; got ${JSON.stringify(messages)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    },
    close: () => ctl.abort(),
  };
}
