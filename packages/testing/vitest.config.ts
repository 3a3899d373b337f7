import { defineConfig } from 'vitest/config';

// The suites are exercised by the adapters that run them (packages/registry, packages/registry-mlflow).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    passWithNoTests: true,
  },
});
