export * from './activities.js';
export * from './sequence.js';
export * from './gate.js';
