/** Names shared by workflows, workers and clients. */
export const DEFAULT_TASK_QUEUE = 'skiff-pipeline';
export const TRAINING_WORKFLOW = 'trainingPipeline';
export const MONITORING_WORKFLOW = 'monitoringWorkflow';
export const MONITOR_SCHEDULE_ID = 'skiff-monitor';
export const RETRAIN_SCHEDULE_ID = 'skiff-retrain-nightly';
export const PROGRESS_QUERY = 'progress';
