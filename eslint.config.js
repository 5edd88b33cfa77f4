// Lint for the whole repo (docs/testing.md, "Before the suites"): typescript-eslint's recommended
// rules for TypeScript, eslint-plugin-svelte's for the UI. `npm run lint` and `npm test` run it with
// zero warnings allowed.
import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './frontend/svelte.config.js';

export default ts.config(
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      'frontend/build/',
      'frontend/.svelte-kit/',
      '.tmp/',
      'data/',
      'test-artifacts/',
      'drizzle/migrations/',
      '.wrangler/',
    ],
  },
  js.configs.recommended,
  ts.configs.recommended,
  svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      // `_name` marks an argument or binding kept on purpose (a callback's shape, a destructured rest).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Input validation rejects control characters by matching them on purpose (README.md, "Threat model").
      'no-control-regex': 'off',
      // The UI is served at the control plane's root (no `paths.base`), so resolve() would change no link.
      'svelte/no-navigation-without-resolve': 'off',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'], svelteConfig } },
    rules: {
      // {' '} keeps a space where markup breaks across lines; without it Svelte would drop the space.
      'svelte/no-useless-mustaches': 'off',
    },
  },
);
