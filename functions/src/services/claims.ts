// A runner's long-poll claim (README, "Design notes: Long-poll claims"): every round sweeps expired
// leases, creates the node's due scheduled runs and claims queued work; it returns at once when
// there is work, when the server wants a fresh inventory, or when the wait is over. Held claims
// sleep on the waker (Node entry) or poll every claimRecheckMs.
import { and, eq, inArray, isNull, lt, or } from 'drizzle-orm';
import { events, nodes } from '../db/schema.ts';
import type { AppDeps } from '../lib/http.ts';
import { claimQueued, scheduleDue, sweepExpiredLeases } from './queue.ts';

type ClaimDeps = Pick<AppDeps, 'db' | 'config' | 'waker' | 'now'>;

export async function holdClaim(deps: ClaimDeps, o: { nodeId: number; max: number; waitMs?: number; gone: () => boolean }) {
  const { db, config, waker } = deps;
  const now = deps.now ?? Date.now;
  const { nodeId, max, gone } = o;
  const start = now();
  // lastSeenAt at a few seconds' precision: saves a write on most claims.
  await db.update(nodes).set({ lastSeenAt: start }).where(and(eq(nodes.id, nodeId), or(isNull(nodes.lastSeenAt), lt(nodes.lastSeenAt, start - 5000))));
  const deadline = start + Math.min(o.waitMs ?? config.claimWaitMs, config.claimWaitMs);
  const nothing = { claimed: [] as Awaited<ReturnType<typeof claimQueued>>, inventoryWanted: false };
  for (;;) {
    const at = now();
    await sweepExpiredLeases(db, at);
    await scheduleDue(db, nodeId, at);
    // A runner that went away (restarted, killed) while its claim was held must not be handed work:
    // nobody would run it and it would end `interrupted` when the lease runs out.
    if (gone()) return nothing;
    // a user is choosing among this node's datasets (services/inventory.ts): answer now, asking for it
    const [n] = await db.select({ wanted: nodes.inventoryWantedAt, at: nodes.inventoryAt }).from(nodes).where(eq(nodes.id, nodeId));
    const inventoryWanted = n?.wanted != null && n.wanted > (n.at ?? 0);
    // asked once: the next claims do not ask again while the report is under way
    if (inventoryWanted) await db.update(nodes).set({ inventoryWantedAt: null }).where(and(eq(nodes.id, nodeId), eq(nodes.inventoryWantedAt, n!.wanted!)));
    const claimed = await claimQueued(db, nodeId, max, at, config.leaseMs);
    if (claimed.length && gone()) {
      // the claimer disconnected during the claim: hand the events back to the queue untouched
      await db.update(events).set({ status: 'queued', startedAt: null, leaseUntil: null, phase: null })
        .where(and(inArray(events.id, claimed.map((e) => e.id)), eq(events.status, 'running'), eq(events.nodeId, nodeId)));
      return nothing;
    }
    if (claimed.length || at >= deadline || max === 0 || inventoryWanted) return { claimed, inventoryWanted };
    const pause = Math.min(config.claimRecheckMs, deadline - at);
    if (waker) await waker.wait(nodeId, pause);
    else await new Promise((r) => setTimeout(r, pause));
  }
}
