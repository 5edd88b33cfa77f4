// The Overview's first-run steps (issue 16 #11): what a fresh install needs before its first backup,
// which steps are done and which one to do next, decided from GET /overview alone. The page draws
// the list; the steps go once a job has a successful backup.
import type { Overview } from './types';

export type FirstRunKey = 'target' | 'validate' | 'node' | 'job' | 'run';
export type FirstRunState = 'done' | 'next' | 'todo';

/** What the steps are decided on. */
export interface FirstRunFacts {
  targets: number;
  /** Targets whose readiness is Ready (host key pinned, ready from a node). */
  targetsReady: number;
  nodesOnline: number;
  jobs: number;
  /** Some job has a successful backup: the install is set up. */
  backedUp: boolean;
}

export interface FirstRunStep {
  key: FirstRunKey;
  state: FirstRunState;
  /** Steps this one waits for while they are not done (a validation needs a node, a run a job). */
  waitsFor: FirstRunKey[];
}

/** In the order they are shown; each with the steps it cannot be done without. */
const STEPS: { key: FirstRunKey; needs: FirstRunKey[] }[] = [
  { key: 'target', needs: [] },
  { key: 'validate', needs: ['target', 'node'] },
  { key: 'node', needs: [] },
  { key: 'job', needs: ['target', 'node'] },
  { key: 'run', needs: ['job', 'validate', 'node'] },
];

/** From the counts, not the job lines: the Overview asks for the first few lines only. */
export function firstRunFacts(o: Pick<Overview, 'jobsTotal' | 'jobsBackedUp' | 'nodes' | 'targets'>): FirstRunFacts {
  return {
    targets: o.targets.total,
    targetsReady: o.targets.ready,
    nodesOnline: o.nodes.total - o.nodes.offline.length,
    jobs: o.jobsTotal,
    backedUp: o.jobsBackedUp > 0,
  };
}

/**
 * The steps with their states, or null once a job has backed up. Next is the first step not done
 * whose own needs are done, so it is always one that can be done now (with no node online, adding
 * one comes before validating the target).
 */
export function firstRunSteps(f: FirstRunFacts): FirstRunStep[] | null {
  if (f.backedUp) return null;
  const done: Record<FirstRunKey, boolean> = {
    target: f.targets > 0,
    validate: f.targetsReady > 0,
    node: f.nodesOnline > 0,
    job: f.jobs > 0,
    run: false,
  };
  let nextTaken = false;
  return STEPS.map(({ key, needs }) => {
    const waitsFor = done[key] ? [] : needs.filter((n) => !done[n]);
    let state: FirstRunState = 'todo';
    if (done[key]) state = 'done';
    else if (!nextTaken && waitsFor.length === 0) {
      state = 'next';
      nextTaken = true;
    }
    return { key, state, waitsFor };
  });
}
