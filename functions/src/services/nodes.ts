import { and, eq, isNull } from 'drizzle-orm';
import { nodes } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { invalid } from '../lib/errors.ts';

/** The node a request names, or the only node when it names none (standalone installs). */
export async function resolveNode(db: DB, nodeId: number | undefined, field = 'nodeId') {
  if (nodeId !== undefined) {
    const [n] = await db.select().from(nodes).where(and(eq(nodes.id, nodeId), isNull(nodes.revokedAt)));
    if (!n) throw invalid(field, `node ${nodeId} does not exist`);
    return n;
  }
  const all = await db.select().from(nodes).where(isNull(nodes.revokedAt)).limit(2);
  if (all.length === 1) return all[0];
  throw invalid(field, all.length === 0 ? 'no node has joined yet' : 'is required when there is more than one node');
}
