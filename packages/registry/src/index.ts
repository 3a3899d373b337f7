export * from './create-fs-registry.js';
