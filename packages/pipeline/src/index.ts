export * from './activities.js';
export * from './sequence.js';
export * from './gate.js';
export * from './selection.js';
export * from './candidates.js';
