// Counting the bytes of a send stream without carrying it through Node.
//
// The stream goes from `zfs send` straight into ssh over an OS socket (no copy in this process),
// so it is counted where it is read: `rchar` in /proc/<pid>/io of the ssh process that reads it.
// With a ControlMaster that is the master, because the mux client hands its stdin descriptor to
// the master (fd passing). rchar also counts the master's other reads during the transfer (the
// mux request and the server's SSH packets: window adjusts, exit status), measured here at a few
// hundred bytes plus ~0.05 % of the stream; bytes reported are therefore "≈ stream size".
// Where /proc/<pid>/io is not readable (FreeBSD, hardened /proc) the caller pipes through Node.
import { readFileSync } from 'node:fs';

/** `rchar` of a process, or null when /proc/<pid>/io cannot be read. */
export function readRchar(pid: number): number | null {
  try {
    const m = /^rchar:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Bytes a process has read since the meter was created. */
export class ReadMeter {
  private last: number;

  private constructor(private readonly pid: number, private readonly start: number) { this.last = start; }

  /** A meter for `pid`, or null when its read counter is not available here. */
  static open(pid: number | null | undefined): ReadMeter | null {
    if (!pid) return null;
    const start = readRchar(pid);
    return start === null ? null : new ReadMeter(pid, start);
  }

  /** Bytes read so far (keeps the last good value once the process is gone). */
  read(): number {
    const now = readRchar(this.pid);
    if (now !== null && now >= this.last) this.last = now;
    return this.last - this.start;
  }
}
