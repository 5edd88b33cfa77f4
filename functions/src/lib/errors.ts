// The API's error envelope: { error: { code, message, fields } }.
export type ErrorCode =
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'busy'
  | 'too_large'
  | 'upgrade_required'
  | 'rate_limited'
  | 'internal';

const STATUS: Record<ErrorCode, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  busy: 409,
  too_large: 413,
  upgrade_required: 426,
  rate_limited: 429,
  internal: 500,
};

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields: Record<string, string> = {},
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = STATUS[code];
  }
  body() {
    return { error: { code: this.code, message: this.message, fields: this.fields }, ...this.extra };
  }
}

export const invalid = (field: string, message: string) => new ApiError('invalid', `${field}: ${message}`, { [field]: message });
export const notFound = (what: string) => new ApiError('not_found', `${what} not found`);
export const conflict = (message: string, fields: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
  new ApiError('conflict', message, fields, extra);

/** Unique-constraint violations from libSQL and D1 both mention this text. */
/** An error and its causes (driver errors wrap the SQLite one). */
function* causes(err: unknown): Generator<{ message?: unknown; code?: unknown }> {
  for (let e = err; e !== null && typeof e === 'object'; e = (e as { cause?: unknown }).cause)
    yield e as { message?: unknown; code?: unknown };
}

export function isUniqueViolation(err: unknown): boolean {
  for (const e of causes(err)) {
    if (String(e.message ?? '').includes('UNIQUE constraint failed') || e.code === 'SQLITE_CONSTRAINT_UNIQUE') return true;
  }
  return false;
}

export function isBusy(err: unknown): boolean {
  for (const e of causes(err)) {
    if (e.code === 'SQLITE_BUSY' || String(e.message ?? '').includes('SQLITE_BUSY')) return true;
  }
  return false;
}
