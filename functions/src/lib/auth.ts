// Admin, node and webhook authentication.
import { and, eq, isNull } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { nodes } from '../db/schema.ts';
import { ApiError } from './errors.ts';
import type { Env } from './http.ts';
import { digestEquals, sha256Hex } from './tokens.ts';

export function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m ? m[1] : null;
}

export const requireAdmin: MiddlewareHandler<Env> = async (c, next) => {
  const token = bearer(c.req.header('authorization'));
  if (!token) throw new ApiError('unauthorized', 'an admin API token is required (Authorization: Bearer …)');
  if (!digestEquals(await sha256Hex(token), c.var.deps.adminTokenHash)) {
    throw new ApiError('unauthorized', 'the admin API token is not valid');
  }
  await next();
};

export const requireNode: MiddlewareHandler<Env> = async (c, next) => {
  const token = bearer(c.req.header('authorization'));
  if (!token) throw new ApiError('unauthorized', 'a node token is required (Authorization: Bearer …)');
  const [node] = await c.var.deps.db.select({ id: nodes.id, name: nodes.name }).from(nodes)
    .where(and(eq(nodes.tokenHash, await sha256Hex(token)), isNull(nodes.revokedAt)));
  if (!node) throw new ApiError('unauthorized', 'the node token is not valid or the node was revoked');
  c.set('node', node);
  await next();
};
