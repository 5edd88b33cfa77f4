// Notifications (README, Notifications): channels, the evaluation that turns state changes of jobs,
// nodes and target validations into outbox rows, and the delivery of those rows with retries.
// Every decision is one guarded statement or one batch (docs/database.md): two server processes
// evaluating or delivering at once notify once per change and send each delivery once.
import { and, asc, desc, eq, inArray, lt, lte, sql } from 'drizzle-orm';
import type { DB } from '../db/types.ts';
import { jobs, nodes, notificationChannels, notificationDeliveries, notificationState, targetNodeStatus, targets } from '../db/schema.ts';
import type { DeliveryAttempt, EmailConfig } from '../db/schema.ts';
import { invalid, notFound } from '../lib/errors.ts';
import type { SecretBox } from '../lib/secrets.ts';
import { humanSeconds, jobHealth } from './job-health.ts';

export type ChannelKind = 'webhook' | 'ntfy' | 'email';
export type ChannelRow = typeof notificationChannels.$inferSelect;
export type DeliveryRow = typeof notificationDeliveries.$inferSelect;

/** Wait before attempt 2, 3, 4, 5 (after a failed attempt 1, 2, 3, 4); attempt 5 failing gives up. */
export const RETRY_BACKOFF_MS = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000];
export const MAX_ATTEMPTS = 5;
/** A claimed delivery is not taken again before this (a process that died while sending). */
const CLAIM_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

// ---- channels ----

export interface ChannelInput {
  name: string;
  kind: ChannelKind;
  /** webhook, ntfy. */
  url?: string;
  /** email. */
  email?: EmailConfig;
  enabled: boolean;
  /** webhook: the HMAC-SHA256 key; ntfy: the bearer token; email: the SMTP password. */
  secret?: string | null;
}

/** A mail: what an email channel sends for one delivery. */
export interface MailMessage {
  subject: string;
  text: string;
  headers: Record<string, string>;
}
/** Sends one mail over SMTP or throws with the reason (the Node entry's functions/src/mail.ts; Workers have none). */
export type MailSender = (settings: EmailConfig, password: string | null, message: MailMessage) => Promise<void>;

/** How deliveries leave the server: HTTP for webhook and ntfy, SMTP for email (absent on Workers). */
export interface Senders {
  fetch: typeof fetch;
  mail?: MailSender;
}

/** The senders of an app's dependencies: its fetch (tests pass their own) or the global one, and its mail sender if any. */
export const sendersOf = (deps: { fetch?: typeof fetch; mail?: MailSender }): Senders => ({ fetch: deps.fetch ?? fetch, mail: deps.mail });

const NO_MAIL = 'email channels need the Node server: a Worker cannot speak SMTP (README, Notifications)';

export async function listChannels(db: DB): Promise<ChannelRow[]> {
  return db.select().from(notificationChannels).orderBy(asc(notificationChannels.id));
}

export async function loadChannel(db: DB, id: number): Promise<ChannelRow> {
  const [row] = await db.select().from(notificationChannels).where(eq(notificationChannels.id, id));
  if (!row) throw notFound(`notification channel ${id}`);
  return row;
}

export async function createChannel(db: DB, secrets: SecretBox, input: ChannelInput, at: number, canMail: boolean): Promise<ChannelRow> {
  if (input.kind === 'email' && !canMail) throw invalid('kind', NO_MAIL);
  const [row] = await db
    .insert(notificationChannels)
    .values({
      name: input.name,
      kind: input.kind,
      enabled: input.enabled,
      config: input.kind === 'email' ? { email: input.email } : { url: input.url },
      secretSealed: input.secret ? await secrets.seal(input.secret) : null,
      createdAt: at,
      updatedAt: at,
    })
    .returning();
  return row;
}

export async function updateChannel(
  db: DB,
  secrets: SecretBox,
  id: number,
  patch: Partial<Omit<ChannelInput, 'kind'>>,
  at: number,
): Promise<ChannelRow> {
  const cur = await loadChannel(db, id);
  if (patch.url !== undefined && cur.kind === 'email') throw invalid('url', 'is not used by an email channel (set "email")');
  if (patch.email !== undefined && cur.kind !== 'email')
    throw invalid('email', `is only for an email channel; this is a ${cur.kind} channel`);
  const set: Partial<typeof notificationChannels.$inferInsert> = { updatedAt: at };
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.enabled !== undefined) set.enabled = patch.enabled;
  if (patch.url !== undefined) set.config = { url: patch.url };
  if (patch.email !== undefined) set.config = { email: patch.email };
  if (patch.secret !== undefined) set.secretSealed = patch.secret ? await secrets.seal(patch.secret) : null;
  const [row] = await db.update(notificationChannels).set(set).where(eq(notificationChannels.id, id)).returning();
  if (!row) throw notFound(`notification channel ${id}`);
  return row;
}

