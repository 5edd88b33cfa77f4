// The log lines of the server and the runner (README, Operations: Logs): one line per message with
// an ISO 8601 UTC timestamp, a level, the part that wrote it and the event id where there is one;
// text for people, JSON for collectors. Pure apart from the `write` and `now` each side passes in:
// the runner bundles nothing but zod/mini, so no logging library.
import * as z from 'zod/mini';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Extra fields of a line; `event` is shown in both formats, the others in JSON only. */
export type LogFields = { event?: number } & Record<string, string | number | boolean | null | undefined>;

export interface LogRecord {
  ts: Date;
  level: LogLevel;
  /** What wrote it: `server`, `http` (the access log), `runner`. */
  source: string;
  msg: string;
  fields?: LogFields;
}

/**
 * A message on one line: line breaks and other control characters become escapes (`\n`, `\x1b`),
 * so a stack trace or a hostile request path can neither split a line nor forge the next one.
 */
export function oneLine(s: string): string {
  return s.replace(/[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/**
 * text: `2026-12-01T04:05:17.123Z WARN  runner event=42 the message`;
 * json: `{"ts":"…","level":"warn","source":"runner","event":42,"msg":"the message",…fields}`.
 */
export function formatLogLine(r: LogRecord, format: LogFormat): string {
  const event = r.fields?.event;
  if (format === 'json') {
    // JSON.stringify escapes line breaks and control characters itself
    const { event: _e, ...rest } = r.fields ?? {};
    return JSON.stringify({ ts: r.ts.toISOString(), level: r.level, source: r.source, event, msg: r.msg, ...rest });
  }
  const ev = event === undefined ? '' : `event=${event} `;
  return `${r.ts.toISOString()} ${r.level.toUpperCase().padEnd(5)} ${r.source} ${ev}${oneLine(r.msg)}`;
}

/**
 * LIFEBOAT_LOG_LEVEL and LIFEBOAT_LOG_FORMAT, checked with zod as the other settings are (any case;
 * unset or empty: the default); a bad value throws, naming the variable.
 */
export function logSettings(env: Record<string, string | undefined>): { level: LogLevel; format: LogFormat } {
  const pick = <T extends string>(name: string, allowed: readonly [T, ...T[]], dflt: T): T => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const r = z.safeParse(z.enum(allowed), v.toLowerCase());
    if (!r.success) throw new Error(`${name} must be one of ${allowed.join(', ')}, got "${v.slice(0, 40)}"`);
    return r.data as T;
  };
  return { level: pick('LIFEBOAT_LOG_LEVEL', LOG_LEVELS, 'info'), format: pick('LIFEBOAT_LOG_FORMAT', LOG_FORMATS, 'text') };
}

/** The syslog priority of each level: a line to the journal starts with `<N>` so journald files it under it. */
const PRIORITY: Record<LogLevel, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/**
 * Whether stderr is systemd's journal: systemd sets JOURNAL_STREAM to the `device:inode` of the
 * stream it connected, so a stderr redirected elsewhere (a pipe, a file) does not match.
 */
export function isJournalStream(
  env: Record<string, string | undefined>,
  statStderr: () => { dev: number | bigint; ino: number | bigint },
): boolean {
  if (!env.JOURNAL_STREAM) return false;
  try {
    const st = statStderr();
    return env.JOURNAL_STREAM === `${st.dev}:${st.ino}`;
  } catch {
    return false; // no stderr at all
  }
}

export type LogFn = (msg: string, fields?: LogFields) => void;
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** The same settings and output under another source name (the server's access log: `http`). */
  child(source: string): Logger;
}

export interface LoggerOptions {
  source: string;
  level: LogLevel;
  format: LogFormat;
  /** One finished line, without its newline. */
  write: (line: string) => void;
  now?: () => Date;
  /** Lines go to the journal (isJournalStream): each starts with its priority, `<4>`, which journald removes. */
  journal?: boolean;
}

/** Lines below `level` are dropped before they are formatted. */
export function createLogger(o: LoggerOptions): Logger {
  const min = LOG_LEVELS.indexOf(o.level);
  const now = o.now ?? (() => new Date());
  const at =
    (level: LogLevel): LogFn =>
    (msg, fields) => {
      if (LOG_LEVELS.indexOf(level) < min) return;
      const line = formatLogLine({ ts: now(), level, source: o.source, msg, fields }, o.format);
      o.write(o.journal ? `<${PRIORITY[level]}>${line}` : line);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (source) => createLogger({ ...o, source }),
  };
}
