import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './functions/src/db/schema.ts',
  out: './drizzle/migrations',
});
