import type { Command } from 'commander';
import { registerDataCommands } from './data.js';
import { registerDemo } from './demo.js';
import { registerModelCommands } from './model.js';
import { registerOpsCommands } from './ops.js';
import { registerRegistryCommands } from './registry.js';

export function registerCommands(program: Command): void {
  registerDemo(program);
  registerDataCommands(program);
  registerModelCommands(program);
  registerOpsCommands(program);
  registerRegistryCommands(program);
}
