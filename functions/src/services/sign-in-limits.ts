// Sign-in rate limiting: attempts counted per client and for everyone, in fixed windows
// (login_attempts rows). Routes decide the client key; this decides whether an attempt is evaluated.
import { eq, lte, sql } from 'drizzle-orm';
import type { AppConfig } from '../config.ts';
import { loginAttempts } from '../db/schema.ts';
import type { DB } from '../db/types.ts';

const GLOBAL_KEY = '*';
/** The all-clients ceiling counts over a short window: guessing spread over many addresses locks password sign-in for a minute at most. */
const GLOBAL_WINDOW_MS = 60_000;

/**
 * Reserve one evaluated attempt under `key` (fixed window, one atomic conditional upsert): counted
 * only while the key is under `limit`, so attempts refused for being over the limit count nowhere.
 * Null when reserved, else the seconds until the window ends.
 */
async function reserveAttempt(db: DB, key: string, limit: number, windowMs: number, at: number): Promise<number | null> {
  const stale = sql`${loginAttempts.windowStart} <= ${at - windowMs}`;
  const [row] = await db
    .insert(loginAttempts)
    .values({ key, failures: 1, windowStart: at })
    .onConflictDoUpdate({
      target: loginAttempts.key,
      set: {
        failures: sql`CASE WHEN ${stale} THEN 1 ELSE ${loginAttempts.failures} + 1 END`,
        windowStart: sql`CASE WHEN ${stale} THEN ${at} ELSE ${loginAttempts.windowStart} END`,
      },
      setWhere: sql`${stale} OR ${loginAttempts.failures} < ${limit}`,
    })
    .returning({ failures: loginAttempts.failures });
  if (row) return null;
  const [cur] = await db.select({ windowStart: loginAttempts.windowStart }).from(loginAttempts).where(eq(loginAttempts.key, key));
  return Math.max(1, Math.ceil(((cur?.windowStart ?? at) + windowMs - at) / 1000));
}

/**
 * Count this sign-in attempt for the client, then for everyone, before the password is checked (so
 * concurrent guesses cannot slip past the limit). Only attempts that get evaluated are counted: a
 * client over its own limit is refused without touching the global count, so no single client can
 * lock everyone out; the global ceiling (10x the per-client limit) spans one short window.
 * Null when the attempt may go ahead, else the seconds to wait.
 */
export async function countSignInAttempt(
  db: DB,
  key: string,
  config: Pick<AppConfig, 'loginMaxFailures' | 'loginWindowMs'>,
  at: number,
): Promise<number | null> {
  await db.delete(loginAttempts).where(lte(loginAttempts.windowStart, at - Math.max(config.loginWindowMs, GLOBAL_WINDOW_MS)));
  let retry = await reserveAttempt(db, key, config.loginMaxFailures, config.loginWindowMs, at);
  if (retry === null) {
    retry = await reserveAttempt(db, GLOBAL_KEY, config.loginMaxFailures * 10, Math.min(config.loginWindowMs, GLOBAL_WINDOW_MS), at);
    if (retry !== null) {
      // not evaluated after all: give the client its attempt back
      await db
        .update(loginAttempts)
        .set({ failures: sql`max(${loginAttempts.failures} - 1, 0)` })
        .where(eq(loginAttempts.key, key));
    }
  }
  return retry;
}

/** A successful sign-in: the client's count is cleared and its attempt taken off the global one. */
export async function forgetSignInAttempt(db: DB, key: string): Promise<void> {
  await db.batch([
    db.delete(loginAttempts).where(eq(loginAttempts.key, key)),
    db
      .update(loginAttempts)
      .set({ failures: sql`max(${loginAttempts.failures} - 1, 0)` })
      .where(eq(loginAttempts.key, GLOBAL_KEY)),
  ]);
}
