// Types of what the API answers, from the control plane's own response schemas
// (functions/src/contract): the tests' HTTP helpers type a response body by its route.
//
//   srv.api('GET', `/jobs/${id}`)              body: Job (the route's success body)
//   srv.api<ApiErrorBody>('POST', '/jobs', x)  body: what the call site says it expects (an error here)
//   srv.api('GET', '/some/unknown/route')       body: unknown
import type { z } from '@hono/zod-openapi';
import type * as contract from '../../functions/src/contract/api.ts';
import type * as runner from '../../functions/src/contract/runner.ts';

export type Target = z.infer<typeof contract.Target>;
export type Job = z.infer<typeof contract.Job>;
export type LbEvent = z.infer<typeof contract.Event>;
export type EventLogLine = z.infer<typeof contract.EventLogLine>;
export type Generations = z.infer<typeof contract.Generations>;
export type CatalogItem = z.infer<typeof contract.CatalogItem>;
export type RestorePreview = z.infer<typeof contract.RestorePreview>;
export type RetentionPreview = z.infer<typeof contract.RetentionPreview>;
export type Overview = z.infer<typeof contract.Overview>;
export type NodeSummary = z.infer<typeof contract.NodeSummary>;
export type KeptDataset = z.infer<typeof contract.KeptDataset>;
export type NodeDetail = z.infer<typeof contract.NodeDetail>;
export type JoinToken = z.infer<typeof contract.JoinToken>;
export type SessionInfo = z.infer<typeof contract.SessionInfo>;
export type ApiToken = z.infer<typeof contract.ApiToken>;
export type ApiTokenCreated = z.infer<typeof contract.ApiTokenCreated>;
export type WebhookToken = z.infer<typeof contract.WebhookToken>;
export type Accepted = z.infer<typeof contract.Accepted>;
export type Ok = z.infer<typeof contract.Ok>;
/** The body of every 4xx/5xx answer. */
export type ApiErrorBody = z.infer<typeof contract.ErrorBody>;
export type ClaimResponse = z.infer<typeof runner.ClaimResponse>;
export type ClaimedEvent = z.infer<typeof runner.ClaimedEvent>;
export type JoinResponse = z.infer<typeof runner.JoinResponse>;
export type ProgressResponse = z.infer<typeof runner.ProgressResponse>;
export type EventStatusResponse = z.infer<typeof runner.EventStatusResponse>;

/** A page of a list route (contract `list(...)`). */
export interface Page<T> {
  items: T[];
  nextCursor: number | null;
}
export interface Health {
  ok: boolean;
  time: string;
  defaultTimezone: string;
}
export interface Deleted {
  deleted: boolean;
}

