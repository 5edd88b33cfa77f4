// Counting the bytes of a ZFS stream without carrying it through Node (stream-pipe.ts).
//
// The stream goes between `zfs send`/`zfs recv` and ssh over an OS socket (no copy in this process),
// so it is counted where ssh reads it (a backup: `rchar` in /proc/<pid>/io) or writes it (a restore:
// `wchar`). With a ControlMaster that is the master, because the mux client hands its descriptors to
// the master (fd passing). The counter also counts the master's other I/O during the transfer (the
// mux request and the other side's SSH packets: window adjusts, exit status), measured here at a few
// hundred bytes plus ~0.05 % of the stream; bytes reported are therefore "≈ stream size".
// Where /proc/<pid>/io is not readable (FreeBSD, hardened /proc) the caller pipes through Node.
import { readFileSync } from 'node:fs';

export type IoCounter = 'rchar' | 'wchar';

/** A process's `rchar` or `wchar`, or null when /proc/<pid>/io cannot be read. */
export function readIoCounter(pid: number, counter: IoCounter): number | null {
  try {
    const m = new RegExp(`^${counter}:\\s*(\\d+)$`, 'm').exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Bytes a process has read (or written) since the meter was created. */
export class IoMeter {
  private last: number;

  private constructor(
    private readonly pid: number,
    private readonly counter: IoCounter,
    private readonly start: number,
  ) {
    this.last = start;
  }

  /** A meter for `pid`, or null when its counter is not available here. */
  static open(pid: number | null | undefined, counter: IoCounter): IoMeter | null {
    if (!pid) return null;
    const start = readIoCounter(pid, counter);
    return start === null ? null : new IoMeter(pid, counter, start);
  }

  /** Bytes so far (keeps the last good value once the process is gone). */
  read(): number {
    const now = readIoCounter(this.pid, this.counter);
    if (now !== null && now >= this.last) this.last = now;
    return this.last - this.start;
  }
}
