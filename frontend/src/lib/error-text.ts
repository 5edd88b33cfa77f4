// How an API error reads on screen (issue 16: shown once, in sentence case, without field keys): a
// field's message goes under its input (FieldError, fieldMessage); the banner says only the rest.
import type { ApiError } from './api';

/** "is required" after its label ("Name is required"); any other message as a sentence of its own. */
export function fieldSentence(label: string, message: string): string {
  if (/^(is|must|should|cannot|can't|has|does|already|needs|names)\b/.test(message)) return `${label} ${message}`;
  return capitalize(message);
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** A capital first letter and a full stop: "target 3 not found" → "Target 3 not found." */
export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  return capitalize(/[.!?]$/.test(t) ? t : `${t}.`);
}

const WORDS: Record<string, string> = { ssh: 'SSH', id: '', 'kib/s': 'KiB/s', rpo: 'RPO', api: 'API', url: 'URL', smtp: 'SMTP' };

/** A field key as words: `sshHost` → "SSH host", `targetId` → "Target", `sourceRetention.daily` → "Source retention daily". */
export function keyLabel(key: string): string {
  const words = key
    .replace(/KiBps/g, ' kib/s')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[\s._-]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase())
    .map((w) => (w in WORDS ? WORDS[w] : /^\d+$/.test(w) ? `#${Number(w) + 1}` : w))
    .filter(Boolean);
  return capitalize(words.join(' ') || key);
}

/**
 * The banner's text for `error`, or null when there is nothing left to say there: every field it
 * names is shown under its input (`shown`). Messages of fields not shown are said in sentences
 * with their labels; an error without fields is its message as a sentence.
 */
export function bannerText(
  error: Pick<ApiError, 'message' | 'fields'> | string | null,
  shown: (key: string) => boolean = () => false,
): string | null {
  if (error === null) return null;
  if (typeof error === 'string') return sentence(error) || null;
  const fields = Object.entries(error.fields ?? {});
  if (!fields.length) return sentence(error.message) || null;
  const rest = fields.filter(([k]) => !shown(k));
  if (!rest.length) return null;
  return rest.map(([k, m]) => sentence(fieldSentence(keyLabel(k), m))).join(' ');
}
