import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// `npm run dev -w frontend` proxies the API to a locally running control plane.
const api = process.env.LIFEBOAT_API ?? 'http://127.0.0.1:8480';

export default defineConfig({
  plugins: [sveltekit()],
  server: { proxy: { '/api': api } },
  // The adapter writes the site inside writeBundle; that is expected, not a slow plugin.
  build: { rolldownOptions: { checks: { bundlerTimings: false } } },
});