/** The success body of `METHOD /path` (ids and query strings as the tests write them); unknown for any other. */
export type RouteBody<K extends string> = K extends 'GET /health'
  ? Health
  : K extends 'GET /metrics'
    ? string
    : K extends 'POST /auth/login'
      ? SessionInfo
      : K extends 'POST /auth/logout'
        ? Ok
        : K extends 'GET /auth/session'
          ? SessionInfo
          : K extends 'POST /auth/password'
            ? Ok
            : K extends 'GET /auth/tokens'
              ? Page<ApiToken>
              : K extends 'POST /auth/tokens'
                ? ApiTokenCreated
                : K extends `DELETE /auth/tokens/${number}`
                  ? ApiToken
                  : K extends 'GET /nodes'
                    ? Page<NodeSummary>
                    : K extends `GET /nodes/${number}` | `GET /nodes/${number}?${string}`
                      ? NodeDetail
                      : K extends `POST /nodes/${number}/revoke`
                        ? NodeSummary
                        : K extends 'POST /nodes/join-tokens'
                          ? JoinToken
                          : K extends 'GET /targets'
                            ? Page<Target>
                            : K extends 'POST /targets'
                              ? Target & { validationEventIds: number[] }
                              : K extends `GET /targets/${number}` | `PATCH /targets/${number}` | `POST /targets/${number}/host-key/confirm`
                                ? Target
                                : K extends `DELETE /targets/${number}`
                                  ? Deleted
                                  : K extends
                                        | `POST /targets/${number}/validate`
                                        | `POST /targets/${number}/refresh`
                                        | `POST /targets/${number}/host-key/reset`
                                    ? Accepted
                                    : K extends `GET /targets/${number}/datasets`
                                      ? { items: CatalogItem[] }
                                      : K extends 'GET /jobs'
                                        ? Page<Job>
                                        : K extends 'POST /jobs'
                                          ? Job
                                          : K extends `GET /jobs/${number}` | `PATCH /jobs/${number}`
                                            ? Job
                                            : K extends `DELETE /jobs/${number}`
                                              ? Deleted
                                              : K extends
                                                    | `POST /jobs/${number}/run`
                                                    | `POST /jobs/${number}/restore`
                                                    | `POST /hooks/jobs/${number}/run`
                                                ? Accepted
                                                : K extends `POST /jobs/${number}/webhook-token`
                                                  ? WebhookToken
                                                  : K extends `GET /jobs/${number}/generations`
                                                    ? Generations
                                                    : K extends 'GET /events' | `GET /events?${string}`
                                                      ? Page<LbEvent>
                                                      : K extends `GET /events/${number}` | `POST /events/${number}/cancel`
                                                        ? LbEvent
                                                        : K extends `GET /events/${number}/log`
                                                          ? { items: EventLogLine[] }
                                                          : K extends 'POST /restores' | 'POST /kept-datasets/remove'
                                                            ? Accepted
                                                            : K extends 'POST /restores/preview'
                                                              ? RestorePreview
                                                              : K extends 'POST /runner/join'
                                                                ? JoinResponse
                                                                : K extends 'POST /runner/claim'
                                                                  ? ClaimResponse
                                                                  : K extends 'POST /runner/events/status'
                                                                    ? EventStatusResponse
                                                                    : K extends `POST /runner/events/${number}/progress`
                                                                      ? ProgressResponse
                                                                      : K extends
                                                                            | `POST /runner/events/${number}/finish`
                                                                            | 'POST /runner/inventory'
                                                                            | 'POST /runner/catalog'
                                                                        ? Ok
                                                                        : K extends
                                                                              | `GET /jobs/${number}/retention/preview?${string}`
                                                                              | 'POST /jobs/retention/preview'
                                                                          ? RetentionPreview
                                                                          : K extends 'GET /overview'
                                                                            ? Overview
                                                                            : K extends 'GET /kept-datasets'
                                                                              ? Page<KeptDataset>
                                                                              : unknown;

/** `T` when the call site names it, else the route's success body. */
export type BodyOf<T, M extends string, P extends string> = [T] extends [never] ? RouteBody<`${M} ${P}`> : T;

/** A response: its status and its parsed JSON body. */
export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** The admin's API: `api<T>(...)` says what the body is; without `T` it is typed by the route. */
export type ApiCall = <T = never, M extends string = string, P extends string = string>(
  method: M,
  path: P,
  body?: unknown,
) => Promise<ApiResponse<BodyOf<T, M, P>>>;

/** The job of a claimed backup or restore (what `e.job` read before; any other kind has none: throws). */
export function claimedJob(e: ClaimedEvent): Extract<ClaimedEvent, { job: unknown }>['job'] {
  if (!('job' in e)) throw new Error(`a claimed ${e.kind} event has no job`);
  return e.job;
}

/** The target a claimed event carries (every kind but remove-kept, which works on the node only). */
export function claimedTarget(e: ClaimedEvent): Extract<ClaimedEvent, { target: unknown }>['target'] {
  if (!('target' in e)) throw new Error(`a claimed ${e.kind} event has no target`);
  return e.target;
}

/** The body of a response the test has seen fail (its status checked): the API's error body. */
export function errorBody(r: ApiResponse<unknown>): ApiErrorBody {
  return r.body as ApiErrorBody;
}

/** An event that ran to its end: it was claimed (startedAt) and finished (finishedAt), as every successful run. */
export type FinishedEvent = LbEvent & { startedAt: string; finishedAt: string };
export function isFinished(e: LbEvent): e is FinishedEvent {
  return e.startedAt !== null && e.finishedAt !== null;
}
