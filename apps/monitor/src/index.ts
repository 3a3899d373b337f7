export * from './features.js';
export * from './run-monitor.js';
