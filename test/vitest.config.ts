import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'node_modules/**'],
    // Files run in parallel processes; each test starts its own servers on port 0.
    pool: 'forks',
    // Two at a time even on two cores (vitest's default there is one): most files wait on peers,
    // browsers and child processes, not on the CPU. 155 files took 609 s this way, their tests 1,019 s.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: process.env['CI'] ? ['default'] : ['default'],
  },
});
