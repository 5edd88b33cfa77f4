// Shared by the Events page and its load function.
export const FILTER_KEYS = ['jobId', 'nodeId', 'status', 'kind', 'q'] as const;
export const DEFAULT_LIMIT = 50;
