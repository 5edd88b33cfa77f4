// A fresh inventory when a user acts on a node's datasets (job form, POST /jobs, the OOB wizard,
// POST /restores): the node reports every 30 s on its own, so a dataset made a moment ago would be
// missing. The request is carried by the node's next claim answer (it long-polls, woken at once);
// its runner reports right away. Two waits: a node that does not pick the request up within
// FRESH_INVENTORY_WAIT_MS (offline, or every slot busy) leaves the last inventory in use; one that
// did is waiting on its own `zfs list`, which takes longer on a loaded host, and is given up to
// PICKED_UP_WAIT_MS to deliver it.
import type { z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { InventoryRequest } from '../contract/runner.ts';
import { guests, nodeDatasets, nodes } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import type { AppDeps } from '../lib/http.ts';

export const FRESH_INVENTORY_WAIT_MS = 1500;
export const PICKED_UP_WAIT_MS = 20_000;

/** True when the node reported after this request, false when the old inventory stays. */
export async function refreshInventory(deps: Pick<AppDeps, 'db' | 'waker' | 'now'>, nodeId: number): Promise<boolean> {
  const clock = deps.now ?? Date.now;
  const asked = clock();
  await deps.db.update(nodes).set({ inventoryWantedAt: asked }).where(eq(nodes.id, nodeId));
  await deps.waker?.notify(nodeId);
  const started = Date.now();
  for (;;) {
    const [n] = await deps.db.select({ at: nodes.inventoryAt, wanted: nodes.inventoryWantedAt }).from(nodes).where(eq(nodes.id, nodeId));
    if (n?.at != null && n.at >= asked) return true;
    // picked up: a claim of the node's runner cleared the request
    const pickedUp = n?.wanted == null;
    if (Date.now() - started >= (pickedUp ? PICKED_UP_WAIT_MS : FRESH_INVENTORY_WAIT_MS)) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Replace a node's inventory with its report, in one batch: the node's facts, its datasets and its
 * guests. Multi-row inserts are chunked under D1's 100 bound parameters per statement.
 */
export async function recordInventory(db: DB, nodeId: number, b: z.infer<typeof InventoryRequest>, at: number): Promise<void> {
  const stmts: BatchItem<'sqlite'>[] = [
    db
      .update(nodes)
      .set({
        zfsVersion: b.zfsVersion,
        capabilities: b.capabilities,
        pools: b.pools,
        guestProviders: b.guestProviders ?? null,
        runnerVersion: b.runnerVersion ?? null,
        poolSpace: b.poolSpace ?? null,
        inventoryAt: at,
        lastSeenAt: at,
      })
      .where(eq(nodes.id, nodeId)),
    db.delete(nodeDatasets).where(eq(nodeDatasets.nodeId, nodeId)),
    db.delete(guests).where(eq(guests.nodeId, nodeId)),
  ];
  const ds = b.datasets.map((d) => ({
    nodeId,
    name: d.name,
    usedBytes: d.usedBytes ?? null,
    referencedBytes: d.referencedBytes ?? null,
    mountpoint: d.mountpoint ?? null,
    role: d.role ?? null,
  }));
  // 6 columns a row: 16 rows are 96 bound parameters
  for (let i = 0; i < ds.length; i += 16)
    stmts.push(
      db
        .insert(nodeDatasets)
        .values(ds.slice(i, i + 16))
        .onConflictDoNothing(),
    );
  const gs = b.guests.map((g) => ({
    nodeId,
    kind: g.kind,
    guestId: g.id,
    name: g.name,
    roots: g.roots,
    network: g.network ?? null,
    running: g.running,
    provider: g.provider,
  }));
  for (let i = 0; i < gs.length; i += 12)
    stmts.push(
      db
        .insert(guests)
        .values(gs.slice(i, i + 12))
        .onConflictDoNothing(),
    );
  await db.batch(stmts as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
}
