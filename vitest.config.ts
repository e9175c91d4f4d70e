import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/fixtures/**', '**/node_modules/**'],
    // e2e tests install apps and run the TypeScript compiler: give them room, never a wall-clock assertion.
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
