// The claim loop: long-poll for work, run events concurrently (never two on one dataset tree),
// report progress at least once a second, finish each event, stop cleanly on SIGTERM.
import { ApiRequestError, type RunnerClient } from './client.ts';
import type { RunnerRoutes } from './core/api.ts';
import { dispatch, treesOf, type ClaimedEvent, type RunnerSetup } from './dispatch.ts';

export type { ClaimedEvent };
import { GuestStartError } from './executors/guest-backup.ts';
import { ExecError, type Checkpoint, type EventLogLevel, type ExecContext, type ProgressReport } from './executors/types.ts';
import type { Logger } from '../../protocol/src/log.ts';

export interface LoopOptions {
  concurrency: number;
  setup: RunnerSetup;
  log: Logger;
  /** Called after every claim round trip (for tests and metrics). */
  onClaim?: (events: ClaimedEvent[]) => void;
  /** The server asks for the inventory now (a user is choosing among this node's datasets). */
  onInventoryWanted?: () => void;
  /** Fault testing (`--crash-at`): called when an executor reaches this checkpoint. */
  crashAt?: { name: Checkpoint; crash: (name: Checkpoint, eventId: number) => void } | null;
}

const HEARTBEAT_MS = 1000;
/** A progress report not answered within this is given up; the next beat sends again (the server's lease is 30 s by default). */
const REPORT_TIMEOUT_MS = 20_000;

export class RunnerLoop {
  private running = new Map<number, { ctl: AbortController; trees: string[]; done: Promise<void> }>();
  private stopping = new AbortController();

  constructor(
    private client: RunnerClient,
    private opts: LoopOptions,
  ) {}

