// Lint rules that encode the house style's boundaries (docs/adr/0001): packages never import apps,
// an app never imports another app (each is a process over @skiff/runtime and the packages),
// workflow code imports no Node built-ins or adapters, only config parsing reads process.env, and
// packages log through the Logger port instead of console.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettierConfig from 'eslint-config-prettier';

/** Package name → folder under apps/. */
const APP_DIRS = {
  '@skiff/cli': 'cli',
  '@skiff/serve': 'serve',
  '@skiff/worker': 'worker',
  '@skiff/monitor': 'monitor',
};
const APPS = Object.keys(APP_DIRS);

/** For the files of one app: every other app, by package name (and subpaths) or by a relative path into its folder. */
function otherApps(self) {
  const others = Object.entries(APP_DIRS).filter(([name]) => name !== self);
  return {
    paths: others.map(([name]) => ({
      name,
      message:
        'an app must not import another app: move the shared behaviour into a package (wiring into @skiff/runtime)',
    })),
    patterns: [
      {
        group: others.flatMap(([name, dir]) => [
          `${name}/*`,
          `**/apps/${dir}/**`,
          `../../${dir}/**`,
          `../../../${dir}/**`,
        ]),
        message:
          'an app must not import another app: move the shared behaviour into a package (wiring into @skiff/runtime)',
      },
    ],
  };
}

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/*.d.ts',
      '.cache/**',
      'data/**',
      'bench/**',
      'infra/**',
      '**/test-artifacts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        performance: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
        AbortController: 'readonly',
        Buffer: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        structuredClone: 'readonly',
        Response: 'readonly',
        document: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through @skiff/config (loadConfig), parsed once at the entry point.',
        },
      ],
    },
  },
  {
    files: ['packages/**/src/**/*.ts'],
    ignores: ['**/*.test.ts', '**/test-helpers/**'],
    rules: {
      'no-console': 'error',
      'no-restricted-imports': [
        'error',
        {
          paths: APPS.map((name) => ({
            name,
            message: 'packages must not import apps (apps compose, packages implement)',
          })),
        },
      ],
    },
  },
  ...Object.entries(APP_DIRS).map(([name, dir]) => ({
    files: [`apps/${dir}/**/*.{ts,mjs,js}`],
    rules: { 'no-restricted-imports': ['error', otherApps(name)] },
  })),
  {
    files: ['packages/orchestrator-temporal/src/workflows.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'crypto', 'child_process'],
              message: 'workflow code runs in a deterministic sandbox: no Node built-ins',
            },
            {
              group: [
                '@skiff/ingest',
                '@skiff/model',
                '@skiff/registry*',
                '@skiff/monitoring',
                '@skiff/runtime',
                '@skiff/serve-http',
                '@temporalio/activity',
                '@temporalio/client',
                '@temporalio/worker',
              ],
              message: 'workflows import only @temporalio/workflow, types and the pure sequence',
            },
            { group: APPS, message: 'packages must not import apps (apps compose, packages implement)' },
          ],
        },
      ],
    },
  },
  {
    // The entry points hand process.env to loadConfig; tests and test helpers set up environments.
    files: [
      'packages/config/src/config.ts',
      'apps/cli/src/context.ts',
      'apps/monitor/src/main.ts',
      'apps/serve/src/main.ts',
      'apps/worker/src/main.ts',
      '**/*.test.ts',
      '**/test-helpers/**',
      'packages/model/src/backend.ts',
    ],
    rules: { 'no-restricted-properties': 'off', '@typescript-eslint/consistent-type-imports': 'off' },
  },
  // Formatting is prettier's job (`npm run format:check` in lint): no style rule may disagree with it.
  prettierConfig,
);