/** Deletes the channel and its delivery history. */
export async function deleteChannel(db: DB, id: number): Promise<void> {
  const gone = await db.delete(notificationChannels).where(eq(notificationChannels.id, id)).returning({ id: notificationChannels.id });
  if (gone.length === 0) throw notFound(`notification channel ${id}`);
}

// ---- evaluation ----

/** What a webhook receives (README, Notifications: the payload). */
export interface NotificationPayload {
  event: string;
  subject: { kind: 'job' | 'node' | 'target-node' | 'test'; key: string; name: string };
  state: string;
  previousState: string | null;
  reason: string;
  since: string;
  at: string;
}

interface Observation {
  subject: string;
  kind: NotificationPayload['subject']['kind'];
  name: string;
  state: string;
  since: number;
  reason: string;
}

/** The event a change is notified as, or null when it is only recorded (e.g. a job disabled, a node revoked). */
export function eventFor(kind: Observation['kind'], prev: string, next: string): string | null {
  if (kind === 'job') {
    if (next === 'failing' || next === 'overdue') return `job.${next}`;
    if (next === 'ok' && (prev === 'failing' || prev === 'overdue')) return 'job.recovered';
    return null;
  }
  if (kind === 'node') {
    if (next === 'silent') return 'node.silent';
    if (next === 'ok' && prev === 'silent') return 'node.recovered';
    return null;
  }
  if (kind === 'target-node') {
    if (next === 'failed') return 'target.failed';
    if (next === 'ready' && prev === 'failed') return 'target.recovered';
  }
  return null;
}

async function observe(db: DB, at: number, nodeSilentMs: number): Promise<Observation[]> {
  const out: Observation[] = [];
  const jobRows = await db
    .select({
      id: jobs.id,
      name: jobs.name,
      enabled: jobs.enabled,
      updatedAt: jobs.updatedAt,
      createdAt: jobs.createdAt,
      lastSuccessAt: jobs.lastSuccessAt,
      lastBackupStatus: jobs.lastBackupStatus,
      failingSince: jobs.failingSince,
      rpoEffectiveSeconds: jobs.rpoEffectiveSeconds,
    })
    .from(jobs);
  for (const j of jobRows) {
    const h = jobHealth(j, at);
    out.push({ subject: `job:${j.id}`, kind: 'job', name: j.name, state: h.state, since: h.since ?? at, reason: h.reason });
  }
  const nodeRows = await db
    .select({ id: nodes.id, name: nodes.name, lastSeenAt: nodes.lastSeenAt, revokedAt: nodes.revokedAt })
    .from(nodes);
  for (const n of nodeRows) {
    const base = { subject: `node:${n.id}`, kind: 'node' as const, name: n.name };
    if (n.revokedAt !== null) out.push({ ...base, state: 'revoked', since: n.revokedAt, reason: 'the node was revoked' });
    else if (n.lastSeenAt !== null && at - n.lastSeenAt > nodeSilentMs)
      out.push({
        ...base,
        state: 'silent',
        since: n.lastSeenAt + nodeSilentMs,
        reason: `not heard from for more than ${humanSeconds(Math.round(nodeSilentMs / 1000))}`,
      });
    else
      out.push({
        ...base,
        state: 'ok',
        since: n.lastSeenAt ?? at,
        reason: n.lastSeenAt === null ? 'not seen yet' : 'the node is in touch',
      });
  }
  const tns = await db
    .select({
      targetId: targetNodeStatus.targetId,
      nodeId: targetNodeStatus.nodeId,
      state: targetNodeStatus.state,
      error: targetNodeStatus.error,
      validatedAt: targetNodeStatus.validatedAt,
      targetName: targets.name,
      nodeName: nodes.name,
    })
    .from(targetNodeStatus)
    .innerJoin(targets, eq(targets.id, targetNodeStatus.targetId))
    .innerJoin(nodes, eq(nodes.id, targetNodeStatus.nodeId));
  for (const t of tns) {
    out.push({
      subject: `target:${t.targetId}:node:${t.nodeId}`,
      kind: 'target-node',
      name: `${t.targetName} from ${t.nodeName}`,
      state: t.state,
      since: t.validatedAt,
      reason: t.state === 'failed' ? `validation failed: ${t.error ?? 'unknown error'}` : 'validation succeeded',
    });
  }
  return out;
}

