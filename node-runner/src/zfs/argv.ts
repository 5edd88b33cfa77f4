// Argument vectors of `zfs send` and `zfs recv`, built in one place for backups, resumed receives,
// restores and their size estimates (docs/zfs.md). Pure.
import type { ZfsCapabilities } from './parse.ts';

export interface SendSpec {
  /** the snapshot to send (`pool/ds@snap`) */
  snapshot: string;
  /** incremental from this snapshot or bookmark of the same dataset; absent: a full stream */
  base?: string | null;
  /** `-w`: the encrypted blocks as they are (keys never leave the node) */
  raw?: boolean;
}

/** `zfs send [-nvP] [-w] [-i base] snap`; with `dryRun`, the size estimate of that stream. */
export function sendArgv(s: SendSpec, opts: { dryRun?: boolean } = {}): string[] {
  return ['zfs', 'send', ...(opts.dryRun ? ['-nvP'] : []), ...(s.raw ? ['-w'] : []), ...(s.base ? ['-i', s.base] : []), s.snapshot];
}

/** `zfs send [-nvP] -t <token>`: the rest of an interrupted receive. */
export function resumeSendArgv(token: string, opts: { dryRun?: boolean } = {}): string[] {
  return ['zfs', 'send', ...(opts.dryRun ? ['-nvP'] : []), '-t', token];
}

export interface RecvSpec {
  /** the dataset to receive into */
  target: string;
  /** what the receiving zfs has */
  caps: Pick<ZfsCapabilities, 'resumableRecv' | 'recvNoMount' | 'recvSetProps'>;
  /** `-s` where it exists: a cut stream leaves a resume token (resume.ts) */
  resumable: boolean;
  /** `-o k=v` on the received dataset where zfs has it (else the caller sets them afterwards) */
  props?: Record<string, string>;
}

/**
 * `zfs recv [-s] [-u] [-o k=v …] target`. Never `-F`: a receive rolls nothing back and destroys
 * nothing on its side; `-u` where it exists, so nothing received is mounted.
 */
export function recvArgv(r: RecvSpec): string[] {
  const props = r.caps.recvSetProps ? Object.entries(r.props ?? {}).flatMap(([k, v]) => ['-o', `${k}=${v}`]) : [];
  return ['zfs', 'recv', ...(r.resumable && r.caps.resumableRecv ? ['-s'] : []), ...(r.caps.recvNoMount ? ['-u'] : []), ...props, r.target];
}
