// Field rules shared by the API, the UI and the runner.
import { z } from '@hono/zod-openapi';
import { RETENTION_COUNT_MAX, withinSeconds } from '../../../protocol/src/retention.ts';

// What zfs itself accepts in a component (zfs(8), "Dataset names"): a space included.
const DATASET_COMPONENT = /^[A-Za-z0-9_.: -]+$/;
const RESERVED_POOLS = new Set(['mirror', 'raidz', 'raidz1', 'raidz2', 'raidz3', 'draid', 'spare', 'log', 'cache', 'special', 'dedup']);

/** ZFS dataset name: pool[/child...]; no snapshot/bookmark parts, no empty or dot components. */
export function datasetNameError(name: string): string | null {
  if (name.length === 0) return 'is required';
  if (name.length > 255) return 'is longer than 255 characters';
  if (/[@#]/.test(name)) return 'must be a dataset, not a snapshot or bookmark';
  if (name.startsWith('/') || name.endsWith('/')) return 'must not start or end with "/"';
  const parts = name.split('/');
  for (const p of parts) {
    if (p === '') return 'must not contain "//"';
    if (p === '.' || p === '..') return 'must not contain "." or ".." components';
    if (!DATASET_COMPONENT.test(p)) return `component "${p}" may only contain letters, digits, spaces and _ . : -`;
  }
  const pool = parts[0];
  if (!/^[A-Za-z]/.test(pool)) return 'pool name must start with a letter';
  if (RESERVED_POOLS.has(pool) || /^c[0-9]/.test(pool)) return `"${pool}" is not a valid pool name`;
  return null;
}

// zod's own validators (RFC 1123 host names, dotted-quad IPv4, RFC 4291 IPv6 text forms)
const isHostname = (s: string) => s.length <= 253 && z.hostname().safeParse(s).success;
const isIPv4 = (s: string) => z.ipv4().safeParse(s).success;
const isIPv6 = (s: string) => z.ipv6().safeParse(s).success;

/** A host name or an IP address (v4 or v6), nothing else; `fields` names where a user and a port go instead. */
function hostError(host: string, fields: { user: string; port: string }): string | null {
  if (host.length === 0) return 'is required';
  if (host.includes('@')) return `must be a host name or IP only; put the user in ${fields.user}`;
  if (host.startsWith('[') || (host.includes(':') && !isIPv6(host))) {
    return isIPv6(host.replace(/^\[|\](:\d+)?$/g, ''))
      ? `write an IPv6 address without brackets or port; use ${fields.port}`
      : `must be a host name or IP only; put the port in ${fields.port}`;
  }
  if (isIPv6(host) || isIPv4(host) || isHostname(host)) return null;
  return 'is not a valid host name or IP address';
}

/** SSH host (targets). */
export const sshHostError = (host: string) => hostError(host, { user: 'sshUser', port: 'sshPort' });
/** SMTP host (email channels). */
export const mailHostError = (host: string) => hostError(host, { user: 'username', port: 'port' });

const refine = (check: (v: string) => string | null) => (v: string, ctx: z.RefinementCtx) => {
  const err = check(v);
  if (err) ctx.addIssue({ code: 'custom', message: err });
};

export const datasetName = z.string().superRefine(refine(datasetNameError));
export const sshHost = z.string().trim().superRefine(refine(sshHostError));
export const mailHost = z.string().trim().superRefine(refine(mailHostError));
export const sshUser = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, 'must be a valid user name');
export const sshPort = z.number().int('must be an integer').min(1, 'must be between 1 and 65535').max(65535, 'must be between 1 and 65535');
export const resourceName = z
  .string()
  .trim()
  .min(1, 'is required')
  .max(100, 'is longer than 100 characters')
  .regex(/^[^\x00-\x1f\x7f]+$/, 'must not contain control characters');
export const privateKey = z
  .string()
  .max(16384, 'is too long')
  .regex(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]+-----END [A-Z0-9 ]*PRIVATE KEY-----/, 'must be a PEM or OpenSSH private key');
/** `SHA256:` and the unpadded base64 of a SHA-256, as `ssh-keygen -l` prints a host key's fingerprint. */
export const hostKeyFingerprint = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'must be a SHA256:… fingerprint as ssh-keygen -l prints it')
  .openapi({ example: 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8' });
export const id = z.coerce.number().int().positive();

const retentionCount = z
  .number({ error: 'must be an integer ≥ 0' })
  .int('must be an integer ≥ 0')
  .min(0, 'must be an integer ≥ 0')
  .max(RETENTION_COUNT_MAX, `must be at most ${RETENTION_COUNT_MAX}`);
/** One side's retention policy (protocol/src/retention.ts); omitted counts are 0. */
export const retentionPolicy = z
  .object({
    last: retentionCount.default(0),
    hourly: retentionCount.default(0),
    daily: retentionCount.default(0),
    weekly: retentionCount.default(0),
    monthly: retentionCount.default(0),
    yearly: retentionCount.default(0),
    within: z
      .string()
      .refine((v) => withinSeconds(v) !== null, 'must be a duration like 48h, 14d or 8w')
      .nullable()
      .default(null),
  })
  .strict()
  .openapi('RetentionPolicy', {
    description:
      'Keeps the union of its rules: the newest `last`; the newest snapshot of each of the most recent `hourly`/`daily`/' +
      '`weekly`/`monthly`/`yearly` periods that hold one (in the job time zone); everything newer than `within`. ' +
      'The newest common snapshot, held or cloned snapshots and snapshots that are not the job’s are always kept.',
    example: { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12, yearly: 0, within: '48h' },
  });
