import adapter from '@sveltejs/adapter-static';

/** @type {import('@sveltejs/kit').Config} */
export default {
  kit: {
    // Single-page app: every unknown path falls back to index.html; the Node server serves
    // frontend/build and answers /api/v1/* itself.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    // pure code shared with the control plane and the runner (README, "Where things live"), and
    // the control plane's API contract, whose types the UI's API shapes are inferred from (type-only)
    alias: { $protocol: '../protocol/src', $contract: '../functions/src/contract' },
  },
};
