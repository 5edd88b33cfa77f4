import { describe, expect, it } from 'vitest';
import { visibleJobs } from './job-list';

const jobs = Array.from({ length: 10 }, (_, i) => ({
  id: i + 1,
  name: `job-${i + 1}`,
  source: `tank/set-${i + 1}`,
  node: i % 2 ? 'edge' : 'core',
}));
const ids = (r: { rows: { id: number }[] }) => r.rows.map((j) => j.id);

describe('visibleJobs', () => {
  it.each([
    ['no filter, under the limit: all', { query: '', limit: 20 }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10],
    ['no filter, over the limit: the first ones', { query: '', limit: 3 }, [1, 2, 3], 10],
    ['show all', { query: '', limit: null }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10],
    ['by name, any case', { query: ' JOB-1 ', limit: 20 }, [1, 10], 2],
    ['by source', { query: 'set-7', limit: 20 }, [7], 1],
    ['by a label (the node)', { query: 'edge', limit: 3 }, [2, 4, 6], 5],
    ['nothing matches', { query: 'nope', limit: 3 }, [], 0],
    ['the named job beyond the limit is drawn too', { query: '', limit: 3, include: '9' }, [1, 2, 3, 9], 10],
    ['the named job within the limit: once', { query: '', limit: 3, include: '2' }, [1, 2, 3], 10],
    ['the named job not matching the filter: not drawn', { query: 'edge', limit: 2, include: '9' }, [2, 4], 5],
  ])('%s', (_n, o, want, matched) => {
    const r = visibleJobs(jobs, { ...o, labels: (j) => [j.node] });
    expect(ids(r)).toEqual(want);
    expect(r.matched).toBe(matched);
  });
});
