// Runs the real server in its own process (for the SIGTERM test): registry root and serving log
// dir from argv; prints the URL; SIGTERM → graceful close → exit 0.
import { createFsRegistry } from '@skiff/registry';
import { silentLogger } from '@skiff/core';
import { startServer } from '../../dist/index.js';
import { loadFixed } from './fixed-model.mjs';

const [registryRoot, logDir] = process.argv.slice(2);
const server = await startServer({
  registry: createFsRegistry({ root: registryRoot }),
  load: loadFixed,
  servingLogDir: logDir,
  host: '127.0.0.1',
  port: 0,
  logger: silentLogger,
});
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
process.stdout.write(server.url + '\n');
