import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // integration tests start real processes and servers on loopback; keep the 2-core machine sane
    maxConcurrency: 4,
    fileParallelism: true,
    pool: 'forks',
  },
});
