// The log line in both formats, the folding onto one line, the settings and the level filter.
import { describe, expect, it } from 'vitest';
import { createLogger, formatLogLine, isJournalStream, logSettings, oneLine, type LogRecord } from './log.ts';

const ts = new Date('2026-12-01T04:05:17.123Z');

describe('formatLogLine', () => {
  it.each<[string, LogRecord, string, string]>([
    [
      'info, no event',
      { ts, level: 'info', source: 'server', msg: 'listening on http://127.0.0.1:8480' },
      '2026-12-01T04:05:17.123Z INFO  server listening on http://127.0.0.1:8480',
      '{"ts":"2026-12-01T04:05:17.123Z","level":"info","source":"server","msg":"listening on http://127.0.0.1:8480"}',
    ],
    [
      'warn with an event id',
      { ts, level: 'warn', source: 'runner', msg: 'could not report the result', fields: { event: 42 } },
      '2026-12-01T04:05:17.123Z WARN  runner event=42 could not report the result',
      '{"ts":"2026-12-01T04:05:17.123Z","level":"warn","source":"runner","event":42,"msg":"could not report the result"}',
    ],
    [
      'a stack trace stays on one line',
      { ts, level: 'error', source: 'server', msg: 'Error: boom\n    at f (x.ts:1:2)\r\n' },
      '2026-12-01T04:05:17.123Z ERROR server Error: boom\\n    at f (x.ts:1:2)\\r\\n',
      '{"ts":"2026-12-01T04:05:17.123Z","level":"error","source":"server","msg":"Error: boom\\n    at f (x.ts:1:2)\\r\\n"}',
    ],
    [
      'other fields: JSON only',
      { ts, level: 'info', source: 'http', msg: 'GET /api/v1/nodes 200 3 ms', fields: { method: 'GET', status: 200, ms: 3 } },
      '2026-12-01T04:05:17.123Z INFO  http GET /api/v1/nodes 200 3 ms',
      '{"ts":"2026-12-01T04:05:17.123Z","level":"info","source":"http","msg":"GET /api/v1/nodes 200 3 ms","method":"GET","status":200,"ms":3}',
    ],
  ])('%s', (_, rec, text, json) => {
    expect(formatLogLine(rec, 'text')).toBe(text);
    expect(formatLogLine(rec, 'json')).toBe(json);
    expect(formatLogLine(rec, 'json')).not.toMatch(/\n/);
    expect(JSON.parse(formatLogLine(rec, 'json')).msg).toBe(rec.msg);
  });
});

describe('oneLine', () => {
  it.each([
    ['plain', 'plain'],
    ['a\nb', 'a\\nb'],
    ['tab\tkept', 'tab\tkept'],
    ['escape \u001b[31m', 'escape \\x1b[31m'],
    ['del \u007f nul \u0000', 'del \\x7f nul \\x00'],
    ['line separator \u2028', 'line separator \\u2028'],
  ])('%j', (s, want) => expect(oneLine(s)).toBe(want));
});

describe('logSettings', () => {
  it.each<[Record<string, string>, unknown]>([
    [{}, { level: 'info', format: 'text' }],
    [
      { LIFEBOAT_LOG_LEVEL: '', LIFEBOAT_LOG_FORMAT: '' },
      { level: 'info', format: 'text' },
    ],
    [
      { LIFEBOAT_LOG_LEVEL: 'debug', LIFEBOAT_LOG_FORMAT: 'json' },
      { level: 'debug', format: 'json' },
    ],
    [{ LIFEBOAT_LOG_LEVEL: 'WARN' }, { level: 'warn', format: 'text' }],
  ])('%j', (env, want) => expect(logSettings(env)).toEqual(want));

  it.each([
    [{ LIFEBOAT_LOG_LEVEL: 'verbose' }, 'LIFEBOAT_LOG_LEVEL must be one of debug, info, warn, error, got "verbose"'],
    [{ LIFEBOAT_LOG_FORMAT: 'logfmt' }, 'LIFEBOAT_LOG_FORMAT must be one of text, json, got "logfmt"'],
  ])('%j is refused', (env, msg) => expect(() => logSettings(env)).toThrow(msg));
});

describe('createLogger', () => {
  it.each([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
  ] as const)('level %s writes %j', (level, want) => {
    const lines: string[] = [];
    const log = createLogger({ source: 'runner', level, format: 'json', write: (l) => lines.push(l), now: () => ts });
    for (const l of ['debug', 'info', 'warn', 'error'] as const) log[l](`a ${l} line`);
    expect(lines.map((l) => JSON.parse(l).level)).toEqual(want);
  });

  it('a child writes under its own source name with the same settings', () => {
    const lines: string[] = [];
    const log = createLogger({ source: 'server', level: 'warn', format: 'text', write: (l) => lines.push(l), now: () => ts });
    log.child('http').info('dropped');
    log.child('http').warn('kept', { event: 7 });
    expect(lines).toEqual(['2026-12-01T04:05:17.123Z WARN  http event=7 kept']);
  });
});

describe('the journal', () => {
  it.each([
    ['no JOURNAL_STREAM', {}, { dev: 20, ino: 7 }, false],
    ['stderr is that stream', { JOURNAL_STREAM: '20:7' }, { dev: 20, ino: 7 }, true],
    ['stderr redirected elsewhere (a pipe, a file)', { JOURNAL_STREAM: '20:7' }, { dev: 20, ino: 8 }, false],
    ['bigint stat', { JOURNAL_STREAM: '20:7' }, { dev: 20n, ino: 7n }, true],
    ['no stderr (fstat throws)', { JOURNAL_STREAM: '20:7' }, null, false],
  ] as const)('%s', (_, env, stat, want) =>
    expect(
      isJournalStream(env, () => {
        if (!stat) throw new Error('EBADF');
        return stat;
      }),
    ).toBe(want),
  );

  it('each line starts with its syslog priority, in both formats', () => {
    const lines: string[] = [];
    for (const format of ['text', 'json'] as const) {
      const log = createLogger({ source: 'server', level: 'debug', format, write: (l) => lines.push(l), now: () => ts, journal: true });
      log.debug('d');
      log.info('i');
      log.warn('w');
      log.error('e');
    }
    expect(lines.map((l) => l.slice(0, 4))).toEqual(['<7>2', '<6>2', '<4>2', '<3>2', '<7>{', '<6>{', '<4>{', '<3>{']);
    expect(lines[2]).toBe('<4>2026-12-01T04:05:17.123Z WARN  server w');
  });
});
