// Every API operation's name, one-line summary and who may call it, for the OpenAPI document
// (app.ts adds them to what the routes declare). `access` is the real check: `public` (none),
// `join` (a join token in the body), `node` (the node token), `webhook` (the job's webhook token),
// or a scope of the admin's credentials (admin token, session, API token; lib/auth.ts scopeFor
// decides it, and a test checks that this table says the same).

export type Access = 'public' | 'join' | 'node' | 'webhook' | 'read' | 'operate' | 'admin';

export const OPERATIONS: Record<string, { id: string; summary: string; access: Access }> = {
  'GET /health': { id: 'getHealth', summary: 'Liveness and database check', access: 'public' },
  'GET /metrics': { id: 'getMetrics', summary: 'Prometheus metrics: events, jobs, nodes', access: 'read' },

  'POST /auth/login': { id: 'login', summary: 'Sign in with the admin password: a session cookie and its CSRF token', access: 'public' },
  'POST /auth/logout': { id: 'logout', summary: 'Sign out: end the session and clear its cookie', access: 'public' },
  'GET /auth/session': { id: 'getSession', summary: 'Who is signed in, how, and until when', access: 'public' },
  'POST /auth/password': { id: 'setPassword', summary: 'Set or change the admin password', access: 'admin' },
  'GET /auth/tokens': { id: 'listApiTokens', summary: 'List API tokens (names, scopes, expiry; never the secret)', access: 'admin' },
  'POST /auth/tokens': { id: 'createApiToken', summary: 'Create an API token (the secret is shown once)', access: 'admin' },
  'DELETE /auth/tokens/{id}': { id: 'revokeApiToken', summary: 'Revoke an API token (and the tokens it made)', access: 'admin' },
  'DELETE /auth/tokens/{id}/record': { id: 'removeApiToken', summary: 'Remove a revoked API token from the list', access: 'admin' },

  'GET /nodes': { id: 'listNodes', summary: 'List nodes', access: 'read' },
  'GET /nodes/{id}': {
    id: 'getNode',
    summary: 'A node with its datasets and guests (fresh=1: ask the node for a new inventory first)',
    access: 'read',
  },
  'POST /nodes/{id}/revoke': { id: 'revokeNode', summary: "Revoke a node's token", access: 'admin' },
  'POST /nodes/join-tokens': { id: 'createJoinToken', summary: 'A one-time token and command to join a node', access: 'admin' },

  'GET /targets': { id: 'listTargets', summary: 'List backup targets', access: 'read' },
  'POST /targets': { id: 'createTarget', summary: 'Create a backup target', access: 'admin' },
  'GET /targets/{id}': { id: 'getTarget', summary: 'A backup target', access: 'read' },
  'PATCH /targets/{id}': {
    id: 'updateTarget',
    summary: 'Change a backup target (host or port: the pinned host key is cleared)',
    access: 'admin',
  },
  'DELETE /targets/{id}': { id: 'deleteTarget', summary: 'Delete a backup target without jobs', access: 'admin' },
  'POST /targets/{id}/validate': {
    id: 'validateTarget',
    summary: 'Check a target from a node over SSH (a first validation shows its host key for confirmation)',
    access: 'operate',
  },
  'POST /targets/{id}/refresh': { id: 'refreshCatalog', summary: "Read a target's catalog again from a node", access: 'operate' },
  'POST /targets/{id}/host-key/reset': {
    id: 'resetHostKey',
    summary: "Forget a target's pinned host key (the next validation shows the key for confirmation)",
    access: 'admin',
  },
  'POST /targets/{id}/host-key/confirm': {
    id: 'confirmHostKey',
    summary: 'Pin the host key a validation saw, after an admin compared its fingerprint',
    access: 'admin',
  },
  'GET /targets/{id}/datasets': {
    id: 'listTargetDatasets',
    summary: "A target's catalog: datasets, guests, generations and snapshots",
    access: 'read',
  },

  'GET /jobs': { id: 'listJobs', summary: 'List jobs', access: 'read' },
  'POST /jobs': { id: 'createJob', summary: 'Create a job', access: 'admin' },
  'GET /jobs/{id}': { id: 'getJob', summary: 'A job', access: 'read' },
  'PATCH /jobs/{id}': { id: 'updateJob', summary: 'Change a job', access: 'admin' },
  'DELETE /jobs/{id}': { id: 'deleteJob', summary: 'Delete a job (its backups stay on the target)', access: 'admin' },
  'POST /jobs/{id}/run': { id: 'runJob', summary: 'Run Now: queue a backup of the job', access: 'operate' },
  'POST /jobs/{id}/webhook-token': {
    id: 'createWebhookToken',
    summary: 'A new webhook token for the job (the old one stops working)',
    access: 'admin',
  },
  'GET /jobs/{id}/generations': { id: 'listGenerations', summary: "The job's generations and their snapshots", access: 'read' },
  'GET /jobs/{id}/retention/preview': {
    id: 'previewJobRetention',
    summary: "What the job's policy keeps on one side and why, over the last reported listing",
    access: 'read',
  },
  'POST /jobs/retention/preview': {
    id: 'previewRetention',
    summary: 'What a policy (saved or not) keeps of a given snapshot list and why; changes nothing',
    access: 'read',
  },
  'POST /jobs/{id}/restore': { id: 'restoreJob', summary: "Restore the job's source from a snapshot, in place", access: 'operate' },
  'POST /hooks/jobs/{id}/run': { id: 'runJobByWebhook', summary: "Run Now with the job's webhook token", access: 'webhook' },

  'GET /events': { id: 'listEvents', summary: 'List events (work and history), newest first', access: 'read' },
  'GET /events/stream': {
    id: 'streamEventChanges',
    summary: 'Server-Sent Events: a notice whenever an event is created or changes (resume with Last-Event-ID)',
    access: 'read',
  },
  'GET /events/count': { id: 'countEvents', summary: 'How many events match the filters (up to 10,000)', access: 'read' },
  'GET /events/{id}': { id: 'getEvent', summary: 'An event with its progress', access: 'read' },
  'GET /events/{id}/log': { id: 'getEventLog', summary: "An event's log lines", access: 'read' },
  'POST /events/{id}/cancel': { id: 'cancelEvent', summary: 'Cancel a queued or running event', access: 'operate' },

  'GET /overview': {
    id: 'getOverview',
    summary:
      'Are the backups OK? Every job’s health and last backup, failures of the last 24 h, nodes offline, targets not ready, the work now',
    access: 'read',
  },

  'POST /restores': { id: 'restoreOutOfBand', summary: 'Restore a catalogued snapshot onto any node and dataset', access: 'operate' },
  'POST /restores/preview': {
    id: 'previewRestore',
    summary:
      "What POST /restores would do: the same checks (by the node's last inventory), and for a jail or VM exactly what will be registered",
    access: 'operate',
  },

  'GET /kept-datasets': {
    id: 'listKeptDatasets',
    summary: 'Replaced datasets that restores kept (on request, or because their removal failed)',
    access: 'read',
  },
  'POST /kept-datasets/remove': {
    id: 'removeKeptDataset',
    summary: 'Destroy a kept dataset on its node (checked by the runner right before)',
    access: 'admin',
  },

  'GET /notifications/channels': {
    id: 'listNotificationChannels',
    summary: 'List notification channels (never their secrets)',
    access: 'read',
  },
  'POST /notifications/channels': {
    id: 'createNotificationChannel',
    summary: 'Create a notification channel (webhook or ntfy)',
    access: 'admin',
  },
  'PATCH /notifications/channels/{id}': { id: 'updateNotificationChannel', summary: 'Change a notification channel', access: 'admin' },
  'DELETE /notifications/channels/{id}': {
    id: 'deleteNotificationChannel',
    summary: 'Delete a notification channel and its delivery history',
    access: 'admin',
  },
  'POST /notifications/channels/{id}/test': {
    id: 'testNotificationChannel',
    summary: 'Send a test notification now and answer with its result',
    access: 'admin',
  },
  'GET /notifications/deliveries': {
    id: 'listNotificationDeliveries',
    summary: 'Notification deliveries and their attempts, newest first',
    access: 'read',
  },

  'POST /runner/join': { id: 'joinNode', summary: 'A runner joins with a join token and gets its node token', access: 'join' },
  'POST /runner/claim': { id: 'claimEvents', summary: "A runner's long-poll for work (and due scheduled runs)", access: 'node' },
  'POST /runner/events/status': { id: 'getEventStatuses', summary: "Statuses of this node's earlier events", access: 'node' },
  'POST /runner/events/{id}/progress': {
    id: 'reportProgress',
    summary: 'Progress and log lines of a running event; answers whether it was cancelled',
    access: 'node',
  },
  'POST /runner/events/{id}/finish': { id: 'finishEvent', summary: 'The result of an event', access: 'node' },
  'POST /runner/inventory': {
    id: 'reportInventory',
    summary: "The node's ZFS version, pools, datasets, guests and guest providers",
    access: 'node',
  },
  'POST /runner/catalog': { id: 'reportCatalog', summary: 'What a runner read on a target, for the event it ran', access: 'node' },
};

