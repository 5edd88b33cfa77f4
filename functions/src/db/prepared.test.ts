import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from './libsql.ts';
import { batchItem, prepared } from './prepared.ts';
import { nodes } from './schema.ts';
import type { DB } from './types.ts';

// A real libSQL file DB (the Workers side of batchItem, D1's session, runs in tests/functions/worker.test.ts).
let dir: string;
let db: DB;
let close: () => void;
let statements: { read: number; write: number };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lb-prepared-'));
  ({ db, close, statements } = await openDatabase(`file:${join(dir, 'db.sqlite')}`));
  await db.insert(nodes).values([
    { name: 'a', tokenHash: 'ha', createdAt: 1 },
    { name: 'b', tokenHash: 'hb', createdAt: 2 },
  ]);
});
afterAll(() => {
  close();
  rmSync(dir, { recursive: true, force: true });
});

const byName = (d: DB) =>
  d
    .select({ id: nodes.id, name: nodes.name })
    .from(nodes)
    .where(eq(nodes.name, sql.placeholder('name')))
    .prepare();
const rename = (d: DB) =>
  d
    .update(nodes)
    .set({ name: sql`${sql.placeholder('to')}` })
    .where(eq(nodes.name, sql.placeholder('from')))
    .returning({ id: nodes.id, name: nodes.name })
    .prepare();

describe('prepared', () => {
  it('builds a statement once per database and runs it with each call’s values', async () => {
    expect(prepared(db, byName)).toBe(prepared(db, byName));
    expect(await prepared(db, byName).all({ name: 'a' })).toEqual([{ id: 1, name: 'a' }]);
    expect(await prepared(db, byName).all({ name: 'b' })).toEqual([{ id: 2, name: 'b' }]);
    expect(await prepared(db, byName).all({ name: 'c' })).toEqual([]);
  });

  it('a prepared statement with its values is a batch item: results mapped as the builder’s, in order, in one batch', async () => {
    const before = { ...statements };
    const [renamed, a, b] = await db.batch([
      batchItem(prepared(db, rename), { from: 'a', to: 'a2' }),
      batchItem(prepared(db, byName), { name: 'a2' }),
      batchItem(prepared(db, byName), { name: 'b' }),
    ]);
    expect(renamed).toEqual([{ id: 1, name: 'a2' }]);
    expect(a).toEqual([{ id: 1, name: 'a2' }]);
    expect(b).toEqual([{ id: 2, name: 'b' }]);
    expect({ read: statements.read - before.read, write: statements.write - before.write }).toEqual({ read: 2, write: 1 });
    // the same as the builders give
    expect(await db.select({ id: nodes.id, name: nodes.name }).from(nodes).where(eq(nodes.name, 'a2'))).toEqual(a);
  });
});
