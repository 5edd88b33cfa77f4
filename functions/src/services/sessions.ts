// Admin sessions: one is created at sign-in (the cookie's token is stored hashed) and ended at sign-out.
// Each request looks its session up (useSession, called by lib/auth.ts).
import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import { sessions } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { randomToken, sha256Hex } from '../lib/tokens.ts';

/** A new session; expired ones are deleted in the same batch (housekeeping). Returns the cookie's token. */
export async function createSession(
  db: DB,
  ttlMs: number,
  userAgent: string | undefined,
  at: number,
): Promise<{ token: string; expiresAt: number }> {
  const token = randomToken('lbs');
  const expiresAt = at + ttlMs;
  await db.batch([
    db.delete(sessions).where(sql`${sessions.expiresAt} <= ${at}`),
    db
      .insert(sessions)
      .values({ tokenHash: await sha256Hex(token), createdAt: at, expiresAt, lastUsedAt: at, userAgent: userAgent?.slice(0, 300) ?? null }),
  ]);
  return { token, expiresAt };
}

/** End the session of this cookie token, if there is one. */
export async function endSession(db: DB, token: string): Promise<void> {
  await db.delete(sessions).where(eq(sessions.tokenHash, await sha256Hex(token)));
}

/** The unexpired session of this cookie token, its last use recorded at a minute's precision. */
export async function useSession(db: DB, token: string, at: number) {
  const [s] = await db
    .select({ id: sessions.id, expiresAt: sessions.expiresAt, lastUsedAt: sessions.lastUsedAt })
    .from(sessions)
    .where(and(eq(sessions.tokenHash, await sha256Hex(token)), gt(sessions.expiresAt, at)));
  if (s && (s.lastUsedAt == null || s.lastUsedAt < at - 60_000)) {
    await db
      .update(sessions)
      .set({ lastUsedAt: at })
      .where(and(eq(sessions.id, s.id), or(isNull(sessions.lastUsedAt), lt(sessions.lastUsedAt, at - 60_000))));
  }
  return s ?? null;
}
