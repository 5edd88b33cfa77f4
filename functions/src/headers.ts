// Security headers for everything the server answers (API and the built UI).
// The SvelteKit static build inlines one bootstrap <script> in index.html; instead of 'unsafe-inline'
// the CSP allows exactly that script by its SHA-256, computed from the index.html being served.
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

export async function contentSecurityPolicy(indexHtml: string | null): Promise<string> {
  const scripts = indexHtml ? await inlineScriptHashes(indexHtml) : [];
  return [
    "default-src 'self'",
    `script-src 'self'${scripts.map((h) => ' ' + h).join('')}`,
    // Svelte writes style attributes (and the build one inline style="display: contents"); styles cannot run code.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export async function securityHeaders(indexHtml: string | null): Promise<Record<string, string>> {
  return {
    'Content-Security-Policy': await contentSecurityPolicy(indexHtml),
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  };
}
