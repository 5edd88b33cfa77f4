// The runner's API routes: each route's request and answer types, inferred from the control
// plane's contract (functions/src/contract/runner.ts, the schemas its handlers are checked against).
// Type-only imports, so the runner bundle still has no npm dependency.
import type { z } from '@hono/zod-openapi';
import type * as contract from '../../../functions/src/contract/runner.ts';
import type { Ok } from '../../../functions/src/contract/api.ts';

type Route<Req extends z.ZodType, Res extends z.ZodType> = { req: z.input<Req>; res: z.infer<Res> };
/** The runner's routes, by path (an event's routes with its id). */
export type RunnerRoutes = {
  '/runner/join': Route<typeof contract.JoinRequest, typeof contract.JoinResponse>;
  '/runner/claim': Route<typeof contract.ClaimRequest, typeof contract.ClaimResponse>;
  '/runner/events/status': Route<typeof contract.EventStatusRequest, typeof contract.EventStatusResponse>;
  '/runner/inventory': Route<typeof contract.InventoryRequest, typeof Ok>;
  '/runner/catalog': Route<typeof contract.CatalogRequest, typeof Ok>;
  [progress: `/runner/events/${number}/progress`]: Route<typeof contract.ProgressRequest, typeof contract.ProgressResponse>;
  [finish: `/runner/events/${number}/finish`]: Route<typeof contract.FinishRequest, typeof Ok>;
};
