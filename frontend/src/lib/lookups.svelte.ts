// Shared, lazily loaded name lookups (jobs, nodes, targets) for labels across pages.
import { api, items } from './api';
import type { Job, Node, Page, Target } from './types';

export const lookups = $state({ jobs: [] as Job[], nodes: [] as Node[], targets: [] as Target[] });

async function all<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: Page<T>['nextCursor'] = null;
  for (let i = 0; i < 20; i++) {
    const res: Page<T> = await api.get<Page<T>>(path, { limit: 200, cursor });
    out.push(...items(res));
    cursor = res?.nextCursor ?? null;
    if (!cursor) break;
  }
  return out;
}

export async function loadJobs(): Promise<Job[]> {
  return (lookups.jobs = await all<Job>('/jobs'));
}
export async function loadNodes(): Promise<Node[]> {
  return (lookups.nodes = await all<Node>('/nodes'));
}
export async function loadTargets(): Promise<Target[]> {
  return (lookups.targets = await all<Target>('/targets'));
}

const same = (a: unknown, b: unknown) => a !== null && a !== undefined && String(a) === String(b);

export const jobName = (id: unknown) => lookups.jobs.find((j) => same(j.id, id))?.name;
export const nodeName = (id: unknown) => lookups.nodes.find((n) => same(n.id, id))?.name;
export const targetName = (id: unknown) => lookups.targets.find((t) => same(t.id, id))?.name;
export { same };
