export * from './registry-contract.js';
export * from './tracker-contract.js';
export * from './fake-pipeline.js';
