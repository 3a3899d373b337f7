export * from './pipeline.js';
export * from './monitoring.js';
export * from './activities.js';
export * from './worker.js';
export * from './temporal.js';
export * from './serving.js';
export * from './process.js';
export * from './unload.js';
