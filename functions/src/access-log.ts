// The Node server's HTTP access log (README, Operations: Logs): one line per request with the
// method, the path without its query string, the status and the duration, through the logger.
// Hono's logger middleware writes two lines per request in its own format, hence these few lines.
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { LogFields, Logger } from '../../protocol/src/log.ts';
import { ConfigError } from './config.ts';

/** off (default): no access log; on: every request but the health check; all: the health check too. */
export type AccessLogMode = 'off' | 'on' | 'all';
const MODES = z.enum(['off', 'on', 'all']);
const HEALTH = '/api/v1/health';
/** Longer paths are cut: a request cannot make a log line arbitrarily long. */
const MAX_PATH = 300;

/** LIFEBOAT_ACCESS_LOG, checked with zod as the other settings are (config.ts); any case, empty: off. */
export function accessLogMode(env: Record<string, string | undefined>): AccessLogMode {
  const v = env.LIFEBOAT_ACCESS_LOG ?? '';
  const r = MODES.safeParse(v === '' ? 'off' : v.toLowerCase());
  if (!r.success) throw new ConfigError(`LIFEBOAT_ACCESS_LOG must be one of ${MODES.options.join(', ')}, got "${v.slice(0, 40)}"`);
  return r.data;
}

/**
 * The path as the client sent it (still percent-encoded), without the query string or fragment:
 * a token in a query never reaches the log.
 */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return '/';
  const end = url.slice(start).search(/[?#]/);
  const path = end < 0 ? url.slice(start) : url.slice(start, start + end);
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path;
}

/** The line of one request, or null when `mode` leaves it out. */
export function accessLine(
  mode: AccessLogMode,
  method: string,
  url: string,
  status: number,
  ms: number,
): { msg: string; fields: LogFields } | null {
  if (mode === 'off') return null;
  const path = pathOf(url);
  if (mode === 'on' && path === HEALTH) return null;
  const m = method.slice(0, 16);
  const duration = Math.round(ms);
  return { msg: `${m} ${path} ${status} ${duration} ms`, fields: { method: m, path, status, ms: duration } };
}

export function accessLog(log: Logger, mode: AccessLogMode): MiddlewareHandler {
  return async (c, next) => {
    const t0 = performance.now();
    try {
      await next();
    } finally {
      const line = accessLine(mode, c.req.method, c.req.url, c.res.status, performance.now() - t0);
      if (line) log.info(line.msg, line.fields);
    }
  };
}
