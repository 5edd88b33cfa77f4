// What an operator can do next about a failed event (issue 16 #7): offered as buttons in its error
// dialog. A decision on the event's fields only; the dialog does the requests.
import type { LbEvent } from './types';

export type NextStep =
  | { kind: 'validate-target'; label: 'Validate target'; targetId: number; nodeId: number }
  | { kind: 'open-target'; label: 'Open target'; targetId: number }
  | { kind: 'run-again'; label: 'Run again'; jobId: number };

/** Errors about the target or the way to it: validating it again tells whether it is fixed. */
const TARGET_CLASSES = new Set(['connectivity', 'authentication', 'host-key', 'target-not-ready']);
const ENDED_BADLY = new Set(['failed', 'interrupted', 'cancelled']);

export function nextSteps(ev: Pick<LbEvent, 'kind' | 'status' | 'errorClass' | 'targetId' | 'jobId' | 'nodeId'>): NextStep[] {
  if (!ENDED_BADLY.has(ev.status)) return [];
  const steps: NextStep[] = [];
  if (ev.targetId != null && (ev.kind === 'validate' || TARGET_CLASSES.has(ev.errorClass ?? ''))) {
    steps.push({ kind: 'validate-target', label: 'Validate target', targetId: ev.targetId, nodeId: ev.nodeId });
    steps.push({ kind: 'open-target', label: 'Open target', targetId: ev.targetId });
  }
  // a restore is chosen again in its wizard (generation, snapshot, destination): no one-click repeat
  if (ev.kind === 'backup' && ev.jobId != null) steps.push({ kind: 'run-again', label: 'Run again', jobId: ev.jobId });
  return steps;
}
