// Nodes in the database: which one a request means, their views with inventory, revocation.
// Joining (join tokens) is join-tokens.ts.
import { and, asc, count, eq, isNull, sql } from 'drizzle-orm';
import { roleFromName } from '../../../protocol/src/layout.ts';
import { eventLogs, events, guests, jobs, nodeDatasets, nodes } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { invalid, notFound } from '../lib/errors.ts';
import type { AppDeps } from '../lib/http.ts';
import { refreshInventory } from './inventory.ts';
import { finalLogLine } from './queue.ts';
import { nodeView, type NodeFacts } from './views.ts';

/** The node (not revoked) whose token hashes to `tokenHash`: the caller of a runner route. */
export async function nodeByTokenHash(db: DB, tokenHash: string) {
  const [node] = await db
    .select({ id: nodes.id, name: nodes.name })
    .from(nodes)
    .where(and(eq(nodes.tokenHash, tokenHash), isNull(nodes.revokedAt)));
  return node ?? null;
}

/** The node a request names, or the only node when it names none (standalone installs). */
export async function resolveNode(db: DB, nodeId: number | undefined, field = 'nodeId') {
  if (nodeId !== undefined) {
    const [n] = await db
      .select()
      .from(nodes)
      .where(and(eq(nodes.id, nodeId), isNull(nodes.revokedAt)));
    if (!n) throw invalid(field, `node ${nodeId} does not exist`);
    return n;
  }
  const all = await db.select().from(nodes).where(isNull(nodes.revokedAt)).limit(2);
  if (all.length === 1) return all[0];
  throw invalid(field, all.length === 0 ? 'no node has joined yet' : 'is required when there is more than one node');
}

type NodeRow = typeof nodes.$inferSelect;
/** A node is online while its runner was heard from within `silentMs` (a held claim renews it every few seconds). */
export interface Liveness {
  at: number;
  silentMs: number;
}

/**
 * Jobs and guests per node (one grouped query each) and who is online, for `rows`: one node, or
 * all of them (then the counts are not filtered by id: no list of ids, which D1 caps at 100 bound
 * parameters per statement, for a fleet of more).
 */
async function nodeFacts(db: DB, rows: NodeRow[], live: Liveness): Promise<Map<number, NodeFacts>> {
  const one = rows.length === 1 ? rows[0].id : null;
  const [jobCounts, guestCounts] = rows.length
    ? await Promise.all([
        db
          .select({ id: jobs.nodeId, n: count() })
          .from(jobs)
          .where(one === null ? undefined : eq(jobs.nodeId, one))
          .groupBy(jobs.nodeId),
        db
          .select({ id: guests.nodeId, n: count() })
          .from(guests)
          .where(one === null ? undefined : eq(guests.nodeId, one))
          .groupBy(guests.nodeId),
      ])
    : [[], []];
  const byId = (xs: { id: number | null; n: number }[]) => new Map(xs.map((x) => [x.id, x.n]));
  const j = byId(jobCounts);
  const g = byId(guestCounts);
  return new Map(
    rows.map((n) => [
      n.id,
      {
        jobCount: j.get(n.id) ?? 0,
        guestCount: g.get(n.id) ?? 0,
        online: n.revokedAt === null && n.lastSeenAt !== null && live.at - n.lastSeenAt <= live.silentMs,
      },
    ]),
  );
}

async function viewsOf(db: DB, rows: NodeRow[], live: Liveness) {
  const facts = await nodeFacts(db, rows, live);
  return rows.map((n) => nodeView(n, facts.get(n.id)!));
}

/** Every node (the counts of all, see nodeFacts). */
export const listNodes = async (db: DB, live: Liveness) => viewsOf(db, await db.select().from(nodes).orderBy(asc(nodes.id)), live);

/** A node with its last inventory (datasets, guests); `fresh`: ask the node for a new one first (inventory.ts). */
export async function nodeDetail(deps: Pick<AppDeps, 'db' | 'waker' | 'now'>, id: number, fresh: boolean, live: Liveness) {
  const { db } = deps;
  let [n] = await db.select().from(nodes).where(eq(nodes.id, id));
  if (!n) throw notFound(`node ${id}`);
  if (fresh && (await refreshInventory(deps, id))) [n] = await db.select().from(nodes).where(eq(nodes.id, id));
  const ds = await db.select().from(nodeDatasets).where(eq(nodeDatasets.nodeId, id)).orderBy(asc(nodeDatasets.name));
  const gs = await db.select().from(guests).where(eq(guests.nodeId, id)).orderBy(asc(guests.kind), asc(guests.name));
  const [view] = await viewsOf(db, [n], live);
  return {
    ...view,
    datasets: ds.map((d) => ({
      name: d.name,
      usedBytes: d.usedBytes,
      referencedBytes: d.referencedBytes,
      mountpoint: d.mountpoint,
      // an older runner reports no roles: its restore leftovers are still known by their names
      role: d.role ?? roleFromName(d.name),
    })),
    guests: gs.map((g) => ({
      kind: g.kind,
      id: g.guestId,
      name: g.name,
      roots: g.roots,
      network: g.network ?? null,
      running: g.running,
      provider: g.provider,
    })),
  };
}

/** Revoke a node: its queued work is cancelled; revoking twice answers the node as it is. */
export async function revokeNode(db: DB, id: number, live: Liveness) {
  const at = live.at;
  const why = 'the node was revoked before this started';
  const line = finalLogLine('cancelled', why);
  const [, , [row]] = await db.batch([
    // the log of each queued event ends with why it was cancelled (before the update changes what matches)
    db.run(
      sql`INSERT INTO ${eventLogs} (event_id, ts, level, message) SELECT ${events.id}, ${at}, ${line.level}, ${line.message} FROM ${events} WHERE ${and(eq(events.nodeId, id), eq(events.status, 'queued'))}`,
    ),
    db
      .update(events)
      .set({ status: 'cancelled', finishedAt: at, cancelRequested: true, error: why })
      .where(and(eq(events.nodeId, id), eq(events.status, 'queued'))),
    db
      .update(nodes)
      .set({ revokedAt: at })
      .where(and(eq(nodes.id, id), isNull(nodes.revokedAt)))
      .returning(),
  ]);
  const [n] = row ? [row] : await db.select().from(nodes).where(eq(nodes.id, id));
  if (!n) throw notFound(`node ${id}`);
  return (await viewsOf(db, [n], live))[0];
}
