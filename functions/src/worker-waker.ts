// The Workers waker (README, "Fleet scale"): a held claim waits on its node's Durable Object instead
// of polling D1. Every path that queues work for a node pokes the object (Waker.notify); the claim
// tells it when the node's next scheduled run falls due, and the object's alarm wakes the claim then,
// after the fleet's DueScheduler (worker-due.ts) has created the node's due runs in its batch. The
// cron trigger does the same for the nodes with due jobs (worker.ts), the safety net. A hint only:
// the guarded statements decide what is created and claimed (services/queue.ts).
import type { Waker } from './lib/http.ts';
import { DUE_SCHEDULER_NAME } from './worker-due.ts';

/** A poke with no claim waiting is kept this long for the next wait: a claim between its read and its wait would miss it. */
export const POKE_MEMORY_MS = 5_000;

/** What a wait can get back when its object fails (a reset, an overload): sleep before the next round, not spin on D1. */
const FAILED_WAIT_PAUSE_MS = 5_000;

// The shapes of the Workers runtime this file uses (no @cloudflare/workers-types in the build).
interface DurableObjectStorage {
  getAlarm(): Promise<number | null>;
  setAlarm(at: number): Promise<void>;
}
export interface DurableObjectState {
  storage: DurableObjectStorage;
}
interface DurableObjectStub {
  fetch(url: string, init?: RequestInit): Promise<Response>;
}
export interface DurableObjectNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): DurableObjectStub;
}

/** The Durable Object of one node (idFromName(`node:<id>`)): its held claims, woken by a poke or its alarm. */
export class ClaimWaker {
  private waiters = new Set<(poked: boolean) => void>();
  private unheardPokeAt: number | null = null;
  /** The node, as its claims' waits name it (an object cannot read the name it was made from). */
  private nodeId: number | null = null;

  constructor(
    private state: DurableObjectState,
    private env: { DUE_SCHEDULER?: DurableObjectNamespace } = {},
  ) {}

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/notify') {
      this.poke();
      return new Response('ok');
    }
    if (url.pathname === '/due') {
      await this.due();
      return new Response('ok');
    }
    const node = Number(url.searchParams.get('node'));
    if (Number.isSafeInteger(node) && node > 0) this.nodeId = node;
    const ms = Math.max(0, Number(url.searchParams.get('ms')) || 0);
    const due = url.searchParams.has('due') ? Number(url.searchParams.get('due')) : null;
    const heard = this.unheardPokeAt !== null && Date.now() - this.unheardPokeAt < POKE_MEMORY_MS;
    this.unheardPokeAt = null;
    if (heard) return new Response('poked');
    if (due !== null && Number.isFinite(due)) {
      // the earliest wins: a later due time from another claim must not put off this one's
      const alarm = await this.state.storage.getAlarm();
      if (alarm === null || alarm > due) await this.state.storage.setAlarm(due);
    }
    const poked = await new Promise<boolean>((resolve) => {
      const done = (p: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve(p);
      };
      const timer = setTimeout(() => done(false), ms);
      this.waiters.add(done);
    });
    return new Response(poked ? 'poked' : 'timeout');
  }

  /** The node's next scheduled run is due. */
  async alarm(): Promise<void> {
    await this.due();
  }

  /**
   * A job of the node is due (its alarm, or the cron): with a claim held, the DueScheduler creates
   * the run in the fleet's batch first, so the woken claim only claims. Without one, or when the
   * scheduler fails, the claim creates it itself, as its next round does for a node that was away.
   */
  private async due() {
    const scheduler = this.env.DUE_SCHEDULER;
    if (this.waiters.size && this.nodeId !== null && scheduler) {
      await scheduler
        .get(scheduler.idFromName(DUE_SCHEDULER_NAME))
        .fetch(`https://due-scheduler/schedule?node=${this.nodeId}`, { method: 'POST' })
        .then((r) => r.body?.cancel())
        .catch(() => undefined);
    }
    this.poke();
  }

  private poke() {
    if (this.waiters.size === 0) this.unheardPokeAt = Date.now();
    for (const w of [...this.waiters]) w(true);
  }
}

/** The Waker of a Worker: each node's claims wait on its ClaimWaker object (binding CLAIM_WAKER). */
export function durableWaker(ns: DurableObjectNamespace): Waker {
  let waiting = 0;
  const stub = (nodeId: number) => ns.get(ns.idFromName(`node:${nodeId}`));
  return {
    wakesAtDue: true,
    async notify(nodeId) {
      // a lost poke costs latency, never correctness (the cron and the claim's end are the safety nets)
      await stub(nodeId)
        .fetch('https://claim-waker/notify', { method: 'POST' })
        .then((r) => r.body?.cancel())
        .catch(() => undefined);
    },
    async wait(nodeId, ms, dueAt) {
      waiting++;
      try {
        const q = `node=${nodeId}&ms=${Math.max(0, Math.round(ms))}${dueAt != null ? `&due=${dueAt}` : ''}`;
        const r = await stub(nodeId).fetch(`https://claim-waker/wait?${q}`);
        return (await r.text()) === 'poked';
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(ms, FAILED_WAIT_PAUSE_MS)));
        return false;
      } finally {
        waiting--;
      }
    },
    waiting: () => waiting,
  };
}

/** The cron's poke of a node with a due job: its ClaimWaker has the run created in the fleet's batch, then wakes its claim. */
export async function notifyDue(ns: DurableObjectNamespace, nodeId: number): Promise<void> {
  await ns
    .get(ns.idFromName(`node:${nodeId}`))
    .fetch('https://claim-waker/due', { method: 'POST' })
    .then((r) => r.body?.cancel())
    .catch(() => undefined);
}
