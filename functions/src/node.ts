// Node entry: embedded libSQL DB, the API, the built UI, periodic sweeps and the local runner.
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, fstatSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { createApp } from './app.ts';
import { ApiError, isBusy } from './lib/errors.ts';
import type { AppDeps } from './lib/http.ts';
import { ConfigError, configFromEnv, eventRetention, settingsFromEnv } from './config.ts';
import { parseServerArgs, serverUsage } from './settings.ts';
import { DatabaseRefused, openDatabase, shownUrl } from './db/libsql.ts';
import { securityHeaders } from './headers.ts';
import { nodePasswordHasher } from './password-node.ts';
import { seedAdminPassword } from './services/admin-password.ts';
import { backfillRpo } from './services/jobs.ts';
import { createJoinToken } from './services/join-tokens.ts';
import { createSecretBox } from './lib/secrets.ts';
import { sha256Hex } from './lib/tokens.ts';
import { scheduleDueForHeld, sweepExpiredLeases } from './services/queue.ts';
import { applyEventRetention } from './services/event-retention.ts';
import { deliverNotifications, evaluateNotifications, pruneDeliveries, sendersOf } from './services/notifications.ts';
import { sendMail } from './mail.ts';
import { fileSecret } from './secrets-file.ts';
import { secureDataFiles } from './data-dir.ts';
import { allowedHosts, hostAllowed } from './host-check.ts';
import { createWaker } from './waker.ts';
import { createChangeHint } from './change-hint.ts';
import { accessLog, accessLogMode } from './access-log.ts';
import { createLogger, isJournalStream, logSettings, type Logger } from '../../protocol/src/log.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_UI_DIR = join(ROOT, 'frontend/build');
const RUNNER_BIN = join(ROOT, 'node-runner/bin/lifeboat-runner.mjs');

