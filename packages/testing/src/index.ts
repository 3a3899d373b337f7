export * from './registry-contract.js';
export * from './tracker-contract.js';
