// HTTP client for the runner side of the API (node token). Retries transport failures: the server may restart.
import type { RunnerRoutes } from './core/api.ts';
import { RUNNER_PROTOCOL, RUNNER_PROTOCOL_HEADER } from '../../protocol/src/runner-protocol.ts';

export class ApiRequestError extends Error {
  /** The error answer's message (`{ error: { message } }`), when there is one. */
  readonly serverMessage: string | null;
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const m = (body as { error?: { message?: unknown } } | null)?.error?.message;
    const serverMessage = typeof m === 'string' ? m : null;
    super(`HTTP ${status}: ${serverMessage ?? JSON.stringify(body)}`);
    this.serverMessage = serverMessage;
  }
}

export class RunnerClient {
  constructor(
    readonly server: string,
    private token: string | null = null,
  ) {}

  setToken(token: string) {
    this.token = token;
  }

  async post<P extends keyof RunnerRoutes>(
    path: P,
    body: RunnerRoutes[P]['req'],
    opts: { signal?: AbortSignal; retries?: number } = {},
  ): Promise<RunnerRoutes[P]['res']> {
    const retries = opts.retries ?? 5;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.server}/api/v1${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [RUNNER_PROTOCOL_HEADER]: String(RUNNER_PROTOCOL),
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          },
          body: JSON.stringify(body),
          signal: opts.signal,
        });
      } catch (err) {
        if (opts.signal?.aborted || attempt >= retries) throw err;
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
        continue;
      }
      const text = await res.text();
      const data = text ? JSON.parse(text) : null;
      if (res.status >= 500 && attempt < retries) {
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)));
        continue;
      }
      if (!res.ok) throw new ApiRequestError(res.status, data);
      return data as RunnerRoutes[P]['res'];
    }
  }
}