/** The server's log (README, Operations: Logs): on stderr, where systemd's journal or daemon(8) takes it. */
export function serverLogger(env: NodeJS.ProcessEnv): Logger {
  let settings;
  try {
    settings = logSettings(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const journal = isJournalStream(process.env, () => fstatSync(2));
  return createLogger({ source: 'server', ...settings, journal, write: (line) => process.stderr.write(`${line}\n`) });
}

/** `env`: the environment over the config file (settings.ts); `configFile`: the file read, if any. */
export async function main(env = process.env, configFile: string | null = null, logger = serverLogger(env)) {
  const log = logger.info;
  const config = configFromEnv(env);
  const access = accessLogMode(env);
  const host = env.LIFEBOAT_HOST || '127.0.0.1';
  const port = settingsFromEnv(env).LIFEBOAT_PORT;
  if (configFile) log(`settings from ${configFile} (the environment overrides it)`);
  const dataDir = resolve(env.LIFEBOAT_DATA_DIR || './data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const dbUrl = env.LIFEBOAT_DB_URL || `file:${join(dataDir, 'lifeboat.db')}`;
  for (const w of secureDataFiles(dataDir, dbUrl.startsWith('file:') ? resolve(dbUrl.slice(5).split('?')[0]) : null)) logger.warn(w);
  const { db, statements } = await openDatabase(dbUrl, { authToken: env.LIFEBOAT_DB_AUTH_TOKEN || undefined, log });

  const admin = env.LIFEBOAT_ADMIN_TOKEN ? null : fileSecret(dataDir, 'admin-token', 'lba_');
  const adminToken = env.LIFEBOAT_ADMIN_TOKEN || admin!.value;
  const secretKey = env.LIFEBOAT_SECRET_KEY || fileSecret(dataDir, 'secret.key').value;

  const passwords = nodePasswordHasher();
  const deps: AppDeps = {
    db,
    config,
    adminTokenHash: await sha256Hex(adminToken),
    secrets: await createSecretBox(secretKey),
    waker: createWaker(),
    // Event streams wake on this process's writes; the 10 s look catches the rest (lease sweeps).
    changes: createChangeHint(),
    eventStream: { checkMs: 10_000, lifetimeMs: 5 * 60_000 },
    passwords,
    mail: sendMail,
    dbStatements: statements,
    clientAddress: (c) => {
      try {
        return getConnInfo(c).remote.address;
      } catch {
        return undefined;
      }
    },
  };
  const seeded = await seedAdminPassword(db, env.LIFEBOAT_ADMIN_PASSWORD, passwords);
  const api = createApp(deps, {
    // README design notes (one writer per DB file): after SQLITE_BUSY the libsql connection can no longer be trusted; let the supervisor restart us.
    onBusy: (err) => {
      logger.error(`SQLITE_BUSY: exiting so the supervisor restarts a clean process: ${(err as Error)?.stack ?? err}`);
      process.exit(75);
    },
    log: logger.error,
  });

  // LIFEBOAT_UI_DIR: serve a copy of the build (tests do, so a concurrent `npm run build` cannot change it underneath).
  const UI_DIR = resolve(env.LIFEBOAT_UI_DIR || DEFAULT_UI_DIR);
  const index = existsSync(join(UI_DIR, 'index.html')) ? readFileSync(join(UI_DIR, 'index.html'), 'utf8') : null;
  const app = new Hono();
  // first, so that its status is the one the client got (a refused host's 403 included)
  if (access !== 'off') app.use('*', accessLog(logger.child('http'), access));
  app.use('*', await securityHeaders(index));
  const hosts = allowedHosts(env, host, config.publicUrl);
  app.use('*', async (c, next) => {
    if (hostAllowed(c.req.header('host'), hosts)) return next();
    const h = (c.req.header('host') ?? '').slice(0, 100);
    return c.json(
      new ApiError(
        'forbidden',
        `requests for host "${h}" are refused (DNS rebinding); add it to LIFEBOAT_ALLOWED_HOSTS or LIFEBOAT_PUBLIC_URL`,
        { Host: 'is not a name of this server' },
      ).body(),
      403,
    );
  });
  app.route('/', api);
  // an API path no route took: a JSON 404, never the UI's index.html
  app.all('/api/*', (c) => c.json(new ApiError('not_found', `no route ${c.req.method} ${c.req.path}`).body(), 404));
  if (index !== null) {
    const root = relative(process.cwd(), UI_DIR) || '.';
    // Hashed build assets never change under their name: compress them and let browsers keep them.
    app.use('/_app/immutable/*', compress(), async (c, next) => {
      await next();
      if (c.res.status === 200) c.header('Cache-Control', 'public, max-age=31536000, immutable');
    });
    app.use('/*', serveStatic({ root }));
    app.get('*', (c) => c.html(index)); // SPA fallback
  }

  const server = serve({ fetch: app.fetch, hostname: host, port });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const url = config.publicUrl;
  log(`listening on ${url} (database ${shownUrl(dbUrl)})`);
  log(`answering for host names ${[...hosts].join(', ')} (others get 403; LIFEBOAT_ALLOWED_HOSTS sets the list)`);
  // Never the token itself: logs are collected and kept elsewhere. The operator reads the 0600 file.
  if (admin?.created) log(`admin API token created in ${admin.path} (mode 0600); read it from there`);
  else if (admin) log(`admin API token: ${admin.path}`);
  else log('admin API token: from LIFEBOAT_ADMIN_TOKEN');
  if (seeded)
    log('admin password set from LIFEBOAT_ADMIN_PASSWORD (sign in at the web UI; change it there or with POST /api/v1/auth/password)');
  if (!existsSync(UI_DIR)) logger.warn('web UI not built (run `npm run build`); the API is available');

  // Housekeeping: leases every few seconds, retention every ten minutes.
  const housekeepingFailed = (what: string) => (e: unknown) => {
    logger.error(`${what} failed: ${e}`);
    if (isBusy(e)) {
      logger.error('SQLITE_BUSY in housekeeping: exiting so the supervisor restarts a clean process');
      process.exit(75);
    }
  };
  const sweep = setInterval(() => sweepExpiredLeases(db, Date.now()).catch(housekeepingFailed('sweep')), 5_000);
  // Due jobs of the nodes whose claims are held: created in one batch, then those claims poked
  // (claims.ts re-checks rarely when many are held).
  let poking = false;
  const dueWake = setInterval(() => {
    if (poking) return;
    poking = true;
    const waker = deps.waker!;
    scheduleDueForHeld(db, waker, waker.held?.() ?? [], Date.now())
      .catch(housekeepingFailed('due jobs'))
      .finally(() => (poking = false));
  }, 100);
  const retain = () =>
    applyEventRetention(db, Date.now(), eventRetention(config))
      .then(() => pruneDeliveries(db, Date.now(), config.eventsMaxAgeDays))
      .catch(housekeepingFailed('retention'));
  const retention = setInterval(retain, 10 * 60_000);
  void retain();
  void backfillRpo(db, Date.now(), 100_000).catch(housekeepingFailed('RPO backfill'));
  // Notifications: state changes into the outbox, then the due deliveries (README, Notifications).
  let notifying = false;
  const notifyTimer = setInterval(() => {
    if (notifying) return;
    notifying = true;
    evaluateNotifications(db, Date.now(), { nodeSilentMs: config.notifyNodeSilentMs })
      .then(() => deliverNotifications(db, deps.secrets, Date.now(), sendersOf(deps)))
      .catch(housekeepingFailed('notifications'))
      .finally(() => (notifying = false));
  }, config.notifyIntervalMs);

  let runner: ChildProcess | null = null;
  if ((env.LIFEBOAT_LOCAL_RUNNER ?? '1') !== '0') runner = await startLocalRunner(db, dataDir, url, env, logger);

  const stop = () => {
    log('stopping');
    clearInterval(sweep);
    clearInterval(dueWake);
    clearInterval(retention);
    clearInterval(notifyTimer);
    if (runner && runner.exitCode === null) runner.kill('SIGTERM');
    deps.changes!.close(); // open event streams end, so that the close below is not held by them
    server.close();
    setTimeout(() => process.exit(0), 10_000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return { server, stop };
}

/** The standalone install's own node: joined automatically with a join token made here. */
async function startLocalRunner(
  db: Awaited<ReturnType<typeof openDatabase>>['db'],
  dataDir: string,
  url: string,
  env: NodeJS.ProcessEnv,
  logger: Logger,
) {
  const log = logger.info;
  if (!existsSync(RUNNER_BIN)) {
    logger.warn('local runner not available (node-runner missing)');
    return null;
  }
  const stateDir = join(dataDir, 'runner');
  const args = [RUNNER_BIN, '--server', url, '--state-dir', stateDir];
  const joinEnv: Record<string, string> = {};
  if (!existsSync(join(stateDir, 'node.json'))) {
    const { token } = await createJoinToken(db, 10 * 60_000, Date.now());
    args.push('--name', env.LIFEBOAT_NODE_NAME || hostname());
    joinEnv.LIFEBOAT_JOIN_TOKEN = token; // through the environment: argv is visible to every local user
  }
  // The runner gets nothing of the server's secrets (admin token, encryption key, admin password).
  const {
    LIFEBOAT_ADMIN_TOKEN: _a,
    LIFEBOAT_SECRET_KEY: _s,
    LIFEBOAT_ADMIN_PASSWORD: _p,
    LIFEBOAT_DB_AUTH_TOKEN: _d,
    LIFEBOAT_DB_URL: _u,
    ...runnerEnv
  } = env;
  // LIFEBOAT_CONFIG empty: it reads no config file (its settings are the server's, file included,
  // LIFEBOAT_LOG_* too); its log lines go to the server's output, marked `runner`.
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...runnerEnv, ...joinEnv, LIFEBOAT_CONFIG: '' },
  });
  log(`local runner started (pid ${child.pid})`);
  child.on('exit', (code, sig) => (code === 0 ? log : logger.warn)(`local runner exited (${sig ?? code})`));
  return child;
}

/** Exit status: 0 stopped, 1 error, 2 usage or settings (a restart cannot help), 75 SQLITE_BUSY (restart). */
async function entry(argv: string[]): Promise<void> {
  const fail = (err: unknown, env: NodeJS.ProcessEnv = process.env, file: string | null = null, logger: Logger | null = null) => {
    if (!(err instanceof ConfigError)) {
      // a refused database is the operator's to fix: the message says how, a stack trace would bury it
      const msg = err instanceof DatabaseRefused ? err.message : `${(err as Error)?.stack ?? err}`;
      if (logger) logger.error(msg);
      else console.error(msg);
      process.exit(1);
    }
    // a bad value from the file: say which file (the message starts with the variable's name)
    const key = /^LIFEBOAT_[A-Z_]+/.exec(err.message)?.[0];
    const where = file && key && !env[key] ? ` (set in ${file})` : '';
    console.error(`lifeboat-server: ${err.message}${where}\n(lifeboat-server --help lists the options and settings)`);
    process.exit(2);
  };
  let args;
  try {
    args = parseServerArgs(argv, process.env, process.platform);
  } catch (err) {
    return fail(err);
  }
  if (args.kind === 'help') return void console.log(serverUsage(process.platform));
  if (args.kind === 'version') return void console.log(`lifeboat-server ${args.version}`);
  const { env, configFile } = args;
  let logger;
  try {
    logger = serverLogger(env);
  } catch (err) {
    return fail(err, process.env, configFile);
  }
  await main(env, configFile, logger).catch((err) => fail(err, process.env, configFile, logger));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) void entry(process.argv.slice(2));
