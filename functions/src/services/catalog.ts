// The target catalog: what runners found on a target, so restore dialogs list it without SSH.
import { jobRoot, targetPath } from '../../../protocol/src/layout.ts';
import { and, eq, inArray } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import { catalogDatasets, catalogSnapshots } from '../db/schema.ts';
import type { DB } from '../db/types.ts';
import { iso } from '../lib/http.ts';

type DatasetRow = typeof catalogDatasets.$inferSelect;
type SnapshotRow = typeof catalogSnapshots.$inferSelect;

export interface ReportedDataset {
  dataset: string;
  jobId: number | null;
  generation: number | null;
  source: string | null;
  guest: Record<string, unknown> | null;
  snapshots: {
    name: string;
    guid: string;
    createtxg: string;
    createdAt: string;
    usedBytes: number;
    referencedBytes: number;
    jobId: number | null;
    generation: number | null;
  }[];
}

const snapView = (s: SnapshotRow) => ({
  name: s.name,
  guid: s.guid,
  createdAt: iso(s.createdAt),
  usedBytes: s.usedBytes,
  referencedBytes: s.referencedBytes,
  dataset: s.dataset,
});

/** A new dataset beside the source for an out-of-band restore: `<source>-restore-<yyyymmdd-hhmm>` (UTC), never the live source. */
export function suggestedRestoreDestination(source: string, at: number): string {
  const iso = new Date(at).toISOString(); // 2026-11-30T04:10:59.000Z
  return `${source}-restore-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 16).replace(':', '')}`;
}

/**
 * One item per backed-up source (job + source path). Generation membership comes from the
 * lifeboat:generation property of each snapshot, not from the dataset it sits in (a promote moves them).
 */
export function catalogView(backupRoot: string, datasets: DatasetRow[], snapshots: SnapshotRow[], at: number) {
  const sourceOf = new Map(datasets.map((d) => [d.dataset, d]));
  const items = new Map<
    string,
    {
      dataset: string;
      jobId: number | null;
      source: string | null;
      guest: Record<string, unknown> | null;
      gens: Map<number, { dataset: string; snapshots: SnapshotRow[] }>;
    }
  >();
  for (const d of datasets) {
    const key = d.jobId != null && d.source ? `${d.jobId}\u0000${d.source}` : `\u0000${d.dataset}`;
    let item = items.get(key);
    if (!item) items.set(key, (item = { dataset: d.dataset, jobId: d.jobId, source: d.source, guest: d.guest ?? null, gens: new Map() }));
    const g = d.generation ?? 0;
    if (!item.gens.has(g)) item.gens.set(g, { dataset: d.dataset, snapshots: [] });
    if ((d.generation ?? 0) >= Math.max(...item.gens.keys())) item.dataset = d.dataset;
    if (d.guest) item.guest = d.guest;
  }
  for (const s of snapshots) {
    const d = sourceOf.get(s.dataset);
    if (!d) continue;
    const key = d.jobId != null && d.source ? `${d.jobId}\u0000${d.source}` : `\u0000${d.dataset}`;
    const item = items.get(key)!;
    const g = s.generation ?? d.generation ?? 0;
    if (!item.gens.has(g)) {
      item.gens.set(g, { dataset: d.source && d.jobId != null ? targetPath(backupRoot, d.jobId, g, d.source) : d.dataset, snapshots: [] });
    }
    item.gens.get(g)!.snapshots.push(s);
  }
  return [...items.values()].map((it) => ({
    dataset: it.dataset,
    jobId: it.jobId,
    source: it.source,
    guest: it.guest,
    // Beside the original path, never onto it (for a guest: beside the root its metadata names).
    suggestedDestination: it.source ? suggestedRestoreDestination(it.source, at) : null,
    generations: [...it.gens.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([generation, g]) => ({
        generation,
        dataset: g.dataset,
        snapshots: g.snapshots.map(snapView),
      })),
  }));
}

/**
 * The part of a node's catalog report that its event covers (README, "Threat model": a node is
 * trusted with its own work only). A browse reads the whole target for the admin: all of it. A
 * backup covers its own job's tree (`<backupRoot>/j<job>`, tagged with that job) and, in it, no
 * snapshot claiming another job. Anything else (restores, validations): nothing. `rejected`
 * names what was left out, for the event log.
 */
export function scopeCatalogReport(
  ev: { kind: string; jobId: number | null },
  backupRoot: string,
  reported: ReportedDataset[],
): { accepted: ReportedDataset[]; rejected: string[] } {
  if (ev.kind === 'browse') return { accepted: reported, rejected: [] };
  const accepted: ReportedDataset[] = [];
  const rejected: string[] = [];
  const root = ev.kind === 'backup' && ev.jobId != null ? jobRoot(backupRoot, ev.jobId) : null;
  for (const d of reported) {
    const inTree = root !== null && (d.dataset === root || d.dataset.startsWith(`${root}/`));
    if (!inTree || d.jobId !== ev.jobId) {
      rejected.push(d.dataset);
      continue;
    }
    const snapshots = d.snapshots.filter((s) => s.jobId == null || s.jobId === ev.jobId);
    for (const s of d.snapshots) if (!snapshots.includes(s)) rejected.push(`${d.dataset}@${s.name}`);
    accepted.push({ ...d, snapshots });
  }
  return { accepted, rejected };
}

/** Record what a runner found. `complete` replaces the target's whole catalog; otherwise datasets are upserted. */
export async function recordCatalog(db: DB, targetId: number, reported: ReportedDataset[], complete: boolean, at: number) {
  const names = reported.map((d) => d.dataset);
  const stmts: BatchItem<'sqlite'>[] = [];
  if (complete) {
    stmts.push(db.delete(catalogSnapshots).where(eq(catalogSnapshots.targetId, targetId)));
    stmts.push(db.delete(catalogDatasets).where(eq(catalogDatasets.targetId, targetId)));
  } else {
    for (let i = 0; i < names.length; i += 90) {
      const chunk = names.slice(i, i + 90);
      stmts.push(db.delete(catalogSnapshots).where(and(eq(catalogSnapshots.targetId, targetId), inArray(catalogSnapshots.dataset, chunk))));
      stmts.push(db.delete(catalogDatasets).where(and(eq(catalogDatasets.targetId, targetId), inArray(catalogDatasets.dataset, chunk))));
    }
  }
  for (const d of reported) {
    stmts.push(
      db.insert(catalogDatasets).values({
        targetId,
        dataset: d.dataset,
        jobId: d.jobId,
        generation: d.generation,
        source: d.source,
        guest: d.guest,
        updatedAt: at,
      }),
    );
    const rows = d.snapshots.map((s) => ({
      targetId,
      dataset: d.dataset,
      name: s.name,
      guid: s.guid,
      createtxg: s.createtxg,
      jobId: s.jobId,
      generation: s.generation,
      createdAt: Date.parse(s.createdAt) || at,
      usedBytes: s.usedBytes,
      referencedBytes: s.referencedBytes,
    }));
    // 10 columns a row: 9 rows a statement stays under D1's 100 bound parameters.
    for (let i = 0; i < rows.length; i += 9) stmts.push(db.insert(catalogSnapshots).values(rows.slice(i, i + 9)));
  }
  if (stmts.length) await db.batch(stmts as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
}