/**
 * Compare each subject's state with the last one recorded; record changes and queue one delivery per
 * enabled channel for those worth notifying. A subject seen for the first time is recorded only.
 * Returns the number of changes this call recorded (a change another process recorded first is not counted).
 */
export async function evaluateNotifications(db: DB, at: number, opts: { nodeSilentMs: number }): Promise<number> {
  const observed = await observe(db, at, opts.nodeSilentMs);
  const known = new Map((await db.select().from(notificationState)).map((r) => [r.subject, r]));
  let changes = 0;
  // First observations: recorded, not notified (an upgrade or a new job floods nobody). 18 rows of
  // 5 parameters per statement (D1: at most 100 bound parameters).
  const fresh = observed.filter((o) => !known.has(o.subject));
  for (let i = 0; i < fresh.length; i += 18) {
    const rows = fresh.slice(i, i + 18).map((o) => ({ subject: o.subject, state: o.state, since: o.since, seq: 0, updatedAt: at }));
    await db.insert(notificationState).values(rows).onConflictDoNothing();
  }
  // Subjects that are gone (a deleted job, node or target): their state is forgotten.
  const seen = new Set(observed.map((o) => o.subject));
  const gone = [...known.keys()].filter((k) => !seen.has(k));
  for (let i = 0; i < gone.length; i += 90)
    await db.delete(notificationState).where(inArray(notificationState.subject, gone.slice(i, i + 90)));
  for (const o of observed) {
    const cur = known.get(o.subject);
    if (!cur) continue;
    if (cur.state === o.state) continue;
    const seq = cur.seq + 1;
    const event = eventFor(o.kind, cur.state, o.state);
    // The guard: the change is written only over the seq that was read; the deliveries only when the
    // row now holds this change, and at most once per (channel, subject, seq) by the unique index.
    const update = db
      .update(notificationState)
      .set({ state: o.state, since: o.since, seq, updatedAt: at })
      .where(and(eq(notificationState.subject, o.subject), eq(notificationState.seq, cur.seq)))
      .returning({ seq: notificationState.seq });
    let won: { seq: number }[];
    if (event === null) {
      won = await update;
    } else {
      const payload: NotificationPayload = {
        event,
        subject: { kind: o.kind, key: o.subject, name: o.name },
        state: o.state,
        previousState: cur.state,
        reason: o.reason,
        since: new Date(o.since).toISOString(),
        at: new Date(at).toISOString(),
      };
      [won] = await db.batch([
        update,
        // INSERT … SELECT: every column in the table's order (the builder is batchable on D1, db.run is not)
        db
          .insert(notificationDeliveries)
          .select(
            sql`SELECT NULL, c.id, ${o.subject}, ${seq}, ${event}, ${JSON.stringify(payload)}, 'pending', 0, ${MAX_ATTEMPTS}, ${at}, NULL, '[]', ${at}, ${at}
              FROM ${notificationChannels} c
              WHERE c.enabled = 1
                AND EXISTS (SELECT 1 FROM ${notificationState} s WHERE s.subject = ${o.subject} AND s.seq = ${seq} AND s.state = ${o.state})`,
          )
          .onConflictDoNothing(),
      ]);
    }
    if (won.length > 0) changes++;
  }
  return changes;
}

// ---- delivery ----

export interface SendResult {
  ok: boolean;
  httpStatus: number | null;
  error: string | null;
}

