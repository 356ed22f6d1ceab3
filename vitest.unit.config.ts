/**
 * `npm run test:unit`: the tests that need no Docker Engine, no browser and no built site, in
 * parallel: the contract, the runner's and the tools' modules on their own, the site's libraries
 * and markdown plugins, and the scripts' pure parts. Seconds, not minutes (`npm test` runs them
 * too, with the integration and browser suites).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['contract/**/*.test.ts', 'sandbox/src/**/*.test.ts', 'sandbox/tools/**/*.test.ts', 'src/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
