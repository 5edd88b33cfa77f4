// Which runners a server talks to (README, Upgrading). Every runner request carries the protocol it
// speaks in X-Lifeboat-Runner-Protocol; the server answers 426 to one it cannot serve, with a message
// that says which side to upgrade. Raise RUNNER_PROTOCOL when the runner API changes incompatibly,
// and MIN_RUNNER_PROTOCOL when the server stops serving older runners.
export const RUNNER_PROTOCOL = 1;
export const MIN_RUNNER_PROTOCOL = 1;
export const RUNNER_PROTOCOL_HEADER = 'x-lifeboat-runner-protocol';

/**
 * Why a runner sending `header` cannot be served by a server speaking `current` that accepts `min`
 * and newer (`malformed`: the header is no protocol number), or null when it can. Runners from
 * before the header speak protocol 1.
 */
export function runnerProtocolError(
  header: string | undefined,
  min = MIN_RUNNER_PROTOCOL,
  current = RUNNER_PROTOCOL,
): { malformed: boolean; message: string } | null {
  const text = header?.trim();
  if (text !== undefined && !/^\d{1,6}$/.test(text)) return { malformed: true, message: 'must be a protocol number' };
  const spoken = text === undefined ? 1 : Number(text);
  if (spoken < min)
    return {
      malformed: false,
      message: `this runner speaks protocol ${spoken}, the server needs ${min} or newer: upgrade the runner (README, Upgrading)`,
    };
  if (spoken > current)
    return {
      malformed: false,
      message: `this runner speaks protocol ${spoken}, newer than the server's ${current}: upgrade the server first (README, Upgrading)`,
    };
  return null;
}
