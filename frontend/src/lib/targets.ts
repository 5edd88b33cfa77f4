// How a target reads in every picker (README, "Adding a target"): its name and its readiness.
import type { Target } from './types';

const READINESS: Record<Target['readiness'], string> = { ready: 'Ready', failed: 'Failed', 'not-validated': 'Not validated' };

export function targetOptionLabel(t: Pick<Target, 'name' | 'readiness' | 'enabled'>): string {
  return `${t.name} — ${READINESS[t.readiness] ?? 'Not validated'}${t.enabled ? '' : ' (disabled)'}`;
}
