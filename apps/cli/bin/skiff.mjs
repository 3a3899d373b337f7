#!/usr/bin/env node
// The `skiff` command (`npx skiff …` in the repository). The CLI is TypeScript compiled to dist/;
// right after `npm ci` nothing is compiled yet, so the first call builds the workspace once.
// After editing the sources, `npm run build` (or `npm test` / `npm run demo`, which build first).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cliDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(cliDir, 'dist', 'main.js');
if (!existsSync(main)) {
  const root = path.resolve(cliDir, '..', '..');
  const turbo = path.join(root, 'node_modules', '.bin', 'turbo');
  process.stderr.write('skiff: first run after install: building the workspace (npm run build)…\n');
  const built = spawnSync(turbo, ['run', 'build', '--filter=@skiff/cli...', '--output-logs=errors-only'], {
    cwd: root,
    stdio: ['ignore', 2, 2],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });
  if (built.status !== 0 || !existsSync(main)) {
    process.stderr.write(
      `skiff: the build failed (${built.error?.message ?? `exit ${built.status}`}); run \`npm run build\` to see why\n`,
    );
    process.exit(1);
  }
}
await import(pathToFileURL(main).href);
