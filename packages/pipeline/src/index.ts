export * from './activities.js';
export * from './sequence.js';
