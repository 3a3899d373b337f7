export * from './backend.js';
export * from './vocabulary.js';
export * from './pop.js';
export * from './gru4rec.js';
export * from './evaluate.js';
export * from './create-tfjs-trainer.js';
