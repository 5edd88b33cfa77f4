// Settings the app needs at request time (read from the environment by each entry).
import { z } from 'zod';

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
  /** Workers: how long each cron run waits after its pokes before its housekeeping (away from the second schedules fall due). */
  cronHousekeepingDelayMs: number;
}

/** A wrong option, config file or setting: the Node entry prints it and exits 2 (no restart helps). */
export class ConfigError extends Error {}

/** A number setting: unset or empty is its default; anything else a finite number ≥ 0. */
const count = (dflt: number) =>
  z.preprocess(
    (v) => (v === undefined || v === '' ? dflt : Number(v)),
    z.number({ error: 'must be a non-negative number' }).min(0, 'must be a non-negative number'),
  );

/**
 * The settings read from the environment (and the config file under it, settings.ts), checked with
 * zod as the API's input is (contract/): a bad value is a ConfigError naming the variable.
 */
const EnvSettings = z.object({
  LIFEBOAT_TZ: z.string().optional(),
  LIFEBOAT_EVENTS_MAX_AGE_DAYS: count(90),
  LIFEBOAT_EVENTS_MAX_ROWS: count(1_000_000),
  LIFEBOAT_EVENTS_KEEP_PER_JOB: count(200),
  LIFEBOAT_EVENTS_KEEP_FAILED_DAYS: count(30),
  LIFEBOAT_CLAIM_WAIT_MS: count(25_000),
  LIFEBOAT_CLAIM_RECHECK_MS: count(100),
  LIFEBOAT_LEASE_MS: count(30_000),
  LIFEBOAT_JOIN_TOKEN_TTL_MS: count(60 * 60 * 1000),
  LIFEBOAT_SESSION_TTL_HOURS: count(12),
  LIFEBOAT_LOGIN_MAX_FAILURES: count(5),
  LIFEBOAT_LOGIN_WINDOW_MINUTES: count(15),
  LIFEBOAT_NOTIFY_NODE_SILENT_MINUTES: count(10),
  LIFEBOAT_NOTIFY_INTERVAL_SECONDS: count(30),
  LIFEBOAT_CRON_HOUSEKEEPING_DELAY_SECONDS: count(20),
  LIFEBOAT_TRUST_PROXY: z.string().optional(),
  LIFEBOAT_HOST: z.string().optional(),
  LIFEBOAT_PORT: z.preprocess(
    (v) => (v === undefined || v === '' ? 8480 : Number(v)),
    z
      .number({ error: 'must be a port number (0-65535)' })
      .int('must be a port number (0-65535)')
      .min(0, 'must be a port number (0-65535)')
      .max(65535, 'must be a port number (0-65535)'),
  ),
  LIFEBOAT_PUBLIC_URL: z.string().optional(),
});

/** The environment's settings, checked (EnvSettings); the first bad one is a ConfigError naming it and its value. */
export function settingsFromEnv(env: Record<string, string | undefined>): z.output<typeof EnvSettings> {
  const r = EnvSettings.safeParse(env);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const name = String(issue.path[0]);
  throw new ConfigError(`${name} ${issue.message}, got "${env[name]}"`);
}

export function configFromEnv(env: Record<string, string | undefined>): AppConfig {
  const s = settingsFromEnv(env);
  const host = s.LIFEBOAT_HOST || '127.0.0.1';
  return {
    defaultTimezone: s.LIFEBOAT_TZ || 'UTC',
    eventsMaxAgeDays: s.LIFEBOAT_EVENTS_MAX_AGE_DAYS,
    eventsMaxRows: s.LIFEBOAT_EVENTS_MAX_ROWS,
    eventsKeepPerJob: s.LIFEBOAT_EVENTS_KEEP_PER_JOB,
    eventsKeepFailedDays: s.LIFEBOAT_EVENTS_KEEP_FAILED_DAYS,
    claimWaitMs: s.LIFEBOAT_CLAIM_WAIT_MS,
    claimRecheckMs: s.LIFEBOAT_CLAIM_RECHECK_MS,
    leaseMs: s.LIFEBOAT_LEASE_MS,
    joinTokenTtlMs: s.LIFEBOAT_JOIN_TOKEN_TTL_MS,
    sessionTtlMs: s.LIFEBOAT_SESSION_TTL_HOURS * 3600_000,
    loginMaxFailures: s.LIFEBOAT_LOGIN_MAX_FAILURES,
    loginWindowMs: s.LIFEBOAT_LOGIN_WINDOW_MINUTES * 60_000,
    notifyNodeSilentMs: s.LIFEBOAT_NOTIFY_NODE_SILENT_MINUTES * 60_000,
    notifyIntervalMs: Math.max(1, s.LIFEBOAT_NOTIFY_INTERVAL_SECONDS) * 1000,
    cronHousekeepingDelayMs: s.LIFEBOAT_CRON_HOUSEKEEPING_DELAY_SECONDS * 1000,
    trustProxy: ['1', 'true', 'yes'].includes((s.LIFEBOAT_TRUST_PROXY ?? '').toLowerCase()),
    publicUrl: s.LIFEBOAT_PUBLIC_URL || `http://${host.includes(':') ? `[${host}]` : host}:${s.LIFEBOAT_PORT}`,
  };
}

/** Event retention's policy (services/event-retention.ts) from the configuration. */
export const eventRetention = (c: AppConfig) => ({
  perJob: c.eventsKeepPerJob,
  failedDays: c.eventsKeepFailedDays,
  maxAgeDays: c.eventsMaxAgeDays,
  maxRows: c.eventsMaxRows,
});
