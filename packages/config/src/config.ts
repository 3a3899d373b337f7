import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import {
  BASELINE_KINDS,
  DEFAULT_QUALITY_GATE,
  GateSchema,
  QUALITY_METRICS,
  SkiffError,
  SplitChecksSchema,
  SplitRuleSchema,
  type Gate,
  type SplitChecks,
  type SplitRule,
} from '@skiff/core';

/**
 * `infra/setup.mjs` provisions into the checkout's `.cache/`; the default points there (this file
 * sits at packages/config/{src,dist}/), not at the working directory, so that a command run from a
 * sub-folder finds what was provisioned instead of installing a second copy.
 */
const CHECKOUT_CACHE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../.cache');

/** The promotion gate's defaults are core's (`GateSchema`); the environment only overrides them. */
const GATE_DEFAULTS = GateSchema.parse({});

/**
 * The one configuration schema of skiff, parsed once per process from the environment
 * and CLI flags. Nothing else reads process.env (lint-enforced): one place decides what a
 * setting means and refuses a bad value before any work starts.
 */
export const SkiffConfigSchema = z.object({
  dataDir: z.string().min(1).default('./data'),
  /** The project cache (Temporal CLI venv, Evidently venv); a relative value is read from the working directory. */
  cacheDir: z.string().min(1).default(CHECKOUT_CACHE_DIR),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /**
   * `auto`: JSON log lines to a file under `<dataDir>/logs/` when stderr is a terminal (a person
   * sees stage lines, progress and warnings), to stderr otherwise; `json`: always to stderr.
   */
  logFormat: z.enum(['auto', 'json']).default('auto'),
  /** Unset: skiff starts `temporal server start-dev` itself. Set: connect to that cluster. */
  temporalAddress: z.string().min(1).optional(),
  temporalNamespace: z.string().min(1).default('default'),
  temporalCliPath: z.string().min(1).optional(),
  temporalUiPort: z.coerce.number().int().min(1).max(65535).default(8233),
  temporalPort: z.coerce.number().int().min(1).max(65535).default(7233),
  /** Queue of the workflows themselves. */
  taskQueue: z.string().min(1).default('skiff-pipeline'),
  /** Queues of the activities: split them to run training on other (GPU) machines. */
  dataQueue: z.string().min(1).default('skiff-data'),
  trainingQueue: z.string().min(1).default('skiff-training'),
  monitoringQueue: z.string().min(1).default('skiff-monitoring'),
  /** What a worker process serves: any of workflows, data, training, monitoring. */
  workerRoles: z
    .string()
    .default('workflows,data,training,monitoring')
    .transform((s) =>
      s
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(['workflows', 'data', 'training', 'monitoring'])).min(1)),
  servePort: z.coerce.number().int().min(0).max(65535).default(8080),
  serveHost: z.string().min(1).default('127.0.0.1'),
  /**
   * TensorFlow intra-op threads of `skiff serve` (0: TensorFlow's default, one per core). Many small
   * batches next to the HTTP work gain nothing from the per-op pool and lose its hand-offs
   * (bench/serve, 50k-item GRU4Rec: +34 % req/s at 1 connection, +21 % at 16, +4 % at 64 with 1).
   */
  serveTfThreads: z.coerce.number().int().min(0).max(256).default(1),
  /**
   * Micro-batching of `skiff serve`: a batch keeps collecting while requests keep arriving, up to
   * this many ms after its first (0: the requests of one event-loop turn). See serve-http's batcher.
   */
  serveBatchSettleMs: z.coerce.number().min(0).max(50).default(0),
  /**
   * /metrics access: with a token, only `Authorization: Bearer <token>` reads it; with a port, it is
   * served there (same host) and not on the API port; with neither, it is open on the API port.
   */
  metricsToken: z.string().min(16, 'at least 16 characters').optional(),
  metricsPort: z.coerce.number().int().min(0).max(65535).optional(),
  /** Host header values the dashboard answers (DNS rebinding); an Origin header must name one of them too. */
  dashboardHosts: z
    .string()
    .default('localhost,127.0.0.1,[::1]')
    .transform((s) =>
      s
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  /** Requests per minute from one client address (0: no limit). */
  rateLimitPerMinute: z.coerce.number().int().min(0).default(60_000),
  /** Serving and events logs: total bytes kept per log (oldest files removed first; 0: no cap) and days kept (0: forever). */
  servingLogRetainBytes: z.coerce
    .number()
    .int()
    .min(0)
    .default(10 * 1024 * 1024 * 1024),
  servingLogRetainDays: z.coerce.number().int().min(0).default(30),
  /**
   * Signs the request ids the server issues, so a click is only credited to a recommendation this
   * deployment made for that session. Unset: a random secret per process (ids issued before a
   * restart are then refused).
   */
  requestIdSecret: z.string().min(32, 'at least 32 characters').optional(),
  /** How far in the future (seconds) an event's time may be before data checks refuse it. */
  maxClockSkewSeconds: z.coerce.number().int().min(0).default(300),
  /** Whether the training pipeline also ingests online events (data/online) — off unless configured. */
  ingestOnlineEvents: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .default(false)
    .transform((v) => v === true || v === 'true' || v === '1'),
  /** Schedules (`skiff schedules apply`): monitoring interval and nightly retraining time (UTC). */
  monitorEvery: z
    .string()
    .regex(/^\d+[smhd]$/, 'like 30m, 1h')
    .default('1h'),
  retrainAt: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM (UTC)')
    .default('02:00'),
  /** Set: the registry and experiment tracking live in this MLflow server instead of data/. */
  mlflowTrackingUri: z.url().optional(),
  /** tfjs backend: tfjs-node when it loads (auto), or force one. */
  tfBackend: z.enum(['auto', 'tensorflow', 'wasm']).default('auto'),
  /**
   * Quality-drop rule of the monitor: retrain and alert when the online metric (from logged next
   * events) is lower than the served version's offline test value by more than this share,
   * judged once at least qualityMinEvents served requests have a next event.
   */
  qualityMetric: z.enum(QUALITY_METRICS).default(DEFAULT_QUALITY_GATE.metric),
  qualityMaxDrop: z.coerce.number().min(0).max(1).default(DEFAULT_QUALITY_GATE.maxRelativeDrop),
  qualityMinEvents: z.coerce.number().int().min(1).default(DEFAULT_QUALITY_GATE.minEvents),
  /**
   * Dataset drift — what makes the monitor start a retraining run — when at least this share of the
   * tested columns drifted (Evidently's `drift_share`; the per-column tests and thresholds are
   * Evidently's). The default 0.1 means any one drifted column of the monitor's (at most six):
   * measured on the demo's traffic over 10 seeds, calm traffic drifts no column, and each drift
   * scenario drifts its own column in every seed but often only that one, so Evidently's 0.5 (half
   * of the columns) missed most of them (packages/monitoring/README.md).
   */
  driftShare: z.coerce.number().gt(0).max(1).default(0.1),
  /**
   * The time split of every training run: `last-days` (session-rec's: test = sessions whose last
   * event is in the final splitTestDays, validation = the same on what remains), `dates`
   * (splitTestStart / splitValidationStart) or `fraction` (of the time span).
   */
  splitRule: z.enum(['last-days', 'dates', 'fraction']).default('last-days'),
  splitTestDays: z.coerce.number().positive().default(1),
  splitValidationDays: z.coerce.number().positive().optional(),
  splitTestStart: z.string().optional(),
  splitValidationStart: z.string().optional(),
  splitTestFraction: z.coerce.number().gt(0).lt(1).default(0.1),
  splitValidationFraction: z.coerce.number().gt(0).lt(1).default(0.1),
  /** A run fails (DATA_QUALITY_FAILED) when a split has fewer sessions or prediction points than this. */
  splitMinSessions: z.coerce.number().int().min(1).default(50),
  splitMinPredictions: z.coerce.number().int().min(1).default(200),
  /** The promotion gate: metric, policy, baselines fitted on every run, confidence of the paired bootstrap interval. */
  promotionMetric: z
    .string()
    .regex(/^(hr|mrr|ndcg)@\d+$/, 'hr@k, mrr@k or ndcg@k')
    .default('hr@20'),
  promotionPolicy: z.enum(['candidate', 'promote-best']).default(GATE_DEFAULTS.policy),
  promotionBaselines: z
    .string()
    .default(GATE_DEFAULTS.baselines.join(','))
    .transform((s) =>
      s
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(BASELINE_KINDS))),
  promotionConfidence: z.coerce.number().gt(0).lt(1).default(GATE_DEFAULTS.confidence),
  /** No clear winner: `keep` production as it is, or `serve-best` (only while production is empty; see GateSchema). */
  promotionNoWinner: z.enum(['keep', 'serve-best']).default('keep'),
  /** Drift alerts are POSTed here as JSON (optional; always logged). */
  alertWebhookUrl: z.url().optional(),
  /** The TEMPORAL_* variables, for Temporal's own env configuration (TLS, API key, profiles). */
  temporalEnv: z.record(z.string(), z.string()).default({}),
  /** PATH, searched for the `temporal` binary. */
  searchPath: z.string().optional(),
});
export type SkiffConfig = z.infer<typeof SkiffConfigSchema>;

