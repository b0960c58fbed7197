import { defineConfig } from 'vitest/config';

/**
 * The web app's tests alone, without the server's database setup: `npx vitest run -c
 * packages/web/vitest.config.ts`. The root config runs them too, with everything else.
 */
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
