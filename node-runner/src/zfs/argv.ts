// Argument vectors of `zfs send` and `zfs recv`, built in one place for backups, resumed receives,
// restores and their size estimates (docs/zfs.md). Pure.
import type { ZfsCapabilities } from './parse.ts';

/** `zfs send -c -L -e`: which of them a stream uses (streamFlags). */
export interface StreamFlags {
  /** `-c`: blocks as compressed on disk (not decompressed for the stream, not recompressed by the receiver) */
  compressed: boolean;
  /** `-L`: blocks over 128 KiB stay whole */
  largeBlock: boolean;
  /** `-e`: embedded blocks stay embedded */
  embedded: boolean;
}

export const NO_STREAM_FLAGS: StreamFlags = { compressed: false, largeBlock: false, embedded: false };

type SendCaps = Pick<ZfsCapabilities, 'sendCompressed' | 'sendLargeBlock' | 'sendEmbedded'>;

/**
 * The stream flags for a stream from `sender` to `receiver` (docs/zfs.md "Stream options"): each
 * one only where BOTH sides' `zfs send` usage offers it. The receiver's send usage stands in for
 * what its `zfs recv` can take (recv's usage does not list stream features): zfs-fuse 0.7 has none
 * of them and cannot receive OpenZFS 2.x streams that use them. `compressed: false` (the job's
 * switch) drops `-c` only: `-L` must stay as it was for a dataset's later incrementals (OpenZFS
 * refuses an incremental without -L after a receive with it), and `-e` changes no data's form.
 */
export function streamFlags(sender: SendCaps, receiver: SendCaps, o: { compressed: boolean }): StreamFlags {
  return {
    compressed: o.compressed && sender.sendCompressed && receiver.sendCompressed,
    largeBlock: sender.sendLargeBlock && receiver.sendLargeBlock,
    embedded: sender.sendEmbedded && receiver.sendEmbedded,
  };
}

/** The flags as zfs send takes them (`-c -L -e`, those that are on), for argv and log lines. */
export function streamFlagArgs(f: StreamFlags): string[] {
  return [...(f.compressed ? ['-c'] : []), ...(f.largeBlock ? ['-L'] : []), ...(f.embedded ? ['-e'] : [])];
}

export interface SendSpec {
  /** the snapshot to send (`pool/ds@snap`) */
  snapshot: string;
  /** incremental from this snapshot or bookmark of the same dataset; absent: a full stream */
  base?: string | null;
  /** `-w`: the encrypted blocks as they are (keys never leave the node) */
  raw?: boolean;
  /** `-c -L -e` (streamFlags); not with `raw`: `-w` sends every block as it is on disk already */
  flags?: StreamFlags;
}

/**
 * `zfs send [-nvP] [-w | -c -L -e] [-i base] snap`; with `dryRun`, the size estimate of that stream.
 * A raw send takes no `-c -L -e`: zfs-send(8) says `-w` is `-Lec` for unencrypted data, and an
 * encrypted block is sent exactly as stored (compressed, whole, embedded as it is).
 */
export function sendArgv(s: SendSpec, opts: { dryRun?: boolean } = {}): string[] {
  const form = s.raw ? ['-w'] : streamFlagArgs(s.flags ?? NO_STREAM_FLAGS);
  return ['zfs', 'send', ...(opts.dryRun ? ['-nvP'] : []), ...form, ...(s.base ? ['-i', s.base] : []), s.snapshot];
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
  /**
   * A backup's full receive on the target: also `-o canmount=noauto -o readonly=on` where zfs has
   * `recv -o` (a volume: `readonly=on` only, it has no canmount), so the copy stays unmounted and
   * read-only on its own, not only by inheriting the job root's `mountpoint=none readonly=on`
   * (which is all zfs-fuse gets: no `zfs set` is added for it).
   */
  guardCopy?: 'filesystem' | 'volume' | null;
}

/** What a backup's full receive sets on the copy where zfs has `recv -o` (RecvSpec.guardCopy). */
export const RECEIVED_COPY_PROPS: Readonly<Record<string, string>> = { canmount: 'noauto', readonly: 'on' };

/**
 * `zfs recv [-s] [-u] [-o k=v …] target`. Never `-F`: a receive rolls nothing back and destroys
 * nothing on its side; `-u` where it exists, so nothing received is mounted.
 */
export function recvArgv(r: RecvSpec): string[] {
  const guard = r.guardCopy === 'filesystem' ? RECEIVED_COPY_PROPS : r.guardCopy === 'volume' ? { readonly: 'on' } : {};
  const all = { ...guard, ...r.props };
  const props = r.caps.recvSetProps ? Object.entries(all).flatMap(([k, v]) => ['-o', `${k}=${v}`]) : [];
  return ['zfs', 'recv', ...(r.resumable && r.caps.resumableRecv ? ['-s'] : []), ...(r.caps.recvNoMount ? ['-u'] : []), ...props, r.target];
}
