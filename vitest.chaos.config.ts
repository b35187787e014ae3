import { defineConfig } from 'vitest/config';

// `npm run test:chaos`: the reliability suite (crash, outage, faults, fuzz, soak).
// CHAOS_SCALE=short (used by .ci/run) runs each at a reduced size; full is the default here.
export default defineConfig({
  test: {
    include: ['test/chaos/**/*.test.ts'],
    testTimeout: 3_600_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
    globalSetup: ['test/setup/system-tools.ts'],
  },
});
