// Pure SPA: rendered in the browser only; adapter-static writes the index.html fallback.
import { loadDisplayZone } from '$lib/clock';
import { prefetchFirstEventsPage } from '$lib/events';
import { warmDateFormats } from '$lib/format';
import { prefetchOverview } from '$lib/overview';
import type { LayoutLoad } from './$types';

export const ssr = false;
export const prerender = false;

let warmed = false;
// Before the first page renders: every time on screen is on the clock chosen in Settings.
loadDisplayZone();
export const load: LayoutLoad = ({ url }) => {
  // The first Intl.DateTimeFormat of a tab loads ICU data: 60–180 ms of main thread on a busy
  // host. Do it while the page's own modules and its first API answer are still on the way, not
  // in the middle of rendering the first table. (Not for the sign-in form, which shows no dates.)
  if (!warmed && !url.pathname.startsWith('/signin')) {
    warmed = true;
    setTimeout(warmDateFormats, 0);
  }
  // Runs once this module is loaded, while the page's own modules are still downloading.
  if (url.pathname === '/backups/events') prefetchFirstEventsPage(url);
  else if (url.pathname === '/') prefetchOverview();
  return {};
};
