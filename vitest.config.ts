import { defineConfig } from 'vitest/config';

// e2e tests install apps and run the TypeScript compiler: give them room, never a wall-clock assertion.
// expect.poll waits for a state, never for a time: its deadline is only how long to wait before
// calling the state missing, generous enough for a machine under load.
const shared = { testTimeout: 180_000, hookTimeout: 60_000, expect: { poll: { timeout: 30_000, interval: 20 } } };

/** The engine-level suites, run again on PostgreSQL: the same files, not a smaller copy. */
const BOTH_BACKENDS = [
  'test/runtime/valet-auth.test.ts',
  'test/runtime/valet-auth-oidc.test.ts',
  'test/runtime/valet-auth-smtp.test.ts',
  'test/runtime/auth-providers.test.ts',
  'test/runtime/data.test.ts',
  'test/runtime/isolation.test.ts',
  'test/runtime/actions.test.ts',
  'test/runtime/outbox.test.ts',
  'test/runtime/push.test.ts',
  'test/runtime/background.test.ts',
  'test/runtime/faults.test.ts',
  'test/runtime/claims.test.ts',
  'test/runtime/convex-parity.test.ts',
  'test/runtime/search.test.ts',
  'test/runtime/files.test.ts',
  'test/runtime/calls.test.ts',
  'test/runtime/migrations.test.ts',
  'test/runtime/tracing.test.ts',
  'test/runtime/one-off-query.test.ts',
  'test/client/sync.test.ts',
  'test/client/actions.test.ts',
  'test/client/pagination.test.ts',
  'test/http/app-routes.test.ts',
  'test/http/dashboard.test.ts',
  'test/http/hostile-input.test.ts',
  'test/testing/harness.test.ts',
  'test/e2e/start.test.ts',
  'test/postgres/**/*.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: 'sqlite',
          include: ['test/**/*.test.ts'],
          exclude: ['test/fixtures/**', '**/node_modules/**', 'test/postgres/**', 'test/scale/**'],
        },
      },
      {
        test: {
          ...shared,
          name: 'postgres',
          include: BOTH_BACKENDS,
          globalSetup: ['test/setup/postgres-global.ts'],
          setupFiles: ['test/setup/postgres-env.ts'],
          env: { VALET_TEST_BACKEND: 'postgres' },
        },
      },
      {
        // Several real `valet start` processes on one PostgreSQL, nginx in front, a production
        // install of a build: heavier, so `npm run test:scale` runs it (and .ci/run).
        test: {
          ...shared,
          name: 'scale',
          include: ['test/scale/**/*.test.ts'],
          // One file at a time: each starts its own fleet of servers.
          fileParallelism: false,
        },
      },
    ],
  },
});