const ENV_KEYS: Record<string, keyof SkiffConfig> = {
  SKIFF_DATA_DIR: 'dataDir',
  SKIFF_CACHE_DIR: 'cacheDir',
  SKIFF_LOG_LEVEL: 'logLevel',
  SKIFF_LOG_FORMAT: 'logFormat',
  TEMPORAL_ADDRESS: 'temporalAddress',
  TEMPORAL_NAMESPACE: 'temporalNamespace',
  TEMPORAL_CLI_PATH: 'temporalCliPath',
  SKIFF_TEMPORAL_UI_PORT: 'temporalUiPort',
  SKIFF_TEMPORAL_PORT: 'temporalPort',
  SKIFF_TASK_QUEUE: 'taskQueue',
  SKIFF_DATA_QUEUE: 'dataQueue',
  SKIFF_TRAINING_QUEUE: 'trainingQueue',
  SKIFF_MONITORING_QUEUE: 'monitoringQueue',
  SKIFF_WORKER_ROLES: 'workerRoles',
  SKIFF_SERVE_PORT: 'servePort',
  SKIFF_SERVE_HOST: 'serveHost',
  SKIFF_SERVE_TF_THREADS: 'serveTfThreads',
  SKIFF_SERVE_BATCH_SETTLE_MS: 'serveBatchSettleMs',
  SKIFF_MONITOR_EVERY: 'monitorEvery',
  SKIFF_ALERT_WEBHOOK_URL: 'alertWebhookUrl',
  SKIFF_TF_BACKEND: 'tfBackend',
  SKIFF_MLFLOW_TRACKING_URI: 'mlflowTrackingUri',
  SKIFF_RETRAIN_AT: 'retrainAt',
  SKIFF_QUALITY_METRIC: 'qualityMetric',
  SKIFF_QUALITY_MAX_DROP: 'qualityMaxDrop',
  SKIFF_QUALITY_MIN_EVENTS: 'qualityMinEvents',
  SKIFF_DRIFT_SHARE: 'driftShare',
  SKIFF_SPLIT_RULE: 'splitRule',
  SKIFF_SPLIT_TEST_DAYS: 'splitTestDays',
  SKIFF_SPLIT_VALIDATION_DAYS: 'splitValidationDays',
  SKIFF_SPLIT_TEST_START: 'splitTestStart',
  SKIFF_SPLIT_VALIDATION_START: 'splitValidationStart',
  SKIFF_SPLIT_TEST_FRACTION: 'splitTestFraction',
  SKIFF_SPLIT_VALIDATION_FRACTION: 'splitValidationFraction',
  SKIFF_SPLIT_MIN_SESSIONS: 'splitMinSessions',
  SKIFF_SPLIT_MIN_PREDICTIONS: 'splitMinPredictions',
  SKIFF_PROMOTION_METRIC: 'promotionMetric',
  SKIFF_PROMOTION_POLICY: 'promotionPolicy',
  SKIFF_PROMOTION_BASELINES: 'promotionBaselines',
  SKIFF_PROMOTION_CONFIDENCE: 'promotionConfidence',
  SKIFF_PROMOTION_NO_WINNER: 'promotionNoWinner',
  SKIFF_METRICS_TOKEN: 'metricsToken',
  SKIFF_METRICS_PORT: 'metricsPort',
  SKIFF_DASHBOARD_HOSTS: 'dashboardHosts',
  SKIFF_RATE_LIMIT_PER_MINUTE: 'rateLimitPerMinute',
  SKIFF_SERVING_LOG_RETAIN_BYTES: 'servingLogRetainBytes',
  SKIFF_SERVING_LOG_RETAIN_DAYS: 'servingLogRetainDays',
  SKIFF_REQUEST_ID_SECRET: 'requestIdSecret',
  SKIFF_MAX_CLOCK_SKEW_SECONDS: 'maxClockSkewSeconds',
  SKIFF_INGEST_ONLINE_EVENTS: 'ingestOnlineEvents',
  PATH: 'searchPath',
};

