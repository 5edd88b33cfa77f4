// The logs an operator reads (README, Operations: Logs): the server's and the runner's lines in both
// formats, the level filter, the HTTP access log, and event log rows that keep their level. The
// formatting itself is table-tested in protocol/src/log.test.ts and functions/src/access-log.test.ts.
// No ZFS here: the server runs without a local runner and the runner only tries to join. Both run
// as production runs them, from their bundles (npm run build:js first).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServer, type TestServer } from '../helpers/server.ts';
import { joinNode, makeJob, makeTarget, startControl } from '../helpers/control.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** text: `<ISO 8601 UTC> <LEVEL> <source> [event=N ]message` */
const TEXT = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (DEBUG|INFO |WARN |ERROR) (server|http|runner) (.*)$/;
const linesOf = (out: string) => out.split('\n').filter((l) => l !== '');
const json = (out: string) => linesOf(out).map((l) => JSON.parse(l) as Record<string, unknown>);

let srv: TestServer | null = null;
afterEach(async () => {
  await srv?.stop();
  srv = null;
});

/** The server until it stopped, and everything it wrote. */
async function serverOutput(env: Record<string, string>, requests: (s: TestServer) => Promise<void> = async () => {}) {
  srv = await startServer({ LIFEBOAT_LOCAL_RUNNER: '0', ...env }, { bundle: true });
  await requests(srv);
  await srv.stop();
  const out = srv.output();
  srv = null;
  return out;
}

