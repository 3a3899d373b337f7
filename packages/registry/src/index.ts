export * from './create-fs-registry.js';
export * from './create-fs-tracker.js';
export * from './diff.js';
