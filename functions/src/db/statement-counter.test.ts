import { describe, expect, it } from 'vitest';
import { statementKind } from './statement-counter.ts';

describe('statementKind', () => {
  it.each([
    ['SELECT 1', 'read'],
    ['  select * from jobs', 'read'],
    ['-- a comment\nSELECT id FROM events', 'read'],
    ['EXPLAIN QUERY PLAN SELECT 1', 'read'],
    ['WITH x AS (SELECT 1) SELECT * FROM x', 'read'],
    ['WITH old AS (SELECT id FROM events) DELETE FROM events WHERE id IN old', 'write'],
    ['insert into "jobs" ("name") values (?)', 'write'],
    ['UPDATE nodes SET last_seen_at = ?', 'write'],
    ['DELETE FROM events', 'write'],
    ['REPLACE INTO housekeeping VALUES (1)', 'write'],
    ['BEGIN', 'other'],
    ['COMMIT', 'other'],
    ['PRAGMA foreign_keys = ON', 'other'],
    ['', 'other'],
  ])('%j is a %s', (sql, kind) => {
    expect(statementKind(sql)).toBe(kind);
  });
});
