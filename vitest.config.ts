import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['{proxy,mock-providers,scenarios,reports,ci}/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Tests open real servers on loopback; two cores are shared, so keep the pool small.
    pool: 'forks',
    maxWorkers: 2,
  },
})
