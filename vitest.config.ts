import { defineConfig } from 'vitest/config';

// Integration tests start real servers and a real llama.cpp engine on a 2-core machine:
// run files one at a time so timings and thread pins stay honest.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'console/src/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
