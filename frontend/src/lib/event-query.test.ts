import { describe, expect, it } from 'vitest';
import { apiQuery, DEFAULT_LIMIT, rangeText, readView, writeView } from './event-query';

const sp = (s: string) => new URLSearchParams(s);

describe('readView', () => {
  it.each([
    ['', { limit: DEFAULT_LIMIT, checks: false, page: 1, cursor: null }],
    ['limit=50&checks=1', { limit: 50, checks: true, page: 1, cursor: null }],
    ['limit=33', { limit: DEFAULT_LIMIT }], // not a page size the page offers
    ['page=3&cursor=120', { page: 3, cursor: 120 }],
    ['page=3', { page: 1, cursor: null }], // a number without its cursor finds nothing: page 1
    ['page=x&cursor=120', { page: 1, cursor: 120 }],
    ['cursor=-4&page=2', { page: 1, cursor: null }],
    ['checks=yes', { checks: false }],
  ])('%s', (q, want) => {
    expect(readView(sp(q))).toMatchObject(want);
  });
  it('reads the filters', () => {
    expect(readView(sp('jobId=7&status=failed&q=tank')).filters).toEqual({ jobId: '7', nodeId: '', status: 'failed', kind: '', q: 'tank' });
  });
});

describe('writeView', () => {
  it('sets what differs from the defaults, keeps other keys, drops open', () => {
    const v = readView(sp('status=failed&page=2&cursor=40&limit=50'));
    expect(writeView(v, sp('open=9&x=1')).toString()).toBe('x=1&status=failed&limit=50&page=2&cursor=40');
    expect(writeView({ ...v, page: 1, cursor: null, limit: DEFAULT_LIMIT }, sp('page=2&cursor=40')).toString()).toBe('status=failed');
  });
  it('round-trips', () => {
    const q = 'jobId=3&kind=validate&checks=1&page=4&cursor=77';
    expect(readView(writeView(readView(sp(q)), sp('')))).toEqual(readView(sp(q)));
  });
});

describe('apiQuery', () => {
  it.each([
    ['', { limit: 20, hideKinds: 'validate,browse' }],
    ['checks=1', { limit: 20 }],
    ['kind=validate', { limit: 20, kind: 'validate' }], // a kind asked for is shown
    ['status=failed&page=2&cursor=40', { limit: 20, status: 'failed', hideKinds: 'validate,browse', cursor: 40 }],
  ])('%s', (q, want) => {
    expect(apiQuery(readView(sp(q)))).toEqual(want);
  });
  it('without paging (the count)', () => {
    expect(apiQuery(readView(sp('jobId=2&page=2&cursor=40')), false)).toEqual({ jobId: '2', hideKinds: 'validate,browse' });
  });
});

describe('rangeText', () => {
  it.each([
    [1, 20, 20, 1234, false, '1–20 of 1,234 events'],
    [3, 20, 20, 1234, false, '41–60 of 1,234 events'],
    [2, 20, 5, null, false, '21–25 events'],
    [1, 20, 20, 10000, true, '1–20 of more than 10,000 events'],
    [1, 20, 0, 0, false, 'No events'],
    [1, 20, 0, null, false, ''],
    [4, 20, 0, 30, false, 'Page 4: no events of 30'],
  ])('page %i, %i a page, %i shown, total %s', (page, limit, shown, total, capped, want) => {
    expect(rangeText(page, limit, shown, total, capped)).toBe(want);
  });
});
