// The server's settings, one table: `npm start -- --help` and `lifeboat-server --help` print it and
// server.conf takes exactly these keys (functions/src/settings.ts). Plain JavaScript so that
// scripts/start.mjs can print it before anything is built. [variable, meaning, default]

export const SERVER_SETTINGS = [
  ['LIFEBOAT_DATA_DIR', 'data directory (DB, generated secrets)', './data'],
  ['LIFEBOAT_DB_URL', 'libSQL URL', 'file:<data dir>/lifeboat.db'],
  ['LIFEBOAT_DB_AUTH_TOKEN', 'auth token of a remote libSQL database', '-'],
  ['LIFEBOAT_HOST', 'listen address', '127.0.0.1'],
  ['LIFEBOAT_PORT', 'listen port', '8480'],
  ['LIFEBOAT_PUBLIC_URL', 'URL shown in join commands and webhook URLs', 'http://<host>:<port>'],
  ['LIFEBOAT_ALLOWED_HOSTS', 'host names answered (others: 403)', 'listen, loopback, public URL host'],
  ['LIFEBOAT_ADMIN_TOKEN', 'admin API token', 'generated into <data dir>/admin-token'],
  ['LIFEBOAT_SECRET_KEY', 'key for secrets at rest', 'generated into <data dir>/secret.key'],
  ['LIFEBOAT_ADMIN_PASSWORD', 'first admin password (while none is set)', '-'],
  ['LIFEBOAT_TZ', 'default time zone of new schedules', 'UTC'],
  ['LIFEBOAT_UI_DIR', 'the built web UI', 'frontend/build'],
  ['LIFEBOAT_EVENTS_KEEP_PER_JOB', 'newest events kept of each job', '200'],
  ['LIFEBOAT_EVENTS_KEEP_FAILED_DAYS', 'failures kept this long beyond that', '30'],
  ['LIFEBOAT_EVENTS_MAX_AGE_DAYS', 'completed events kept this long', '90'],
  ['LIFEBOAT_EVENTS_MAX_ROWS', 'completed events kept at most (safety net)', '1000000'],
  ['LIFEBOAT_CLAIM_WAIT_MS', "a runner's claim is held this long", '25000'],
  ['LIFEBOAT_CLAIM_RECHECK_MS', 'a held claim re-checks the DB this often', '100'],
  ['LIFEBOAT_LEASE_MS', "a silent runner's event becomes interrupted", '30000'],
  ['LIFEBOAT_JOIN_TOKEN_TTL_MS', 'lifetime of join tokens', '3600000'],
  ['LIFEBOAT_SESSION_TTL_HOURS', 'lifetime of a browser sign-in', '12'],
  ['LIFEBOAT_LOGIN_MAX_FAILURES', 'failed sign-ins per client per window', '5'],
  ['LIFEBOAT_LOGIN_WINDOW_MINUTES', 'that window', '15'],
  ['LIFEBOAT_TRUST_PROXY', '1: trust X-Forwarded-* from a reverse proxy', 'off'],
  ['LIFEBOAT_NOTIFY_NODE_SILENT_MINUTES', 'notify when a node is silent this long', '10'],
  ['LIFEBOAT_NOTIFY_INTERVAL_SECONDS', 'how often notifications are evaluated and sent', '30'],
  ['LIFEBOAT_LOG_LEVEL', 'lowest level logged: debug, info, warn, error (runner too)', 'info'],
  ['LIFEBOAT_LOG_FORMAT', 'log lines: text or json (runner too)', 'text'],
  ['LIFEBOAT_ACCESS_LOG', 'HTTP access log: off, on (all but /api/v1/health), all', 'off'],
];

/** The local runner gets these (and never the server's secrets). */
export const LOCAL_RUNNER_SETTINGS = [
  ['LIFEBOAT_LOCAL_RUNNER', '0: no local runner', '1'],
  ['LIFEBOAT_NODE_NAME', 'node name when it joins', 'host name'],
  ['LIFEBOAT_RUNNER_POOLS', 'report only these pools (a,b)', 'all'],
  ['LIFEBOAT_RUNNER_CONCURRENCY', 'events run at once', '2'],
  ['LIFEBOAT_RUNNER_MANIFEST', 'manifest guest provider (JSON file)', '-'],
  ['LIFEBOAT_RUNNER_JAIL_CONF', 'FreeBSD jail provider (jail.conf)', '-'],
  ['LIFEBOAT_RUNNER_JAIL_CONF_DIR', 'its jail.conf.d', '<jail.conf dir>/jail.conf.d'],
  ['LIFEBOAT_RUNNER_VM_DIR', 'vm-bhyve provider (vm_dir)', '-'],
  ['LIFEBOAT_RUNNER_INVENTORY_MS', 'inventory refresh interval', '30000'],
  ['LIFEBOAT_RUNNER_SSH_WARM', 'warm SSH connections kept between backups', '4 (0: off)'],
  ['LIFEBOAT_RUNNER_SSH_WARM_IDLE_S', 'idle lifetime of one (s)', '60'],
  ['LIFEBOAT_RUNNER_STREAMS', 'small incrementals of a backup sent at once', '4 (1-16)'],
];

/** The default config file (protocol/src/config-file.ts defaultConfigPath; a test keeps them equal). */
export function defaultServerConfig(platform) {
  return platform === 'freebsd' ? '/usr/local/etc/lifeboat/server.conf' : '/etc/lifeboat/server.conf';
}

// `NAME  meaning [default]`, the default on a line of its own where one line would pass 100 columns
const rows = (table) =>
  table.flatMap(([k, meaning, dflt]) => {
    const line = `  ${k.padEnd(36)}${meaning} [${dflt}]`;
    return line.length <= 100 ? [line] : [`  ${k.padEnd(36)}${meaning}`, `  ${''.padEnd(36)}[${dflt}]`];
  });

/** The settings part of the help: every variable, its meaning and its default (at most 100 columns wide). */
export function settingsHelp(platform) {
  return [
    `Settings are LIFEBOAT_* environment variables or KEY=value lines of the same names (# comments) in`,
    `the config file (--config FILE or LIFEBOAT_CONFIG; default ${defaultServerConfig(platform)}, read`,
    `when present; "": none). The environment overrides the file; an unknown key is an error.`,
    '',
    'server',
    ...rows(SERVER_SETTINGS),
    '',
    "local runner (it gets these, never the server's secrets)",
    ...rows(LOCAL_RUNNER_SETTINGS),
    '  (a standalone runner also reads LIFEBOAT_SERVER, LIFEBOAT_JOIN_TOKEN, LIFEBOAT_RUNNER_STATE_DIR',
    '  and its own runner.conf: lifeboat-runner --help)',
    '',
    'Exit status: 0 stopped, 1 error, 2 usage (an unknown option or key, a bad value), 75 the database',
    'was busy (SQLITE_BUSY): the supervisor restarts a clean process.',
  ].join('\n');
}
