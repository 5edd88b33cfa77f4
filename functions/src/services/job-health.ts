// Is a job OK? From the summary of its last backups that the database keeps on the job row
// (drizzle/migrations/0010, trigger events_finish_job) and its recovery point objective (RPO): a
// backup must have succeeded within it. Pure, with a table test beside it (job-health.test.ts).
import { nextRuns } from '../lib/schedule.ts';

export type HealthState = 'ok' | 'overdue' | 'failing' | 'disabled';
export interface JobHealth {
  state: HealthState;
  reason: string;
  /** epoch ms since when the state holds (null: not known, e.g. ok before any backup) */
  since: number | null;
}

/** How many upcoming runs the default RPO looks at: enough for a weekly pattern of daily runs. */
const LOOKAHEAD_RUNS = 9;

/**
 * The RPO a job gets when it sets none: twice the longest interval between its next runs (a
 * weekdays-only schedule: twice the weekend gap); null for a job without a schedule.
 */
export function defaultRpoSeconds(schedule: string, timezone: string, at: number): number | null {
  if (!schedule) return null;
  const runs = nextRuns(schedule, timezone, at, LOOKAHEAD_RUNS);
  let gap = 0;
  for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i] - runs[i - 1]);
  return gap > 0 ? Math.round((2 * gap) / 1000) : null;
}

/** A duration as people say it: `90 s`, `45 min`, `26 h`, `3 d`. */
export function humanSeconds(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} min`;
  if (s < 3 * 86_400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

export interface HealthInput {
  enabled: boolean;
  updatedAt: number;
  createdAt: number;
  lastSuccessAt: number | null;
  lastBackupStatus: string | null;
  failingSince: number | null;
  rpoEffectiveSeconds: number | null;
}

/** disabled, else failing (the last backups failed), else overdue (no success within the RPO), else ok. */
export function jobHealth(j: HealthInput, now: number): JobHealth {
  if (!j.enabled) return { state: 'disabled', reason: 'the job is disabled', since: j.updatedAt };
  if (j.failingSince !== null)
    return {
      state: 'failing',
      reason: `the last backup ${j.lastBackupStatus === 'interrupted' ? 'was interrupted' : 'failed'}`,
      since: j.failingSince,
    };
  if (j.rpoEffectiveSeconds !== null) {
    const deadline = (j.lastSuccessAt ?? j.createdAt) + j.rpoEffectiveSeconds * 1000;
    if (now > deadline)
      return {
        state: 'overdue',
        reason:
          j.lastSuccessAt === null
            ? `no successful backup yet, ${humanSeconds(j.rpoEffectiveSeconds)} after the job was created (RPO)`
            : `no successful backup within ${humanSeconds(j.rpoEffectiveSeconds)} (RPO)`,
        since: deadline,
      };
  }
  return {
    state: 'ok',
    reason: j.lastSuccessAt === null ? 'no backup yet' : 'the last backup succeeded',
    since: j.lastSuccessAt,
  };
}