/**
 * Parses configuration: flags win over environment variables, which win over defaults.
 * Throws CONFIG_INVALID listing every problem at once.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  flags: Partial<Record<keyof SkiffConfig, unknown>> = {},
): SkiffConfig {
  const raw: Record<string, unknown> = {};
  for (const [envKey, key] of Object.entries(ENV_KEYS)) {
    const v = env[envKey];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  raw['temporalEnv'] = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('TEMPORAL_') && e[1] !== undefined),
  );
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) raw[k] = v;
  const parsed = SkiffConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new SkiffError('CONFIG_INVALID', `invalid configuration: ${issues}`);
  }
  return Object.freeze({
    ...parsed.data,
    dataDir: path.resolve(parsed.data.dataDir),
    cacheDir: path.resolve(parsed.data.cacheDir),
  });
}

/** Well-known locations under the data dir (data/README.md lists what each holds). */
export function dataPaths(dataDir: string) {
  return {
    raw: path.join(dataDir, 'raw'),
    servingLogs: path.join(dataDir, 'raw', 'serving'),
    /** Events posted to /v1/events: apart from the raw shop logs, ingested only when configured. */
    onlineEvents: path.join(dataDir, 'online'),
    warehouse: path.join(dataDir, 'warehouse.duckdb'),
    snapshots: path.join(dataDir, 'snapshots'),
    artifacts: path.join(dataDir, 'artifacts'),
    registry: path.join(dataDir, 'registry'),
    runs: path.join(dataDir, 'runs'),
    reports: path.join(dataDir, 'reports'),
    temporal: path.join(dataDir, 'temporal'),
    /** JSON logs of commands run at a terminal (SKIFF_LOG_FORMAT=auto). */
    logs: path.join(dataDir, 'logs'),
  };
}
export type DataPaths = ReturnType<typeof dataPaths>;