  async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const free = this.opts.concurrency - this.running.size;
      if (free <= 0) {
        await Promise.race([...this.running.values()].map((r) => r.done));
        continue;
      }
      let events: ClaimedEvent[];
      try {
        const res = await this.client.post('/runner/claim', { max: free }, { signal: this.stopping.signal, retries: 0 });
        events = res.events;
        if (res.inventoryWanted) this.opts.onInventoryWanted?.();
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        // revoked, or a server that cannot serve this runner (426: upgrade one side): nothing to retry
        if (err instanceof ApiRequestError && (err.status === 401 || err.status === 426)) throw err;
        this.opts.log.warn(`claim failed (${(err as Error).message}); retrying`);
        await sleep(2000, this.stopping.signal);
        continue;
      }
      this.opts.onClaim?.(events);
      for (const ev of events) this.start(ev);
    }
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** SIGTERM: stop claiming, abort running work, and report it as interrupted. */
  async stop(): Promise<void> {
    this.stopping.abort();
    for (const r of this.running.values()) r.ctl.abort(new Error('shutdown'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  private start(ev: ClaimedEvent) {
    const ctl = new AbortController();
    const trees = treesOf(ev);
    const entry = { ctl, trees, done: Promise.resolve() };
    this.running.set(ev.id, entry);
    entry.done = this.execute(ev, ctl, trees).finally(() => this.running.delete(ev.id));
  }

  private treeBusy(id: number, trees: string[]) {
    for (const [other, r] of this.running) {
      if (other === id) continue;
      if (r.trees.some((a) => trees.some((b) => a === b || a.startsWith(b + '/') || b.startsWith(a + '/')))) return true;
    }
    return false;
  }

  private async execute(ev: ClaimedEvent, ctl: AbortController, trees: string[]) {
    const log = this.opts.log;
    let latest: ProgressReport = { phase: 'preparing' };
    let lines: { ts: string; level: EventLogLevel; message: string }[] = [];
    let lost = false;
    const send = async () => {
      const batch = lines;
      lines = [];
      try {
        // given up after REPORT_TIMEOUT_MS (its lines kept for the next beat): one report at a time
        // (below), so a connection that never answers must not stop the reports
        const res = await this.client.post(
          `/runner/events/${ev.id}/progress`,
          { ...latest, log: batch },
          { retries: 2, signal: AbortSignal.timeout(REPORT_TIMEOUT_MS) },
        );
        if (res.cancelRequested && !ctl.signal.aborted) ctl.abort(new Error('cancel'));
      } catch (err) {
        if (err instanceof ApiRequestError && (err.status === 404 || err.status === 409)) {
          lost = true; // the server no longer considers this ours (lease expired, cancelled)
          if (!ctl.signal.aborted) ctl.abort(new Error('lost'));
        } else {
          lines = batch.concat(lines); // keep the lines for the next beat
        }
      }
    };
    // One report at a time: a beat while the last one is still in flight is skipped, so an
    // overloaded server is not sent more reports than it answers (tests/faults/load.test.ts saw
    // reports answered after the lease ran out; this alone did not cure that).
    let reporting: Promise<void> | null = null;
    const heartbeat = setInterval(() => {
      reporting ??= send().finally(() => (reporting = null));
    }, HEARTBEAT_MS);
    const ctx: ExecContext = {
      eventId: ev.id,
      progress: (p) => {
        latest = { ...latest, ...p };
      },
      log: (message, level = 'info') => {
        lines.push({ ts: new Date().toISOString(), level, message });
        // the runner's own log repeats the event's warnings and errors; its other lines at debug
        log[level === 'info' ? 'debug' : level](message, { event: ev.id });
      },
      signal: ctl.signal,
      eventStatus: async (ids) => {
        const res = await this.client.post('/runner/events/status', { ids }, { retries: 2 });
        return new Map(res.events.map((e) => [e.id, e.status]));
      },
    };
    const crashAt = this.opts.crashAt;
    if (crashAt)
      ctx.checkpoint = (name) => {
        if (name === crashAt.name) crashAt.crash(name, ev.id);
      };
    let finish: Omit<RunnerRoutes[`/runner/events/${number}/finish`]['req'], 'log'>;
    try {
      if (ev.note) ctx.log(ev.note);
      while (this.treeBusy(ev.id, trees) && !ctl.signal.aborted) {
        ctx.log(`waiting: another event of this runner works on ${trees.join(', ')}`);
        await sleep(1000, ctl.signal);
      }
      const result = await dispatch(ev, ctx, this.opts.setup);
      finish = { status: 'success', result };
    } catch (err) {
      const reason = String((ctl.signal.reason as Error | undefined)?.message ?? '');
      if (ctl.signal.aborted && reason === 'shutdown') {
        finish = { status: 'interrupted', error: 'runner stopped (SIGTERM) while this event was running', errorClass: 'interrupted' };
      } else if (ctl.signal.aborted && reason === 'cancel') {
        finish = { status: 'cancelled', error: 'cancelled by request', errorClass: 'cancelled' };
      } else if (err instanceof GuestStartError) {
        // The data went through; the guest did not come back. Report both.
        finish = { status: 'failed', error: err.message, errorClass: err.errorClass, result: { ...err.result } };
      } else if (err instanceof ExecError) {
        finish = { status: err.errorClass === 'cancelled' ? 'cancelled' : 'failed', error: err.message, errorClass: err.errorClass };
      } else {
        finish = { status: 'failed', error: `internal error: ${(err as Error)?.message ?? err}`, errorClass: 'internal' };
      }
    } finally {
      clearInterval(heartbeat);
      await reporting; // its lines, should it fail, go with the finish below
    }
    // where it stopped: the last phase reported to ctx, which the last heartbeat may have missed
    if (finish.status !== 'success') finish.phase = latest.phase ?? null;
    if (lost) {
      log.warn('no longer ours on the server; result not reported', { event: ev.id });
      return;
    }
    try {
      await this.client.post(`/runner/events/${ev.id}/finish`, { ...finish, log: lines }, { retries: 10 });
      const line = `${ev.kind} ${finish.status}${finish.error ? `: ${finish.error}` : ''}`;
      (finish.status === 'success' ? log.info : log.warn)(line, { event: ev.id });
    } catch (err) {
      log.error(`could not report the result: ${(err as Error).message}`, { event: ev.id });
    }
  }
}

function sleep(ms: number, signal?: AbortSignal) {
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
