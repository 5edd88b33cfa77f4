// The Overview's first read (no imports: its test reads app.html, which sends the same request
// before the app's code is loaded).

/** Job lines asked for at first: with thousands of jobs the worst ones (listed first) are what matters. */
export const FIRST_ROWS = 200;

/** The first read's path under /api/v1. */
export const FIRST_PATH = `/overview?jobs=${FIRST_ROWS}`;
