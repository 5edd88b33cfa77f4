// The display zone of the one clock (format.ts), kept per browser: the admin account is shared, the
// clock on the wall is not (README, Web UI → One clock).
import { setDisplayZone } from './format';

const KEY = 'lifeboat.displayZone';

/** The zone chosen in Settings in this browser, or null (the browser's own zone). */
export function savedDisplayZone(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage refused (private mode): the browser's zone
  }
}

/** Show times in the zone chosen in this browser; call once before the first page renders. */
export function loadDisplayZone(): void {
  setDisplayZone(savedDisplayZone());
}

/** Choose the display zone (null: the browser's own) for this browser, from now on. */
export function saveDisplayZone(zone: string | null): void {
  try {
    if (zone) localStorage.setItem(KEY, zone);
    else localStorage.removeItem(KEY);
  } catch {
    /* not kept across reloads, still used in this tab */
  }
  setDisplayZone(zone);
}
