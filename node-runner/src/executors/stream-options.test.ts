// planStream (stream-options.ts): flags from both ends' capabilities and the job's switch; the limit; the log lines.
import { describe, expect, it } from 'vitest';
import { planStream } from './stream-options.ts';

const ozfs = { sendCompressed: true, sendLargeBlock: true, sendEmbedded: true };
const fuse = { sendCompressed: false, sendLargeBlock: false, sendEmbedded: false };

describe('planStream', () => {
  it.each([
    ['OpenZFS both ends, default', ozfs, ozfs, undefined, ['stream: zfs send -c -L -e']],
    ['the job turns compressed streams off', ozfs, ozfs, false, ['stream: zfs send -L -e (compressed streams off for this job)']],
    ['zfs-fuse at one end', ozfs, fuse, true, ['stream: plain zfs send, no -c -L -e (not supported by both ends)']],
    ['zfs-fuse both ends, switch off', fuse, fuse, false, ['stream: plain zfs send, no -c -L -e (compressed streams off for this job)']],
  ])('%s', (_, sender, receiver, compressed, notes) => {
    const p = planStream({ sender, receiver, compressed, jobLimit: null, targetLimit: null });
    expect(p.notes).toEqual(notes);
    expect(p.limitBps).toBeNull();
  });

  it.each([
    [1024, 0, 1024 * 1024, 'bandwidth limit: 1024 KiB/s (1.0 MiB/s) (job 1024 KiB/s, target unlimited; the lower wins)'],
    [null, 512, 512 * 1024, 'bandwidth limit: 512 KiB/s (job unlimited, target 512 KiB/s; the lower wins)'],
    [2048, 1024, 1024 * 1024, 'bandwidth limit: 1024 KiB/s (1.0 MiB/s) (job 2048 KiB/s, target 1024 KiB/s; the lower wins)'],
  ])('job %s, target %s: %s B/s', (jobLimit, targetLimit, bps, note) => {
    const p = planStream({ sender: fuse, receiver: fuse, compressed: true, jobLimit, targetLimit });
    expect(p.limitBps).toBe(bps);
    expect(p.notes[1]).toBe(`${note}: the stream passes through the runner`);
  });
});
