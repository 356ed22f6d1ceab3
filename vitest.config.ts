import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['contract/**/*.test.ts', 'sandbox/src/**/*.test.ts', 'sandbox/tools/**/*.test.ts', 'sandbox/test/**/*.test.ts', 'src/**/*.test.ts', 'e2e/**/*.test.ts', 'scripts/**/*.test.ts'],
    // Integration and browser tests share one Docker engine on a 2-core machine: one file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
