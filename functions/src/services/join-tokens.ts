// Join tokens: made by an admin (or by the Node entry for its local runner), redeemed once by a
// runner joining as a new node, which gets its node token in exchange.
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { z } from '@hono/zod-openapi';
import type { JoinRequest } from '../contract/runner.ts';
import { joinTokens, nodes } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { ApiError, conflict, isUniqueViolation } from '../lib/errors.ts';
import { randomToken, sha256Hex } from '../lib/tokens.ts';

/** A one-time join token (stored hashed); returns the token and its expiry. */
export async function createJoinToken(db: DB, ttlMs: number, at: number): Promise<{ token: string; expiresAt: number }> {
  const token = randomToken('lbj');
  const expiresAt = at + ttlMs;
  await db.insert(joinTokens).values({ tokenHash: await sha256Hex(token), expiresAt, createdAt: at });
  return { token, expiresAt };
}

const nameTaken = () => conflict('a node with this name already exists', { name: 'is already used by another node' });

/** Redeem a join token for a new node; returns its id and node token (shown once, stored hashed). */
export async function joinNode(db: DB, b: z.infer<typeof JoinRequest>, at: number): Promise<{ nodeId: number; nodeToken: string }> {
  // The token first: without a valid one, nothing is said about node names (no enumeration).
  const tokenOk = and(eq(joinTokens.tokenHash, await sha256Hex(b.joinToken)), isNull(joinTokens.usedAt), gt(joinTokens.expiresAt, at));
  const badToken = () =>
    new ApiError('unauthorized', 'the join token is not valid, expired or already used', {
      joinToken: 'is not valid, expired or already used',
    });
  const [valid] = await db.select({ id: joinTokens.id }).from(joinTokens).where(tokenOk);
  if (!valid) throw badToken();
  const [taken] = await db.select({ id: nodes.id }).from(nodes).where(eq(nodes.name, b.name));
  if (taken) throw nameTaken();
  const [jt] = await db.update(joinTokens).set({ usedAt: at }).where(tokenOk).returning();
  if (!jt) throw badToken(); // used by a concurrent join meanwhile
  const nodeToken = randomToken('lbn');
  try {
    const [node] = await db
      .insert(nodes)
      .values({ name: b.name, hostname: b.hostname ?? null, tokenHash: await sha256Hex(nodeToken), createdAt: at, lastSeenAt: at })
      .returning({ id: nodes.id });
    await db.update(joinTokens).set({ nodeId: node.id }).where(eq(joinTokens.id, jt.id));
    return { nodeId: node.id, nodeToken };
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken();
    throw err;
  }
}
