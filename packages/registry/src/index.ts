export * from './create-fs-registry.js';
export * from './create-fs-tracker.js';
export * from './files.js';
export * from './names.js';
export * from './diff.js';
