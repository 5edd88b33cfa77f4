// Events: the kinds of work, their statuses, the phases a running one reports, and the classes of
// error a failed one carries. Written once for the control plane, the runner and the UI.

// 'remove-kept': destroy a replaced dataset a restore kept (docs/zfs.md, "Kept replaced datasets").
export const EVENT_KINDS = ['backup', 'restore', 'oob-restore', 'validate', 'browse', 'remove-kept'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const EVENT_STATUSES = ['queued', 'running', 'success', 'failed', 'interrupted', 'cancelled'] as const;
export type EventStatus = (typeof EVENT_STATUSES)[number];
/** Work not over yet: at most one of these per job (backups and restores). */
export const ACTIVE_STATUSES = ['queued', 'running'] as const satisfies readonly EventStatus[];
/** What a runner may report when it finishes an event. */
export const FINISHED_STATUSES = ['success', 'failed', 'interrupted', 'cancelled'] as const satisfies readonly EventStatus[];
export const isFinished = (s: string): s is (typeof FINISHED_STATUSES)[number] => (FINISHED_STATUSES as readonly string[]).includes(s);

export const PHASES = [
  'preparing',
  'stopping-guest',
  'snapshotting',
  'starting-guest',
  'transferring',
  'finalizing',
  'pruning',
  'swapping',
] as const;
export type Phase = (typeof PHASES)[number];

export const ERROR_CLASSES = [
  'connectivity',
  'authentication',
  'host-key',
  'target-not-ready',
  'zfs',
  'source-state',
  'cancelled',
  'internal',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];
