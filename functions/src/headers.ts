// Security headers for everything the server answers (API and the built UI): Hono's secure-headers
// middleware, with the policy below. The SvelteKit static build inlines one bootstrap <script> in
// index.html; instead of 'unsafe-inline' the CSP allows exactly that script by its SHA-256, computed
// from the index.html being served (the middleware takes the hashes as plain sources).
import { Hono, type MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

const enc = new TextEncoder();

async function sha256b64(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(text)));
  let s = '';
  for (const b of d) s += String.fromCharCode(b);
  return btoa(s);
}

/** 'sha256-…' sources for every inline <script> (no src attribute) of an HTML page. */
export async function inlineScriptHashes(html: string): Promise<string[]> {
  const out: string[] = [];
  for (const m of html.matchAll(/<script(\s[^>]*)?>([\s\S]*?)<\/script>/gi)) {
    if (/\ssrc\s*=/i.test(m[1] ?? '')) continue;
    out.push(`'sha256-${await sha256b64(m[2])}'`);
  }
  return out;
}

/** The middleware: `indexHtml` is the UI page served (null when there is none, e.g. the Worker). */
export async function securityHeaders(indexHtml: string | null): Promise<MiddlewareHandler> {
  const scripts = indexHtml ? await inlineScriptHashes(indexHtml) : [];
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", ...scripts],
      // Svelte writes style attributes (and the build one inline style="display: contents"); styles cannot run code.
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: 'DENY',
    // HSTS belongs to the TLS proxy in front (README, Security headers): over plain http browsers ignore
    // it, and includeSubDomains would bind the operator's other hosts to a choice made here.
    strictTransportSecurity: false,
    // The middleware's other defaults stay: nosniff, Referrer-Policy no-referrer, COOP and CORP
    // same-origin, Origin-Agent-Cluster, X-DNS-Prefetch-Control off, X-XSS-Protection 0, and more.
  });
}

/** The headers the middleware sets, as name → value (for files served without the app: the Worker's UI assets, scripts/deploy-workers.mjs). */
export async function securityHeaderValues(indexHtml: string | null): Promise<Record<string, string>> {
  const app = new Hono().use(await securityHeaders(indexHtml)).get('*', (c) => c.body(null, 204));
  return Object.fromEntries((await app.request('/')).headers);
}
