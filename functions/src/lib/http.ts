// Shared Hono typing and small response helpers.
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppConfig } from '../config.ts';
import type { DB } from '../db/types.ts';
import type { SecretBox } from './secrets.ts';
import type { PasswordHasher } from './password.ts';
import type { MailSender } from '../services/notifications.ts';
import { ErrorBody } from '../contract/api.ts';

/**
 * A hint that new work may be there for a node: wakes its held claim early; decides nothing (the
 * guarded statements do). In process on Node (waker.ts), a Durable Object per node on Workers
 * (worker-waker.ts).
 */
export interface Waker {
  notify(nodeId: number): Promise<void>;
  /** Resolves true when poked (or, for a waker that wakesAtDue, when `dueAt` came), false when `ms` passed. */
  wait(nodeId: number, ms: number, dueAt?: number | null): Promise<boolean>;
  /** How many claims are waiting now (in this process or isolate). */
  waiting(): number;
  /** The nodes whose claims are waiting now (the in-process waker: the due-job timer schedules for them). */
  held?(): number[];
  /** It wakes a claim itself when the `dueAt` given to wait comes: the claim needs no re-check of the database. */
  wakesAtDue?: boolean;
}

/** Optional in-process hint that an event row may have changed (wakes GET /events/stream early; decides nothing). */
export interface ChangeHint {
  notify(): void;
  /** Resolves when notified, closed, or when `ms` passed, whichever is first. */
  wait(ms: number): Promise<void>;
  /** The process is stopping: streams end now (their browsers reconnect elsewhere or later) instead of holding the stop. */
  close(): void;
  readonly closed: boolean;
}

/** GET /events/stream's clock (routes/event-stream.ts): how often it looks at the change cursor, writes a heartbeat, and how long one stream lives. */
export interface EventStreamTimes {
  checkMs: number;
  heartbeatMs: number;
  lifetimeMs: number;
}

export interface AppDeps {
  db: DB;
  config: AppConfig;
  adminTokenHash: string;
  secrets: SecretBox;
  waker?: Waker;
  /** The Node entry's in-process hint for the event stream; without it (Workers) the stream looks every `eventStream.checkMs`. */
  changes?: ChangeHint;
  eventStream?: Partial<EventStreamTimes>;
  now?: () => number;
  /** scrypt hasher for the admin password; default: the pure-JS one (workerd). The Node entry passes node:crypto's. */
  passwords?: PasswordHasher;
  /** The peer address of the connection (Node entry); used for sign-in rate limiting. */
  clientAddress?: (c: Context<Env>) => string | undefined;
  /** Outgoing notification requests (tests may pass their own); default: the global fetch. */
  fetch?: typeof fetch;
  /** Email notifications over SMTP (the Node entry's functions/src/mail.ts); absent on Workers, where email channels are refused. */
  mail?: MailSender;
  /** SQL statements sent so far (db/statement-counter.ts: the Node process's, or this Worker isolate's to D1), for GET /metrics. */
  dbStatements?: { read: number; write: number };
  /**
   * Each database call is a round trip through one queue (D1): a claim sends its statements in
   * batches (services/claims.ts). The Node entry's in-process libSQL calls are cheap: its claims
   * keep the single statements its fleet bench measured (README, Fleet scale).
   */
  batchClaims?: boolean;
}

/** How the current admin request was authenticated. */
export type Scope = 'read' | 'operate' | 'admin';
export type Principal =
  | { kind: 'admin-token' }
  | { kind: 'api-token'; tokenId: number; scope: Scope; expiresAt: number | null }
  | { kind: 'session'; sessionId: number; expiresAt: number; csrfToken: string };

export interface NodeIdentity {
  id: number;
  name: string;
}

export type Env = { Variables: { deps: AppDeps; node: NodeIdentity; principal: Principal } };
export type Ctx = Context<Env>;
export type App = OpenAPIHono<Env>;

export const now = (c: Ctx) => (c.var.deps.now ?? Date.now)();
export const iso = (ms: number | null | undefined) => (ms == null ? null : new Date(ms).toISOString());

const errorContent = { 'application/json': { schema: ErrorBody } };
export const errors = {
  400: { description: 'Invalid input (the field is named)', content: errorContent },
  401: { description: 'Missing or bad credentials', content: errorContent },
  403: { description: 'Forbidden (e.g. a cookie-authenticated write without the CSRF header)', content: errorContent },
  404: { description: 'Not found', content: errorContent },
  409: { description: 'Conflict: busy, in use, exists', content: errorContent },
};
export const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});
export const ok = <T extends z.ZodTypeAny>(schema: T, description = 'OK') => ({
  description,
  content: { 'application/json': { schema } },
});
