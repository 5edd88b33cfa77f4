// API tokens for automation: listed, created (the token is shown once and stored hashed), and revoked
// together with every token made with them, removed from the list once revoked, and looked up by hash
// on each request (lib/auth.ts).
import { and, asc, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { z } from '@hono/zod-openapi';
import type { ApiTokenCreate } from '../contract/api.ts';
import { apiTokens } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { conflict, notFound } from '../lib/errors.ts';
import type { Principal } from '../lib/http.ts';
import { randomToken, sha256Hex } from '../lib/tokens.ts';
import { apiTokenView } from './views.ts';

export async function listApiTokens(db: DB) {
  return (await db.select().from(apiTokens).orderBy(asc(apiTokens.id))).map(apiTokenView);
}

/** A new token made by `maker`; one made with an API token never outlives it. */
export async function createApiToken(db: DB, input: z.infer<typeof ApiTokenCreate>, maker: Principal, at: number) {
  const { name, scope, expiresInDays } = input;
  let expiresAt = expiresInDays ? at + expiresInDays * 86_400_000 : null;
  if (maker.kind === 'api-token' && maker.expiresAt != null) expiresAt = Math.min(expiresAt ?? maker.expiresAt, maker.expiresAt);
  const token = randomToken('lbt');
  const [row] = await db
    .insert(apiTokens)
    .values({
      name,
      scope,
      expiresAt,
      parentId: maker.kind === 'api-token' ? maker.tokenId : null,
      tokenHash: await sha256Hex(token),
      createdAt: at,
    })
    .returning();
  return { ...apiTokenView(row), token };
}

/** The live (not revoked) token with this hash, its last use recorded at a minute's precision (saves a write on most requests). */
export async function useApiToken(db: DB, tokenHash: string, at: number) {
  const [row] = await db
    .select({ id: apiTokens.id, lastUsedAt: apiTokens.lastUsedAt, scope: apiTokens.scope, expiresAt: apiTokens.expiresAt })
    .from(apiTokens)
    .where(and(eq(apiTokens.tokenHash, tokenHash), isNull(apiTokens.revokedAt)));
  if (row && (row.expiresAt == null || row.expiresAt > at) && (row.lastUsedAt == null || row.lastUsedAt < at - 60_000)) {
    await db.update(apiTokens).set({ lastUsedAt: at }).where(eq(apiTokens.id, row.id));
  }
  return row ?? null;
}

/** Revoke a token and everything minted with it, however deep; revoking twice answers the token as it is. */
export async function revokeApiToken(db: DB, id: number, at: number) {
  await db.run(sql`WITH RECURSIVE made(id) AS (SELECT id FROM api_tokens WHERE parent_id = ${id} UNION SELECT t.id FROM api_tokens t JOIN made ON t.parent_id = made.id)
    UPDATE api_tokens SET revoked_at = ${at} WHERE revoked_at IS NULL AND id IN (SELECT id FROM made)`);
  const [row] = await db
    .update(apiTokens)
    .set({ revokedAt: at })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .returning();
  if (row) return apiTokenView(row);
  const [cur] = await db.select().from(apiTokens).where(eq(apiTokens.id, id));
  if (!cur) throw notFound(`API token ${id}`);
  return apiTokenView(cur);
}

/**
 * Remove the record of a revoked token (the list keeps revoked tokens until then). An active token is
 * refused: revoking first keeps "refused from now on" one deliberate step. A token it made is revoked
 * with it already; its parent id then names a row that is gone, which nothing reads again.
 */
export async function removeRevokedApiToken(db: DB, id: number) {
  const [row] = await db
    .delete(apiTokens)
    .where(and(eq(apiTokens.id, id), isNotNull(apiTokens.revokedAt)))
    .returning({ id: apiTokens.id });
  if (row) return;
  const [cur] = await db.select({ id: apiTokens.id }).from(apiTokens).where(eq(apiTokens.id, id));
  if (!cur) throw notFound(`API token ${id}`);
  throw conflict(`API token ${id} is active: revoke it before removing it`);
}
