import { defineConfig } from 'vitest/config';

// hookTimeout covers starting a real MLflow server (≈25 s on a cold sqlite db).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    passWithNoTests: false,
  },
});
