import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Examples import the package by its public name, as a user would; point that
// name at the sources so tests need no build step.
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^schedkit\/testing$/, replacement: here('./testing.ts') },
      { find: /^schedkit\/backend$/, replacement: here('./backend.ts') },
      { find: /^schedkit\/postgres$/, replacement: here('./postgres.ts') },
      { find: /^schedkit\/prometheus$/, replacement: here('./prometheus.ts') },
      { find: /^schedkit$/, replacement: here('./index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Fails any test during which an unhandledRejection or uncaughtException happened.
    setupFiles: ['test/setup/fail-on-unhandled.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
