// What the UI does with an error the router or a page's load throws (SvelteKit's handleError): an
// address with no page is the 404 page's business (routes/+error.svelte), not a console error.
import type { HandleClientError } from '@sveltejs/kit';

export const handleError: HandleClientError = ({ error, status, message }) => {
  if (status !== 404) console.error(error);
  return { message };
};
