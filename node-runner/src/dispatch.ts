// Event kind → executor. The server already decided what to do; executors do it and report facts.
import { ExecError, type ExecContext } from './executors/types.ts';
import { validateTarget } from './executors/validate.ts';
import { browseTarget } from './executors/browse.ts';
import type { GuestsConfig } from './guests/types.ts';
import type { ClaimedEvent } from '../../protocol/src/runner-api.ts';

/** An event as a claim hands it out: one member per kind, each with its own parameters. */
export type { ClaimedEvent };

/** What this runner was configured with that executors need. */
export interface RunnerSetup {
  guests: GuestsConfig;
}

/** Dataset trees an event works on locally (for the one-event-per-tree rule). */
export function treesOf(ev: ClaimedEvent): string[] {
  if (ev.kind === 'backup' || ev.kind === 'restore') return ev.job.mode === 'dataset' ? [ev.job.source] : [`guest:${ev.job.source}`];
  if (ev.kind === 'oob-restore') return [ev.params.destination];
  if (ev.kind === 'remove-kept') return [ev.params.dataset];
  return [];
}

export async function dispatch(ev: ClaimedEvent, ctx: ExecContext, setup: RunnerSetup): Promise<Record<string, unknown>> {
  switch (ev.kind) {
    case 'validate':
      return { ...(await validateTarget(ev.target, ctx)) };
    case 'browse':
      return { catalog: await browseTarget(ev.target, ctx) };
    case 'backup': {
      const { runGuestBackup } = await import('./executors/guest-backup.ts');
      const res = await runGuestBackup(
        {
          target: ev.target,
          job: ev.job,
          generation: ev.generation,
          nextGeneration: ev.nextGeneration,
          forkFrom: ev.forkFrom,
          catalogDatasets: ev.catalogDatasets,
          dropGenerations: ev.dropGenerations,
        },
        ctx,
        setup.guests,
      );
      return { ...res };
    }
    case 'restore': {
      const { runGuestJobRestore } = await import('./executors/guest-restore.ts');
      const { generation, snapshot, guid, dataset, keepReplaced } = ev.params; // only these: `guest` is the runner's own
      return {
        ...(await runGuestJobRestore(
          { target: ev.target, job: ev.job, generation, snapshot, guid, dataset, keepReplaced },
          ctx,
          setup.guests,
        )),
      };
    }
    case 'oob-restore': {
      const { runGuestOobRestore } = await import('./executors/guest-restore.ts');
      return { ...(await runGuestOobRestore({ target: ev.target, ...ev.params }, ctx, setup.guests)) };
    }
    case 'remove-kept': {
      const { removeKept } = await import('./executors/remove-kept.ts');
      return { ...(await removeKept(ev.params, ctx)) };
    }
    default:
      // a server newer than this runner
      throw new ExecError('internal', `this runner cannot run "${(ev as { kind: string }).kind}" events`);
  }
}