const SECURITY: Record<Access, Record<string, string[]>[]> = {
  public: [],
  join: [],
  node: [{ nodeToken: [] }],
  webhook: [{ webhookToken: [] }],
  read: [{ bearer: [] }, { session: [] }],
  operate: [{ bearer: [] }, { session: [] }],
  admin: [{ bearer: [] }, { session: [] }],
};

export const SECURITY_SCHEMES = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    description: 'The admin token or an API token (POST /auth/tokens; its scope: read, operate or admin)',
  },
  session: {
    type: 'apiKey',
    in: 'cookie',
    name: 'lifeboat_session',
    description: 'From POST /auth/login; writes also need the X-CSRF-Token header',
  },
  nodeToken: {
    type: 'http',
    scheme: 'bearer',
    description: "A node's token (from POST /runner/join): runner routes, for that node's own events only",
  },
  webhookToken: {
    type: 'http',
    scheme: 'bearer',
    description: "A job's webhook token (POST /jobs/{id}/webhook-token): runs that job only",
  },
} as const;

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** Add operationId, summary and security (with `x-lifeboat-access`) to every operation; unknown ones throw. */
export function describeOperations<T extends { paths?: object }>(doc: T): T {
  for (const [path, ops] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, object>>)) {
    for (const [method, op] of Object.entries(ops)) {
      if (!HTTP_METHODS.has(method)) continue;
      const o = OPERATIONS[`${method.toUpperCase()} ${path}`];
      if (!o) throw new Error(`contract/operations.ts has no entry for ${method.toUpperCase()} ${path}`);
      Object.assign(op, { operationId: o.id, summary: o.summary, security: SECURITY[o.access], 'x-lifeboat-access': o.access });
    }
  }
  return doc;
}
