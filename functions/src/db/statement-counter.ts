// Counts the SQL statements the Node server sends to its libSQL client, reads and writes apart, for
// GET /metrics (lifeboat_db_statements_total) and the fleet bench (README, Fleet scale). Wraps the
// client's three entry points (execute, batch, and the same two on a transaction); drizzle uses
// nothing else. The Worker entry counts its D1 binding's statements the same way (countingD1).
import type { Client, InStatement, Transaction, TransactionMode } from '@libsql/client';

export interface StatementCounts {
  read: number;
  write: number;
}

/** A statement's kind by its first keyword: SELECT (and WITH … SELECT, EXPLAIN) reads; everything else writes or manages. */
export function statementKind(sql: string): 'read' | 'write' | 'other' {
  const m = /^\s*(?:--[^\n]*\n\s*)*([A-Za-z]+)/.exec(sql);
  const word = (m?.[1] ?? '').toUpperCase();
  if (word === 'SELECT' || word === 'EXPLAIN' || word === 'VALUES') return 'read';
  if (word === 'WITH') return /\b(INSERT|UPDATE|DELETE|REPLACE)\b/i.test(sql) ? 'write' : 'read';
  if (['INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'CREATE', 'DROP', 'ALTER', 'VACUUM'].includes(word)) return 'write';
  return 'other'; // BEGIN, COMMIT, PRAGMA, …
}

const sqlOf = (s: InStatement) => (typeof s === 'string' ? s : s.sql);

/** The client with every statement counted into `counts`. */
export function countingClient(client: Client, counts: StatementCounts): Client {
  const count = (stmts: InStatement[]) => {
    for (const s of stmts) {
      const k = statementKind(sqlOf(s));
      if (k !== 'other') counts[k] += 1;
    }
  };
  const wrapTx = (tx: Transaction): Transaction =>
    new Proxy(tx, {
      get(t, prop, receiver) {
        if (prop === 'execute')
          return (s: InStatement) => {
            count([s]);
            return t.execute(s);
          };
        if (prop === 'batch')
          return (ss: InStatement[]) => {
            count(ss);
            return t.batch(ss);
          };
        const v = Reflect.get(t, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  return new Proxy(client, {
    get(c, prop, receiver) {
      if (prop === 'execute')
        return (s: InStatement, args?: unknown) => {
          count([s]);
          return (c.execute as (s: InStatement, a?: unknown) => ReturnType<Client['execute']>)(s, args);
        };
      if (prop === 'batch')
        return (ss: InStatement[], mode?: Parameters<Client['batch']>[1]) => {
          count(ss);
          return c.batch(ss, mode);
        };
      if (prop === 'transaction') return async (mode?: TransactionMode) => wrapTx(await c.transaction(mode));
      const v = Reflect.get(c, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(c) : v;
    },
  });
}

// D1's binding (the Worker entry): prepare → bind → run/all/raw/first, batch, exec. Only the parts
// used here are typed (no @cloudflare/workers-types in the build).
interface D1Statement {
  bind(...values: unknown[]): D1Statement;
  run(): Promise<unknown>;
  all(): Promise<unknown>;
  raw(o?: unknown): Promise<unknown>;
  first(col?: string): Promise<unknown>;
}
interface D1Like {
  prepare(sql: string): D1Statement;
  batch(statements: D1Statement[]): Promise<unknown>;
  exec(sql: string): Promise<unknown>;
}

/** The D1 binding with every statement counted into `counts` (this isolate's: each Worker isolate counts its own). */
export function countingD1<T extends object>(binding: T, counts: StatementCounts): T {
  const d1 = binding as unknown as D1Like;
  const real = new WeakMap<object, D1Statement>();
  const sqls = new WeakMap<object, string>();
  const add = (sql: string) => {
    const k = statementKind(sql);
    if (k !== 'other') counts[k] += 1;
  };
  const wrap = (stmt: D1Statement, sql: string): D1Statement => {
    const w: D1Statement = {
      bind: (...values) => wrap(stmt.bind(...values), sql),
      run: () => (add(sql), stmt.run()),
      all: () => (add(sql), stmt.all()),
      raw: (o) => (add(sql), stmt.raw(o)),
      first: (col) => (add(sql), stmt.first(col)),
    };
    real.set(w, stmt);
    sqls.set(w, sql);
    return w;
  };
  const counted: D1Like = {
    prepare: (sql) => wrap(d1.prepare(sql), sql),
    batch: (stmts) => {
      for (const s of stmts) add(sqls.get(s) ?? '');
      return d1.batch(stmts.map((s) => real.get(s) ?? s));
    },
    exec: (sql) => d1.exec(sql), // migrations and tests' SQL, never the app's: not counted
  };
  return counted as unknown as T;
}
