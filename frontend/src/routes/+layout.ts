// Pure SPA: rendered in the browser only; adapter-static writes the index.html fallback.
export const ssr = false;
export const prerender = false;
