// The fleet's due runs in one batch on Workers (README, "Fleet scale"): with schedules spread over
// the hour a 1,000-node fleet has about 175 jobs due in the same second. Created by each node's own
// claim round (a read of its due jobs, a write per run), they queued in D1's one queue and every run
// waited seconds. Instead each node's ClaimWaker, when its alarm (or the cron) says a job is due and
// a claim of it is held, asks this one object to schedule: the requests that arrive while a batch is
// being written go into the next one, so that second costs a few batches (queue.ts
// scheduleDueBatch, the same guarded statements), and the woken claims only claim.
import type { DB } from './db/types.ts';
import type { DurableObjectState } from './worker-waker.ts';
import { d1Database } from './worker-db.ts';
import { scheduleDueBatch } from './services/queue.ts';

/** The one DueScheduler object (idFromName): one queue of batches for the fleet. */
export const DUE_SCHEDULER_NAME = 'due-runs';

export class DueScheduler {
  /** node → the requests waiting for a batch that includes it */
  private pending = new Map<number, (() => void)[]>();
  private flushing = false;
  private db: DB;

  constructor(_state: DurableObjectState, env: { DB: unknown }) {
    this.db = d1Database(env.DB);
  }

  /** POST /schedule?node=<id>: answered once a batch that included the node is written (or failed: then its claim schedules its own). */
  async fetch(request: Request): Promise<Response> {
    const node = Number(new URL(request.url).searchParams.get('node'));
    if (!Number.isSafeInteger(node) || node <= 0) return new Response('node: a positive integer', { status: 400 });
    const written = new Promise<void>((resolve) => {
      const waiting = this.pending.get(node);
      if (waiting) waiting.push(resolve);
      else this.pending.set(node, [resolve]);
    });
    if (!this.flushing) void this.flush();
    await written;
    return new Response('ok');
  }

  private async flush() {
    this.flushing = true;
    try {
      while (this.pending.size) {
        const batch = this.pending;
        this.pending = new Map();
        try {
          await scheduleDueBatch(this.db, [...batch.keys()], Date.now());
        } catch (e) {
          // the woken claims schedule their own due runs, as without this object
          console.error(`due runs batch failed: ${(e as Error).message}`);
        }
        for (const waiting of batch.values()) for (const done of waiting) done();
      }
    } finally {
      this.flushing = false;
    }
  }
}
