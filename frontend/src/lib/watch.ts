// Follow a queued event until it leaves queued/running (used after Validate and Refresh).
import { ACTIVE_STATUSES } from '$protocol/events';
import { api } from './api';
import type { Id, LbEvent } from './types';

export const ACTIVE = new Set<string>(ACTIVE_STATUSES);

export async function waitForEvent(
  id: Id,
  opts: { signal?: AbortSignal; timeoutMs?: number; onUpdate?: (e: LbEvent) => void } = {},
): Promise<LbEvent | null> {
  const until = Date.now() + (opts.timeoutMs ?? 120_000);
  while (Date.now() < until && !opts.signal?.aborted) {
    const ev = await api.get<LbEvent>(`/events/${id}`);
    opts.onUpdate?.(ev);
    if (!ACTIVE.has(ev.status)) return ev;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return null;
}
