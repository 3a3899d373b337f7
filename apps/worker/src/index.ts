export * from './deps.js';
export * from './run-worker.js';
export * from './alerts.js';
