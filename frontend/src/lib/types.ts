// API shapes, inferred from the control plane's own contract (functions/src/contract/api.ts: the
// schemas its handlers are type-checked against and GET /api/v1/openapi.json documents), so the UI
// and the API cannot disagree unnoticed. Type-only imports: nothing of the server reaches the bundle.
import type { z } from '@hono/zod-openapi';
import type * as api from '$contract/api';

type Out<T extends z.ZodType> = z.infer<T>;

export type Id = number;

/** A page of a list route (contract `list(item)`): the items and the cursor of the next page (an id), or null. */
export type Page<T> = Omit<Out<ReturnType<typeof api.list>>, 'items'> & { items: T[] };

export type Node = Out<typeof api.NodeSummary>;
export type NodeDetail = Out<typeof api.NodeDetail>;
export type Guest = NodeDetail['guests'][number];
export type JoinToken = Out<typeof api.JoinToken>;
export type KeptDataset = Out<typeof api.KeptDataset>;
export type TargetNodeStatus = Out<typeof api.TargetNodeStatus>;
export type TargetState = TargetNodeStatus['state'];
export type Target = Out<typeof api.Target>;
export type Job = Out<typeof api.Job>;
export type JobMode = Job['mode'];
export type LbEvent = Out<typeof api.Event>;
export type EventStatus = LbEvent['status'];
/** One event's change as GET /events/stream tells it ($lib/live). */
export type EventChange = Out<typeof api.EventChange>;
export type LogLine = Out<typeof api.EventLogLine>;
export type Generation = Out<typeof api.Generations>[number];
export type Snapshot = Generation['snapshots'][number];
/** What the snapshot pickers show: a job's generations, or a catalog item's (no current flag, no start time). */
export type GenerationChoice = Pick<Generation, 'generation' | 'snapshots'> & Partial<Pick<Generation, 'current' | 'createdAt'>>;
export type CatalogItem = Out<typeof api.CatalogItem>;
export type Accepted = Out<typeof api.Accepted>;
/** POST /targets answers the target and the validations it queued. */
export type TargetCreated = Target & { validationEventIds?: number[] };
/** GET /jobs/{id}/retention/preview: a side's snapshots as the server last saw them, with the verdicts of the saved policy. */
export type RetentionPreview = Out<typeof api.RetentionPreview>;
/** POST /restores/preview: what an out-of-band restore will register. */
export type RestorePreview = Out<typeof api.RestorePreview>;
/** Settings → Notifications: a channel (its secret is never sent back: hasSecret), its SMTP settings, a delivery. */
export type NotificationChannel = Out<typeof api.NotificationChannel>;
export type ChannelKind = NotificationChannel['kind'];
export type EmailSettings = Out<typeof api.EmailSettings>;
export type MailSecurity = EmailSettings['security'];
export type NotificationDelivery = Out<typeof api.NotificationDelivery>;
/** GET /overview: the home page (every job's health, failures of 24 h, nodes offline, targets not ready, the work now). */
export type Overview = Out<typeof api.Overview>;
export type OverviewJob = Out<typeof api.OverviewJob>;
export type HealthState = OverviewJob['health']['state'];
/** GET /events/count: the total of the Events page (capped). */
export type EventCount = Out<typeof api.EventCount>;
