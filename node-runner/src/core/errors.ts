// The runner's one error type: what failed, classified (protocol/src/events.ts ERROR_CLASSES), with
// a message fit for the event log. Every layer (zfs, ssh, guests, executors) throws it; the loop
// reports `errorClass` and `message` on the event.
import type { ErrorClass } from '../../../protocol/src/events.ts';

export type { ErrorClass };

export class ExecError extends Error {
  constructor(
    public errorClass: ErrorClass,
    message: string,
  ) {
    super(message);
  }
}

/** Anything thrown, as an ExecError (an unexpected one is 'internal'). */
export function asExecError(e: unknown): ExecError {
  if (e instanceof ExecError) return e;
  return new ExecError('internal', e instanceof Error ? e.message : String(e));
}