describe('server log', () => {
  it('text: every line a timestamp, a level and its source; the access log without query strings nor /health', async () => {
    let admin = '';
    const out = await serverOutput({ LIFEBOAT_ACCESS_LOG: 'on', LIFEBOAT_UI_DIR: join(dir, 'no-ui') }, async (s) => {
      admin = s.admin;
      expect(
        (await fetch(`${s.url}/api/v1/nodes?token=lba_query_secret`, { headers: { authorization: `Bearer ${s.admin}` } })).status,
      ).toBe(200);
      expect((await fetch(`${s.url}/api/v1/health?probe=1`)).status).toBe(200);
      expect((await fetch(`${s.url}/api/v1/jobs`)).status).toBe(401);
    });
    const lines = linesOf(out);
    for (const l of lines) {
      expect(l, l).toMatch(TEXT);
      expect(TEXT.exec(l)![1]).toMatch(ISO);
    }
    expect(lines.some((l) => / INFO {2}server listening on http:\/\/127\.0\.0\.1:\d+ /.test(l))).toBe(true);
    expect(lines.some((l) => / WARN {2}server web UI not built/.test(l))).toBe(true); // a warning is a WARN line, not "warning:"
    expect(lines.filter((l) => / http /.test(l)).map((l) => TEXT.exec(l)![4].replace(/ \d+ ms$/, ' N ms'))).toEqual([
      'GET /api/v1/nodes 200 N ms',
      'GET /api/v1/jobs 401 N ms',
    ]);
    expect(out).not.toContain('lba_query_secret');
    expect(admin).not.toBe('');
    expect(out).not.toContain(admin);
  });

  it('json: one object per line; LIFEBOAT_ACCESS_LOG=all logs the health checks too', async () => {
    const out = await serverOutput({ LIFEBOAT_LOG_FORMAT: 'json', LIFEBOAT_ACCESS_LOG: 'all' }, async (s) => {
      await fetch(`${s.url}/api/v1/nodes`, { headers: { authorization: `Bearer ${s.admin}` } });
    });
    const recs = json(out);
    for (const r of recs) {
      expect(r.ts).toMatch(ISO);
      expect(['debug', 'info', 'warn', 'error']).toContain(r.level);
      expect(typeof r.msg).toBe('string');
    }
    expect(recs.find((r) => /^listening on /.test(r.msg as string))).toMatchObject({ level: 'info', source: 'server' });
    expect(recs.find((r) => r.source === 'http' && r.path === '/api/v1/nodes')).toMatchObject({
      level: 'info',
      method: 'GET',
      status: 200,
      ms: expect.any(Number),
      msg: expect.stringMatching(/^GET \/api\/v1\/nodes 200 \d+ ms$/),
    });
    // startServer waits for the health check before anything else
    expect(recs.find((r) => r.source === 'http' && r.path === '/api/v1/health')).toMatchObject({ status: 200 });
  });

  it('LIFEBOAT_LOG_LEVEL=warn: warnings and errors only; the access log (info) is off with it', async () => {
    const out = await serverOutput(
      { LIFEBOAT_LOG_LEVEL: 'warn', LIFEBOAT_ACCESS_LOG: 'on', LIFEBOAT_UI_DIR: join(dir, 'no-ui') },
      async (s) => {
        await fetch(`${s.url}/api/v1/jobs`);
      },
    );
    const lines = linesOf(out);
    expect(lines.map((l) => TEXT.exec(l)?.[2])).toEqual(['WARN ']);
    expect(lines[0]).toMatch(/web UI not built/);
  });

  it('a bad LIFEBOAT_LOG_LEVEL, LIFEBOAT_LOG_FORMAT or LIFEBOAT_ACCESS_LOG: exit 2 naming it', () => {
    for (const [k, v, allowed] of [
      ['LIFEBOAT_LOG_LEVEL', 'verbose', 'debug, info, warn, error'],
      ['LIFEBOAT_LOG_FORMAT', 'xml', 'text, json'],
      ['LIFEBOAT_ACCESS_LOG', 'yes', 'off, on, all'],
    ]) {
      const r = spawnSync(process.execPath, [join(ROOT, 'functions/dist/lifeboat-server.mjs')], {
        cwd: ROOT,
        env: {
          ...process.env,
          LIFEBOAT_CONFIG: '',
          LIFEBOAT_DATA_DIR: join(dir, 'bad'),
          LIFEBOAT_LOCAL_RUNNER: '0',
          LIFEBOAT_PORT: '0',
          [k]: v,
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`lifeboat-server: ${k} must be one of ${allowed}, got "${v}"`);
    }
  }, 60_000);
});

describe('runner log', () => {
  /** A runner that reads a config file and fails to join (nothing listens on the port): an info and an error line. */
  const runner = async (env: Record<string, string>, conf = 'LIFEBOAT_RUNNER_CONCURRENCY=1\n') => {
    const file = join(dir, `runner-${Math.random().toString(36).slice(2)}.conf`);
    writeFileSync(file, conf);
    const port = await freePort();
    return spawnSync(
      process.execPath,
      [
        join(ROOT, 'node-runner/dist/lifeboat-runner.mjs'),
        '--server',
        `http://127.0.0.1:${port}`,
        '--state-dir',
        join(dir, `state-${port}`),
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, LIFEBOAT_CONFIG: file, LIFEBOAT_JOIN_TOKEN: 'lbj_log_secret_1234', ...env },
        timeout: 30_000,
      },
    );
  };

  it('text: a timestamp, a level and "runner" on every line; the join token never', async () => {
    const r = await runner({});
    expect(r.status).toBe(1);
    expect(r.stdout).toBe(''); // stdout is for --help and --version
    const lines = linesOf(r.stderr);
    for (const l of lines) expect(l, l).toMatch(TEXT);
    expect(lines.some((l) => / INFO {2}runner settings from \S+runner-\w+\.conf /.test(l))).toBe(true);
    expect(lines.some((l) => / ERROR runner join failed: /.test(l))).toBe(true);
    expect(r.stderr).not.toContain('lbj_log_secret_1234');
  }, 60_000);

  it('json, from the config file; LIFEBOAT_LOG_LEVEL=error from the environment leaves the error alone', async () => {
    const all = await runner({}, 'LIFEBOAT_LOG_FORMAT=json\n');
    const recs = json(all.stderr);
    for (const rec of recs) expect(rec).toMatchObject({ ts: expect.stringMatching(ISO), source: 'runner', msg: expect.any(String) });
    expect(recs.map((rec) => rec.level)).toEqual(expect.arrayContaining(['info', 'error']));
    const errorsOnly = await runner({ LIFEBOAT_LOG_LEVEL: 'error' }, 'LIFEBOAT_LOG_FORMAT=json\n');
    expect(json(errorsOnly.stderr).map((rec) => [rec.level, rec.msg])).toEqual([['error', expect.stringMatching(/^join failed: /)]]);
  }, 60_000);

  it("stderr to systemd's journal (JOURNAL_STREAM names it): each line starts with its syslog priority; elsewhere not", async () => {
    const port = await freePort();
    const run = (journalOf: (st: { dev: number; ino: number }) => string) => {
      const file = join(dir, `stderr-${Math.random().toString(36).slice(2)}`);
      const fd = openSync(file, 'w');
      try {
        const r = spawnSync(
          process.execPath,
          [join(ROOT, 'node-runner/dist/lifeboat-runner.mjs'), '--server', `http://127.0.0.1:${port}`, '--state-dir', join(dir, 'journal')],
          {
            stdio: ['ignore', 'ignore', fd],
            env: { ...process.env, LIFEBOAT_CONFIG: '', LIFEBOAT_JOIN_TOKEN: 'lbj_x', JOURNAL_STREAM: journalOf(fstatSync(fd)) },
            timeout: 30_000,
          },
        );
        expect(r.status).toBe(1);
      } finally {
        closeSync(fd);
      }
      return linesOf(readFileSync(file, 'utf8'));
    };
    const journal = run((st) => `${st.dev}:${st.ino}`);
    expect(journal.length).toBeGreaterThan(0);
    for (const l of journal) expect(l).toMatch(/^<[3467]>\d{4}-/);
    expect(journal.find((l) => / ERROR runner join failed/.test(l))).toMatch(/^<3>/);
    // JOURNAL_STREAM inherited, but stderr is another file: plain lines
    for (const l of run((st) => `${st.dev}:${st.ino + 1}`)) expect(l).toMatch(TEXT);
  }, 60_000);

  it('a bad value in the config file: exit 2 naming the variable and the file', async () => {
    const r = await runner({}, 'LIFEBOAT_LOG_FORMAT=xml\n');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^lifeboat-runner: LIFEBOAT_LOG_FORMAT in \S+runner-\w+\.conf must be one of text, json, got "xml"$/m);
  }, 60_000);
});

