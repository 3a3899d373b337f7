export * from './shared.js';
export * from './cli-provision.js';
export * from './dev-server.js';
export * from './activities.js';
export * from './worker.js';
export * from './client.js';
export type { MonitoringOutcome, MonitoringParams, TrainingProgress } from './workflows.js';
export * from './logging.js';
