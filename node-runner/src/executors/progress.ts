// Transfer progress: bytes counted in the Node pipe, rate over a sliding window, ETA from the estimate.
import type { Checkpoint, ExecContext, Phase } from './types.ts';

/** Bytes after which a transfer passes its mid-transfer checkpoint (fault tests). */
export const MID_TRANSFER_BYTES = 1 << 20;

export class TransferProgress {
  bytesDone = 0;
  private samples: { t: number; b: number }[] = [];
  private timer: NodeJS.Timeout | null = null;

  private midPassed = false;

  /** `mid`: the checkpoint passed once MID_TRANSFER_BYTES have been counted. */
  constructor(
    private readonly ctx: ExecContext,
    public bytesTotal: number | null,
    private readonly windowMs = 5000,
    private readonly mid: Checkpoint | null = null,
  ) {}

  add(n: number): void {
    this.bytesDone += n;
    if (this.mid && !this.midPassed && this.bytesDone >= MID_TRANSFER_BYTES) {
      this.midPassed = true;
      this.ctx.checkpoint?.(this.mid);
    }
  }

  /** bytes/s over the last window (null until there is a second sample) */
  rate(now = Date.now()): number | null {
    this.samples.push({ t: now, b: this.bytesDone });
    while (this.samples.length > 2 && now - this.samples[0].t > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const dt = (now - first.t) / 1000;
    if (dt <= 0.2) return null;
    return Math.max(0, (this.bytesDone - first.b) / dt);
  }

  report(phase: Phase = 'transferring'): void {
    const rate = this.rate();
    // the estimate can be low (zfs-fuse has no send -nvP): never report a total below what was sent
    const total = this.bytesTotal === null ? null : Math.max(this.bytesTotal, this.bytesDone);
    const eta = total !== null && rate && rate > 0 ? Math.max(0, Math.round((total - this.bytesDone) / rate)) : null;
    this.ctx.progress({
      phase,
      bytesDone: this.bytesDone,
      bytesTotal: total,
      rateBps: rate === null ? null : Math.round(rate),
      etaSeconds: eta,
    });
  }

  /** Report every `everyMs` (≤ 1 s) until stop(). */
  start(everyMs = 500): void {
    this.samples = [{ t: Date.now(), b: this.bytesDone }];
    this.report();
    this.timer = setInterval(() => this.report(), everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.report();
  }
}