describe('event log', () => {
  it('a warning the runner reports is stored and served as level warn, an error as error', async () => {
    const ctl = await startControl();
    try {
      const n = await joinNode(ctl, 'n1');
      const job = await makeJob(ctl, (await makeTarget(ctl)).id);
      const run = await ctl.api('POST', `/jobs/${job.id}/run`);
      await ctl.node(n.token, '/runner/claim', { max: 1, waitMs: 0 });
      const id = run.body.eventId;
      const ts = new Date().toISOString();
      expect(
        (
          await ctl.node(n.token, `/runner/events/${id}/progress`, {
            log: [
              { ts, level: 'info', message: 'sending tank/data' },
              { ts, level: 'warn', message: 'moving the hold lifeboat-j1 to tank/data@x on the target failed' },
            ],
          })
        ).status,
      ).toBe(200);
      const fin = await ctl.node(n.token, `/runner/events/${id}/finish`, {
        status: 'failed',
        error: 'boom',
        errorClass: 'internal',
        log: [{ ts, level: 'error', message: 'vm web did not start again' }],
      });
      expect(fin.status).toBe(200);
      const items = (await ctl.api('GET', `/events/${id}/log`)).body.items;
      expect(items.map((l) => [l.level, l.message])).toEqual([
        ['info', 'sending tank/data'],
        ['warn', 'moving the hold lifeboat-j1 to tank/data@x on the target failed'],
        ['error', 'vm web did not start again'],
        ['error', 'failed: boom'], // the final error, written by the server
      ]);
      // a level the contract does not know is refused, naming the field
      const bad = await ctl.node(n.token, `/runner/events/${id}/progress`, { log: [{ level: 'warning', message: 'x' }] });
      expect(bad.status).toBeGreaterThanOrEqual(400);
      expect(bad.status).toBeLessThan(500);
    } finally {
      ctl.close();
    }
  });
});