/** The activity queues of this configuration, carried in workflow params. */
export function taskQueues(config: SkiffConfig): { data: string; training: string; monitoring: string } {
  return { data: config.dataQueue, training: config.trainingQueue, monitoring: config.monitoringQueue };
}

/** The split, split checks and promotion gate of a training run, from the configuration. */
export function pipelineSettings(config: SkiffConfig): {
  split: SplitRule;
  splitChecks: SplitChecks;
  gate: Gate;
  promotionMetric: string;
} {
  const rule =
    config.splitRule === 'dates'
      ? { rule: 'dates', testStart: config.splitTestStart, validationStart: config.splitValidationStart }
      : config.splitRule === 'fraction'
        ? {
            rule: 'fraction',
            testFraction: config.splitTestFraction,
            validationFraction: config.splitValidationFraction,
          }
        : {
            rule: 'last-days',
            testDays: config.splitTestDays,
            ...(config.splitValidationDays !== undefined ? { validationDays: config.splitValidationDays } : {}),
          };
  const split = SplitRuleSchema.safeParse(rule);
  if (!split.success)
    throw new SkiffError(
      'CONFIG_INVALID',
      `invalid split (SKIFF_SPLIT_*): ${split.error.issues.map((i) => `${i.path.join('.') || 'rule'}: ${i.message}`).join('; ')}`,
    );
  return {
    split: split.data,
    splitChecks: SplitChecksSchema.parse({
      minSessions: config.splitMinSessions,
      minPredictions: config.splitMinPredictions,
    }),
    gate: GateSchema.parse({
      policy: config.promotionPolicy,
      baselines: config.promotionBaselines,
      confidence: config.promotionConfidence,
      noWinner: config.promotionNoWinner,
    }),
    promotionMetric: config.promotionMetric,
  };
}
