// Pure helpers of Settings → Notifications and of the job form's RPO and old-generation fields:
// no I/O, table-tested beside (notify.test.ts).
import type { ChannelKind, EmailSettings, MailSecurity } from './types';

export const KIND_LABELS: Record<ChannelKind, string> = { webhook: 'Webhook', ntfy: 'ntfy', email: 'Email' };

/** The usual port of each way to reach an SMTP server. */
export const DEFAULT_PORTS: Record<MailSecurity, number> = { tls: 465, starttls: 587, none: 25 };

export const SECURITY_LABELS: Record<MailSecurity, string> = {
  tls: 'TLS (implicit, port 465)',
  starttls: 'STARTTLS (required, port 587)',
  none: 'None (plain SMTP, port 25: a local relay)',
};

/**
 * The port after the security changed: the new default when the port was empty or the old one's
 * default (the user did not pick one), else the port as typed.
 */
export function portAfterSecurity(port: number | null | undefined, from: MailSecurity, to: MailSecurity): number | null {
  if (port === null || port === undefined || Number.isNaN(port) || port === DEFAULT_PORTS[from]) return DEFAULT_PORTS[to];
  return port;
}

/** Addresses typed one per line or separated by commas or semicolons (blanks dropped). */
export function parseAddresses(text: string): string[] {
  return text
    .split(/[\n,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** host:port, with an IPv6 address in brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Where a channel sends: its URL, or "SMTP host:port → a@x, b@y" for email. */
export function destination(ch: { url: string | null; email: Pick<EmailSettings, 'host' | 'port' | 'to'> | null }): string {
  if (ch.email) return `SMTP ${hostPort(ch.email.host, ch.email.port)} → ${ch.email.to.join(', ')}`;
  return ch.url ?? '—';
}

/**
 * The API's message about the recipients (`email.to` as a whole, or `email.to.N` for one address),
 * naming the address that is wrong; null when it said nothing about them.
 */
export function recipientsError(fields: Record<string, string> | undefined, sent: readonly string[]): string | null {
  if (!fields) return null;
  if (fields['email.to']) return sentence('To', fields['email.to']);
  for (const [k, m] of Object.entries(fields)) {
    const i = /^email\.to\.(\d+)$/.exec(k);
    if (!i) continue;
    const addr = sent[Number(i[1])];
    return addr === undefined ? sentence('To', m) : `“${addr}” ${m}`;
  }
  return null;
}

/** "is required" → "Label is required"; a whole sentence stays, with a capital first letter. */
export function sentence(label: string, m: string): string {
  if (/^(is|must|should|cannot|can't|has|does|already|needs)\b/.test(m)) return `${label} ${m}`;
  return m.charAt(0).toUpperCase() + m.slice(1);
}

export type RpoUnit = 'hours' | 'minutes';
const UNIT_SECONDS: Record<RpoUnit, number> = { hours: 3600, minutes: 60 };

/** A stored RPO as the form shows it: whole hours when it is some, else minutes; null: empty. */
export function rpoToForm(seconds: number | null | undefined): { value: number | null; unit: RpoUnit } {
  if (seconds === null || seconds === undefined) return { value: null, unit: 'hours' };
  if (seconds % 3600 === 0) return { value: seconds / 3600, unit: 'hours' };
  return { value: Math.round((seconds / 60) * 100) / 100, unit: 'minutes' };
}

/** What the RPO inputs mean in seconds: null for empty (the default), NaN for something that is no number. */
export function rpoFromForm(value: number | string | null | undefined, unit: RpoUnit): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) return NaN;
  return Math.round(n * UNIT_SECONDS[unit]);
}

/** A span for people: "90 min", "2 h", "1 d 12 h", "14 d". */
export function spanText(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 2 * 3600 && s % 3600 !== 0) return `${Math.round(s / 60)} min`;
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.round((s % 3600) / 60);
  if (d === 0) return m ? `${h} h ${m} min` : `${h} h`;
  return h ? `${d} d ${h} h` : `${d} d`;
}

/** What the old-generation rules keep, in one sentence (a generation kept by neither rule is destroyed). */
export function generationsText(keep: number | null | undefined, days: number | null | undefined): string {
  const k = keep ?? null;
  const d = days ?? null;
  if (k === null && d === null) return 'Both empty: every old generation is kept.';
  const count = k === null ? null : `the newest ${k} generation${k === 1 ? '' : 's'} (the current one included)`;
  const age = d === null ? null : `${d} day${d === 1 ? '' : 's'} after it was replaced`;
  if (count && age) return d === 0 ? `Keeps ${count} and no other.` : `Keeps ${count}, and any other for ${age}.`;
  if (count) return `Keeps ${count}; no age rule.`;
  return d === 0
    ? 'Keeps no old generation: each is destroyed once replaced (0 days, no count rule).'
    : `Keeps each old generation for ${age}; no count rule.`;
}
