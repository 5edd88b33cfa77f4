// Settings the app needs at request time (read from the environment by each entry).
export interface AppConfig {
  defaultTimezone: string;
  eventsMaxAgeDays: number;
  eventsMaxRows: number;
  /** The newest events kept per job (without a job: per node and kind); 0: no per-job rule (README, Events). */
  eventsKeepPerJob: number;
  /** Failed and interrupted events are kept this many days even beyond eventsKeepPerJob. */
  eventsKeepFailedDays: number;
  /** How long a claim long-poll holds when nothing is due. */
  claimWaitMs: number;
  /** How often a held claim re-checks the database. */
  claimRecheckMs: number;
  /** A running event whose runner is silent this long becomes `interrupted`. */
  leaseMs: number;
  joinTokenTtlMs: number;
  /** Public URL shown in join commands. */
  publicUrl: string;
  /** How long a browser sign-in lasts (absolute, from sign-in). */
  sessionTtlMs: number;
  /** Failed sign-ins allowed per client (and 10× that in total) in one window before answering 429. */
  loginMaxFailures: number;
  loginWindowMs: number;
  /**
   * A reverse proxy in front sets X-Forwarded-For / X-Forwarded-Proto and is trusted for the client
   * address (rate limiting) and for https (Secure cookies). Off by default: the headers are ignored.
   */
  trustProxy: boolean;
  /** A node not heard from this long is notified as silent (README, Notifications). */
  notifyNodeSilentMs: number;
  /** How often the Node entry evaluates and delivers notifications (README, Notifications); Workers: each cron run. */
  notifyIntervalMs: number;
}

/** A wrong option, config file or setting: the Node entry prints it and exits 2 (no restart helps). */
export class ConfigError extends Error {}

export function configFromEnv(env: Record<string, string | undefined>): AppConfig {
  const num = (name: string, dflt: number) => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${name} must be a non-negative number, got "${v}"`);
    return n;
  };
  const host = env.LIFEBOAT_HOST || '127.0.0.1';
  const port = env.LIFEBOAT_PORT || '8480';
  return {
    defaultTimezone: env.LIFEBOAT_TZ || 'UTC',
    eventsMaxAgeDays: num('LIFEBOAT_EVENTS_MAX_AGE_DAYS', 90),
    eventsMaxRows: num('LIFEBOAT_EVENTS_MAX_ROWS', 1_000_000),
    eventsKeepPerJob: num('LIFEBOAT_EVENTS_KEEP_PER_JOB', 200),
    eventsKeepFailedDays: num('LIFEBOAT_EVENTS_KEEP_FAILED_DAYS', 30),
    claimWaitMs: num('LIFEBOAT_CLAIM_WAIT_MS', 25_000),
    claimRecheckMs: num('LIFEBOAT_CLAIM_RECHECK_MS', 100),
    leaseMs: num('LIFEBOAT_LEASE_MS', 30_000),
    joinTokenTtlMs: num('LIFEBOAT_JOIN_TOKEN_TTL_MS', 60 * 60 * 1000),
    sessionTtlMs: num('LIFEBOAT_SESSION_TTL_HOURS', 12) * 3600_000,
    loginMaxFailures: num('LIFEBOAT_LOGIN_MAX_FAILURES', 5),
    loginWindowMs: num('LIFEBOAT_LOGIN_WINDOW_MINUTES', 15) * 60_000,
    notifyNodeSilentMs: num('LIFEBOAT_NOTIFY_NODE_SILENT_MINUTES', 10) * 60_000,
    notifyIntervalMs: Math.max(1, num('LIFEBOAT_NOTIFY_INTERVAL_SECONDS', 30)) * 1000,
    trustProxy: ['1', 'true', 'yes'].includes((env.LIFEBOAT_TRUST_PROXY ?? '').toLowerCase()),
    publicUrl: env.LIFEBOAT_PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
  };
}

/** Event retention's policy (services/event-retention.ts) from the configuration. */
export const eventRetention = (c: AppConfig) => ({
  perJob: c.eventsKeepPerJob,
  failedDays: c.eventsKeepFailedDays,
  maxAgeDays: c.eventsMaxAgeDays,
  maxRows: c.eventsMaxRows,
});
