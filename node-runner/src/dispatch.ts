// Event kind → executor. The server already decided what to do; executors do it and report facts.
import { ExecError, type ExecContext } from './executors/types.ts';
import { validateTarget } from './executors/validate.ts';
import { browseTarget } from './executors/browse.ts';
import type { GuestsConfig } from './guests/types.ts';

/** An event as a claim hands it out (functions/src/contract/runner.ts ClaimResponse). */
export interface ClaimedEvent {
  id: number; kind: string; trigger: string; note: string | null; leaseUntil: string;
  target: any; job: any; generation: number | null; nextGeneration: number | null;
  forkFrom: { generation: number; snapshotGuid: string } | null; params: Record<string, any> | null;
  catalogDatasets?: string[] | null;
}

/** What this runner was configured with that executors need. */
export interface RunnerSetup { guests: GuestsConfig }

/** Dataset trees an event works on locally (for the one-event-per-tree rule). */
export function treesOf(ev: ClaimedEvent): string[] {
  if (ev.kind === 'backup' || ev.kind === 'restore') return ev.job?.mode === 'dataset' ? [ev.job.source] : [`guest:${ev.job?.source}`];
  if (ev.kind === 'oob-restore' && ev.params?.destination) return [String(ev.params.destination)];
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
      const res = await runGuestBackup({
        target: ev.target, job: ev.job, generation: ev.generation!, nextGeneration: ev.nextGeneration!, forkFrom: ev.forkFrom,
        catalogDatasets: ev.catalogDatasets ?? null,
      }, ctx, setup.guests);
      return { ...res };
    }
    case 'restore': {
      const { runGuestJobRestore } = await import('./executors/guest-restore.ts');
      const p = ev.params ?? {};
      // Only the named fields: test-only switches never come from the server.
      return { ...(await runGuestJobRestore({
        target: ev.target, job: ev.job, generation: Number(p.generation), snapshot: String(p.snapshot), guid: String(p.guid), dataset: String(p.dataset),
      }, ctx, setup.guests)) };
    }
    case 'oob-restore': {
      const { runGuestOobRestore } = await import('./executors/guest-restore.ts');
      const p = ev.params ?? {};
      return { ...(await runGuestOobRestore({
        target: ev.target, dataset: String(p.dataset), snapshotDataset: String(p.snapshotDataset), generation: p.generation ?? null,
        snapshot: String(p.snapshot), guid: String(p.guid), destination: String(p.destination), restoreNetwork: !!p.restoreNetwork,
        overwrite: !!p.overwrite, guest: p.guest ?? null, newGuestId: p.newGuestId ?? null, sourceJobId: p.sourceJobId ?? null,
        network: p.network !== null && typeof p.network === 'object' && !Array.isArray(p.network) ? p.network : null,
      }, ctx, setup.guests)) };
    }
    default:
      throw new ExecError('internal', `this runner cannot run "${ev.kind}" events`);
  }
}
