// One word for a target in every picker (README, "Adding a target"): Ready, Failed or Not validated.
export type NodeState = 'ready' | 'not-validated' | 'failed' | 'config-changed' | 'host-key-pending';
export type Readiness = 'ready' | 'failed' | 'not-validated';

/**
 * A failure of the current settings on any node wins (a job on that node would fail); ready needs
 * the host key pinned (backups refuse an unpinned target) and one node that validated the current
 * settings; anything else (never validated, settings changed since, a key awaiting confirmation)
 * is not validated.
 */
export function targetReadiness(pinned: boolean, nodeStates: NodeState[]): Readiness {
  if (nodeStates.includes('failed')) return 'failed';
  if (pinned && nodeStates.includes('ready')) return 'ready';
  return 'not-validated';
}