const enc = new TextEncoder();
export async function hmacHex(key: string, body: string): Promise<string> {
  const k = await crypto.subtle.importKey('raw', enc.encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', k, enc.encode(body)));
  return [...sig].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const NTFY_PRIORITY: Record<string, string> = {
  'job.failing': 'high',
  'job.overdue': 'high',
  'node.silent': 'high',
  'target.failed': 'high',
};

/** The mail for one delivery: a subject that says what changed, the payload's facts in the body. */
export function mailFor(d: Pick<DeliveryRow, 'id' | 'event' | 'payload'>): MailMessage {
  const p = JSON.parse(d.payload) as NotificationPayload;
  const subject = p.event === 'test' ? `Lifeboat: test notification for "${p.subject.name}"` : `Lifeboat: ${p.subject.name} is ${p.state}`;
  const text = [
    p.event === 'test' ? 'This is a test notification from Lifeboat: the channel works.' : `${p.subject.name}: ${p.reason}.`,
    '',
    `Event:     ${p.event}`,
    `State:     ${p.state}${p.previousState ? ` (was ${p.previousState})` : ''}`,
    `Since:     ${p.since}`,
    `Noticed:   ${p.at}`,
    `Subject:   ${p.subject.key}`,
    '',
    '-- ',
    'Sent by Lifeboat. Channels and their history: Settings → Notifications.',
  ].join('\n');
  return { subject, text, headers: { 'X-Lifeboat-Event': d.event, 'X-Lifeboat-Delivery': String(d.id) } };
}

/** One attempt of one delivery: an SMTP transaction, or an HTTP request (10 s timeout, redirects not followed: a 3xx is a failure). */
async function send(channel: ChannelRow, secret: string | null, d: DeliveryRow, senders: Senders): Promise<SendResult> {
  if (channel.kind === 'email') {
    if (!senders.mail) return { ok: false, httpStatus: null, error: NO_MAIL };
    if (!channel.config.email) return { ok: false, httpStatus: null, error: 'the channel has no email settings' };
    try {
      await senders.mail(channel.config.email, secret, mailFor(d));
      return { ok: true, httpStatus: null, error: null };
    } catch (e) {
      return { ok: false, httpStatus: null, error: `SMTP: ${errorText(e)}` };
    }
  }
  const url = channel.config.url;
  if (!url) return { ok: false, httpStatus: null, error: 'the channel has no URL' };
  const payload = JSON.parse(d.payload) as NotificationPayload;
  const headers: Record<string, string> = { 'user-agent': 'lifeboat-notifications' };
  let body: string;
  if (channel.kind === 'webhook') {
    body = d.payload;
    headers['content-type'] = 'application/json';
    headers['x-lifeboat-event'] = d.event;
    headers['x-lifeboat-delivery'] = String(d.id);
    if (secret) headers['x-lifeboat-signature'] = `sha256=${await hmacHex(secret, body)}`;
  } else {
    // ntfy's publish API: the message is the body; Title, Priority and Tags are headers.
    body = `${payload.reason} (since ${payload.since})`;
    headers['content-type'] = 'text/plain; charset=utf-8';
    headers.title = `Lifeboat: ${payload.subject.name} is ${payload.state}`.replace(/[^\x20-\x7e]/g, '?');
    headers.priority = NTFY_PRIORITY[d.event] ?? 'default';
    headers.tags = d.event.endsWith('recovered') ? 'white_check_mark' : d.event === 'test' ? 'bell' : 'warning';
    if (secret) headers.authorization = `Bearer ${secret}`;
  }
  try {
    const fetchImpl = senders.fetch; // called unbound: workerd's fetch throws "Illegal invocation" as a method of another object
    const res = await fetchImpl(url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    await res.body?.cancel().catch(() => {});
    if (res.status >= 200 && res.status < 300) return { ok: true, httpStatus: res.status, error: null };
    const what = res.status >= 300 && res.status < 400 ? 'a redirect (not followed)' : `HTTP ${res.status}`;
    return { ok: false, httpStatus: res.status, error: what };
  } catch (e) {
    const name = e instanceof Error ? e.name : '';
    const error =
      name === 'TimeoutError' || name === 'AbortError'
        ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
        : `request failed: ${errorText(e)}`;
    return { ok: false, httpStatus: null, error };
  }
}

function errorText(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
  return (e instanceof Error ? e.message : String(e)).slice(0, 300) + cause.slice(0, 200);
}

/** Claim a due delivery (guarded by the attempt count read), send it, record the attempt. Null: another process has it. */
async function attempt(db: DB, secrets: SecretBox, d: DeliveryRow, at: number, senders: Senders): Promise<DeliveryRow | null> {
  const [claimed] = await db
    .update(notificationDeliveries)
    .set({ attempts: d.attempts + 1, nextAttemptAt: at + CLAIM_MS, updatedAt: at })
    .where(
      and(
        eq(notificationDeliveries.id, d.id),
        eq(notificationDeliveries.status, 'pending'),
        eq(notificationDeliveries.attempts, d.attempts),
        lte(notificationDeliveries.nextAttemptAt, at),
      ),
    )
    .returning();
  if (!claimed) return null;
  const [channel] = await db.select().from(notificationChannels).where(eq(notificationChannels.id, d.channelId));
  let result: SendResult;
  if (!channel) result = { ok: false, httpStatus: null, error: 'the channel is gone' };
  else {
    const secret = channel.secretSealed ? await secrets.open(channel.secretSealed).catch(() => undefined) : null;
    result =
      secret === undefined
        ? { ok: false, httpStatus: null, error: 'the channel secret cannot be opened (LIFEBOAT_SECRET_KEY changed?)' }
        : await send(channel, secret, claimed, senders);
  }
  const entry: DeliveryAttempt = { at, ok: result.ok, httpStatus: result.httpStatus, error: result.error };
  const n = claimed.attempts;
  const giveUp = !result.ok && n >= claimed.maxAttempts;
  const status = result.ok ? 'sent' : giveUp ? 'failed' : 'pending';
  const [row] = await db
    .update(notificationDeliveries)
    .set({
      status,
      lastError: result.error,
      nextAttemptAt: status === 'pending' ? at + RETRY_BACKOFF_MS[Math.min(n, RETRY_BACKOFF_MS.length) - 1] : at,
      attemptLog: sql`json_insert(${notificationDeliveries.attemptLog}, '$[#]', json(${JSON.stringify(entry)}))`,
      updatedAt: at,
    })
    .where(and(eq(notificationDeliveries.id, d.id), eq(notificationDeliveries.attempts, n)))
    .returning();
  return row ?? null;
}

/** Send the due deliveries (oldest first, at most `limit`). Returns how many were attempted by this call. */
export async function deliverNotifications(
  db: DB,
  secrets: SecretBox,
  at: number,
  senders: Senders = { fetch },
  limit = 50,
): Promise<number> {
  const due = await db
    .select()
    .from(notificationDeliveries)
    .where(and(eq(notificationDeliveries.status, 'pending'), lte(notificationDeliveries.nextAttemptAt, at)))
    .orderBy(asc(notificationDeliveries.id))
    .limit(limit);
  let n = 0;
  for (const d of due) if (await attempt(db, secrets, d, at, senders)) n++;
  return n;
}

/** POST …/test: a delivery with one attempt, sent now. */
export async function testChannel(db: DB, secrets: SecretBox, id: number, at: number, senders: Senders = { fetch }): Promise<DeliveryRow> {
  const ch = await loadChannel(db, id);
  const payload: NotificationPayload = {
    event: 'test',
    subject: { kind: 'test', key: 'test', name: ch.name },
    state: 'test',
    previousState: null,
    reason: 'a test notification from Lifeboat',
    since: new Date(at).toISOString(),
    at: new Date(at).toISOString(),
  };
  const [d] = await db
    .insert(notificationDeliveries)
    .values({
      channelId: id,
      subject: 'test',
      seq: null,
      event: 'test',
      payload: JSON.stringify(payload),
      status: 'pending',
      maxAttempts: 1,
      nextAttemptAt: at,
      attemptLog: [],
      createdAt: at,
      updatedAt: at,
    })
    .returning();
  return (await attempt(db, secrets, d, at, senders)) ?? d;
}

export async function listDeliveries(db: DB, opts: { limit: number; channelId?: number }): Promise<DeliveryRow[]> {
  return db
    .select()
    .from(notificationDeliveries)
    .where(opts.channelId === undefined ? undefined : eq(notificationDeliveries.channelId, opts.channelId))
    .orderBy(desc(notificationDeliveries.id))
    .limit(opts.limit);
}

/** Retention: sent and failed deliveries older than `maxAgeDays` (LIFEBOAT_EVENTS_MAX_AGE_DAYS) are deleted. */
export async function pruneDeliveries(db: DB, at: number, maxAgeDays: number): Promise<number> {
  if (maxAgeDays <= 0) return 0;
  const gone = await db
    .delete(notificationDeliveries)
    .where(
      and(inArray(notificationDeliveries.status, ['sent', 'failed']), lt(notificationDeliveries.updatedAt, at - maxAgeDays * 86_400_000)),
    )
    .returning({ id: notificationDeliveries.id });
  return gone.length;
}
