// The first page of events is requested before the page renders (by the root layout when it can,
// else here), not after it mounted: with thousands of events it is what the table's first paint waits for.
import { takeFirstEventsPage } from '$lib/events';
import type { PageLoad } from './$types';

// Not awaited: the page renders at once and fills the table when this settles (never rejects).
export const load: PageLoad = ({ url }) => ({ first: takeFirstEventsPage(url) });
