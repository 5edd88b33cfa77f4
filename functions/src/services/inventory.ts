// A fresh inventory when a user acts on a node's datasets (job form, POST /jobs, the OOB wizard,
// POST /restores): the node reports every 30 s on its own, so a dataset made a moment ago would be
// missing. The request is carried by the node's next claim answer (it long-polls, woken at once);
// its runner reports right away. Waits briefly: a node that does not answer in time (offline, or
// every slot busy) leaves the last inventory in use.
import { eq } from 'drizzle-orm';
import { nodes } from '../db/schema.ts';
import type { AppDeps } from '../lib/http.ts';

export const FRESH_INVENTORY_WAIT_MS = 1500;

/** True when the node reported after this request (within `waitMs`), false when the old inventory stays. */
export async function refreshInventory(deps: Pick<AppDeps, 'db' | 'waker' | 'now'>, nodeId: number, waitMs = FRESH_INVENTORY_WAIT_MS): Promise<boolean> {
  const clock = deps.now ?? Date.now;
  const asked = clock();
  await deps.db.update(nodes).set({ inventoryWantedAt: asked }).where(eq(nodes.id, nodeId));
  deps.waker?.notify(nodeId);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const [n] = await deps.db.select({ at: nodes.inventoryAt }).from(nodes).where(eq(nodes.id, nodeId));
    if (n?.at != null && n.at >= asked) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
