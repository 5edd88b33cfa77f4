// API shapes (GET /api/v1/openapi.json). The server may add fields; the UI reads only these.
export type Id = number | string;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface Node {
  id: Id;
  name: string;
  lastSeenAt: string | null;
  zfsVersion: string | null;
  hostname?: string | null;
  revoked?: boolean;
}

export interface Guest {
  kind: 'jail' | 'vm';
  id: Id;
  name: string;
  running: boolean;
}

export interface NodeDetail extends Node {
  datasets: { name: string }[];
  guests: Guest[];
}

export interface JoinToken {
  token: string;
  expiresAt: string;
  command: string;
}

export type TargetState = 'ready' | 'not-validated' | 'failed' | 'config-changed';

export interface TargetNodeStatus {
  nodeId: Id;
  state: TargetState;
  error: string | null;
  validatedAt: string | null;
}

export interface Target {
  id: Id;
  name: string;
  sshHost: string;
  sshUser: string;
  sshPort: number;
  backupRoot: string;
  description: string;
  createBackupRoot: boolean;
  enabled: boolean;
  hasPrivateKey: boolean;
  hostKeyFingerprint: string | null;
  nodeStatus: TargetNodeStatus[];
}

export type JobMode = 'dataset' | 'jail' | 'vm';

export interface Job {
  id: Id;
  name: string;
  targetId: Id;
  nodeId: Id;
  mode: JobMode;
  source: string;
  schedule: string;
  timezone: string;
  keepLast: number;
  enabled: boolean;
  pruneTarget: boolean;
  stopBeforeBackup: boolean;
  recursive: boolean;
  /** false: encrypted datasets are sent raw (the target holds ciphertext only). */
  sendDecrypted: boolean;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastStatus: EventStatus | null;
  currentGeneration?: number;
  hasWebhookToken?: boolean;
}

export type EventStatus = 'queued' | 'running' | 'success' | 'failed' | 'interrupted' | 'cancelled';

export interface LbEvent {
  id: Id;
  kind: string;
  jobId: Id | null;
  nodeId: Id | null;
  trigger: string | null;
  status: EventStatus;
  phase: string | null;
  source: string | null;
  destination: string | null;
  generation: number | null;
  snapshot: string | null;
  bytesDone: number | null;
  bytesTotal: number | null;
  rateBps: number | null;
  etaSeconds: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  // Also served, optional here (older servers may lack them):
  jobName?: string | null;
  note?: string | null;
  errorClass?: string | null;
  cancelRequested?: boolean;
}

export interface LogLine {
  ts: string;
  level: string;
  message: string;
}

export interface Snapshot {
  name: string;
  guid: string;
  createdAt: string;
  usedBytes?: number | null;
  referencedBytes?: number | null;
}

export interface Generation {
  generation: number;
  current?: boolean;
  createdAt?: string;
  dataset?: string;
  snapshots: Snapshot[];
}

export interface CatalogGuest {
  kind: 'jail' | 'vm';
  name: string;
  id: Id;
  pools: string[] | string | null;
  network: unknown;
}

export interface CatalogItem {
  dataset: string;
  jobId: Id | null;
  source: string | null;
  guest: CatalogGuest | null;
  suggestedDestination: string | null;
  generations: Generation[];
}

export interface Accepted {
  eventId: Id;
}

/** POST /restores/preview: what an out-of-band restore will register (functions/src/contract/api.ts RestorePreview). */
export interface RestorePreview {
  destination: string;
  replaces: boolean;
  guest: {
    kind: 'jail' | 'vm';
    id: string;
    name: string;
    sourceId: string;
    network: 'yours' | 'backup' | 'none';
    provider: 'manifest' | 'jail' | 'vm-bhyve' | null;
    file: string | null;
    text: string | null;
    dropped: string[];
    notes: string[];
  } | null;
}
