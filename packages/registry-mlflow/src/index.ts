export * from './client.js';
export * from './create-mlflow-registry.js';
export * from './create-mlflow-tracker.js';
export * from './mlflow-server.js';
