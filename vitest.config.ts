import { defineConfig } from 'vitest/config';

// Two projects: `fast` (pure units and real-process engine tests, seconds) and `docker`
// (real dockerd, registry, composer; minutes). `npm test` runs both; `npm run test:fast` the first.
export default defineConfig({
  test: {
    // The tests run `task` processes from dist/: bundle the sources first, so they test the tree.
    globalSetup: ['test/support/build.ts'],
    projects: [
      {
        test: {
          name: 'fast',
          include: ['test/**/*.test.ts'],
          exclude: ['test/docker/**', 'test/e2e/**'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'docker',
          include: ['test/docker/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
