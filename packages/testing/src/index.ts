export * from './registry-contract.js';
export * from './tracker-contract.js';
export * from './contract-cases.js';
export * from './contract-snapshot.js';
export * from './warehouse-contract.js';
export * from './trainer-contract.js';
export * from './recommender-contract.js';
export * from './fake-pipeline.js';
