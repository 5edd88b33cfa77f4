// How a run's streams are sent (docs/zfs.md "Stream options"): the `zfs send -c -L -e` flags both
// ends support (argv.ts streamFlags) and the bandwidth limit (protocol/src/bandwidth.ts), with the
// log lines that say what was chosen and why. Pure; backups and restores call it with the sender's
// and the receiver's capabilities (a restore: the target sends, this node receives).
import { effectiveLimitBps, formatLimit, type KiBps } from '../../../protocol/src/bandwidth.ts';
import { streamFlagArgs, streamFlags, type StreamFlags } from '../zfs/argv.ts';
import type { ZfsCapabilities } from '../zfs/parse.ts';

type SendCaps = Pick<ZfsCapabilities, 'sendCompressed' | 'sendLargeBlock' | 'sendEmbedded'>;

export interface StreamPlanInput {
  sender: SendCaps;
  receiver: SendCaps;
  /** The job's switch (absent from older servers: on). An out-of-band restore has no job: on. */
  compressed: boolean | undefined;
  /** KiB/s; 0/null: none. */
  jobLimit: KiBps;
  targetLimit: KiBps;
}

export interface StreamPlan {
  flags: StreamFlags;
  /** Bytes per second, null: unlimited. */
  limitBps: number | null;
  notes: string[];
}

export function planStream(i: StreamPlanInput): StreamPlan {
  const wanted = i.compressed !== false;
  const flags = streamFlags(i.sender, i.receiver, { compressed: wanted });
  const args = streamFlagArgs(flags);
  const notes: string[] = [];
  const missing = !i.sender.sendCompressed || !i.receiver.sendCompressed ? ' (not supported by both ends)' : '';
  if (args.length) notes.push(`stream: zfs send ${args.join(' ')}${wanted ? '' : ' (compressed streams off for this job)'}`);
  else notes.push(`stream: plain zfs send, no -c -L -e${wanted ? missing : ' (compressed streams off for this job)'}`);
  const limitBps = effectiveLimitBps(i.jobLimit, i.targetLimit);
  if (limitBps !== null) {
    const part = (what: string, v: KiBps) => `${what} ${v ? `${v} KiB/s` : 'unlimited'}`;
    notes.push(
      `bandwidth limit: ${formatLimit(limitBps)} (${part('job', i.jobLimit)}, ${part('target', i.targetLimit)}; the lower wins): the stream passes through the runner`,
    );
  }
  return { flags, limitBps, notes };
}
