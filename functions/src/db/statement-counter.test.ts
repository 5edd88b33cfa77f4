import { describe, expect, it } from 'vitest';
import { countingD1, statementKind } from './statement-counter.ts';

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

describe('countingD1', () => {
  // A stand-in for the D1 binding: what drizzle calls (prepare → bind → all/run/raw, batch).
  const fake = () => {
    const ran: string[] = [];
    const stmt = (sql: string, params: unknown[] = []) => ({
      sql,
      params,
      bind: (...p: unknown[]) => stmt(sql, p),
      run: async () => ran.push(`run ${sql}`),
      all: async () => ran.push(`all ${sql}`),
      raw: async () => ran.push(`raw ${sql}`),
      first: async () => ran.push(`first ${sql}`),
    });
    return {
      ran,
      d1: {
        prepare: (sql: string) => stmt(sql),
        batch: async (ss: { sql: string; params: unknown[] }[]) => ss.forEach((s) => ran.push(`batch ${s.sql} ${s.params.join(',')}`)),
        exec: async (sql: string) => ran.push(`exec ${sql}`),
      },
    };
  };

  it('counts each statement where it runs, batches statement by statement, and hands the real statements on', async () => {
    const { ran, d1 } = fake();
    const counts = { read: 0, write: 0 };
    const db = countingD1(d1, counts);
    await db.prepare('SELECT 1').bind().raw();
    await db.prepare('select id from nodes where id = ?').bind(7).all();
    const prepared = db.prepare('UPDATE nodes SET x = ?'); // prepared, not run: not counted
    expect(counts).toEqual({ read: 2, write: 0 });
    await db.batch([prepared.bind(1) as never, db.prepare('INSERT INTO t VALUES (?)').bind(2) as never]);
    await db.exec('CREATE TABLE t (x)'); // migrations' and tests' SQL, not the app's
    expect(counts).toEqual({ read: 2, write: 2 });
    expect(ran).toEqual([
      'raw SELECT 1',
      'all select id from nodes where id = ?',
      'batch UPDATE nodes SET x = ? 1',
      'batch INSERT INTO t VALUES (?) 2',
      'exec CREATE TABLE t (x)',
    ]);
  });
});
