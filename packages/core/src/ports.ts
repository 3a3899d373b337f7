import type { Gate, SplitChecks, SplitRule, SplitSummary } from './evaluation.js';
import type { DatasetSnapshot, Metrics, ScoredItem, TrainParams } from './schemas.js';

/**
 * Ports: the interfaces each stage of the loop is written against. A vendor tool replaces one
 * adapter package by implementing one of these (docs/swapping.md). Everything that crosses a
 * port is JSON-serialisable, because the same values travel as Temporal activity payloads.
 */

/** What one file of a load did; `rows = loaded + quarantined + (skippedRows ?? 0)`. */
export interface LoadFileResult {
  path: string;
  sha256: string;
  format: string;
  rows: number;
  loaded: number;
  quarantined: number;
  /** The whole file was skipped because a file with the same sha256 was loaded before. */
  skipped: boolean;
  /** Rows that carry no event (blank lines, headers, page views of formats that have them). */
  skippedRows?: number;
  /** How the format was chosen (extension, header…), when it was detected. */
  detectedBy?: string;
  /** Which reader loaded it (duckdb or js). */
  engine?: string;
}

/** What one load did; counts always add up: rows = loaded + quarantined + skippedRows. */
export interface LoadResult {
  loadId: string;
  files: LoadFileResult[];
  rows: number;
  loaded: number;
  quarantined: number;
  skippedRows?: number;
  /** Files skipped because a file with the same sha256 was loaded before. */
  skipped: number;
}

/** How `Warehouse.unload` removes a load, and who asked. */
export interface UnloadOptions {
  /** Why (recorded). Default: a generated description. */
  reason?: string;
  /** Who (recorded). Default: the adapter's actor (OS user@host). */
  actor?: string;
  /**
   * Also forget the files' sha256, so that the same bytes can be loaded again. Off by default: a
   * bad file left in the raw folder would otherwise come back with the next run's ingest.
   */
  forgetFiles?: boolean;
  /** Registered versions whose lineage names the load, removed anyway (recorded with the removal). */
  forcedVersions?: string[];
}

/** What `Warehouse.unload` removed. */
export interface UnloadResult {
  loadId: string;
  unloadedAt: string;
  /** Rows removed from the raw events and from quarantine. */
  rawEvents: number;
  quarantined: number;
  files: number;
  filesForgotten: boolean;
  /** The derived tables as rebuilt without the load. */
  models: Array<{ name: string; rows: number }>;
}

export interface TransformResult {
  models: Array<{ name: string; rows: number }>;
}

export interface CheckResult {
  passed: boolean;
  checks: Array<{ name: string; passed: boolean; detail: string }>;
}

/**
 * The warehouse: raw loads, transforms, checks and snapshots.
 * @example
 * const wh = await createDuckDbWarehouse({ path: 'data/warehouse.duckdb' });
 * await wh.load(['data/raw/events-0001.ndjson']);
 * await wh.transform();
 * const { passed } = await wh.check();
 *
 * Contract suite: `describeWarehouseContract` in `@skiff/testing`.
 */
export interface Warehouse {
  /** Loads files into `raw_events` in one transaction; bad rows go to `quarantine`. */
  /**
   * `allowEmpty`: a path that does not exist or holds no raw file means "nothing new to load" (a
   * result with no files) instead of BAD_INPUT; for the default raw folder of a pipeline run.
   */
  load(paths: string[], options?: { format?: string; allowEmpty?: boolean }): Promise<LoadResult>;
  /** Rebuilds every derived table from `raw_events`, in dependency order; `split` overrides the adapter's split rule. */
  transform(options?: { split?: SplitRule }): Promise<TransformResult>;
  /** Runs every data-quality check and reports all of them (never stops at the first failure). */
  check(): Promise<CheckResult>;
  /** Writes the current splits as files under `dir` and describes them. */
  snapshot(dir: string): Promise<DatasetSnapshot>;
  /** Appends one monitoring run to the `monitoring_runs` table (a row per run). */
  recordMonitoringRun?(run: MonitoringRunRow): Promise<void>;
  /**
   * The snapshot `snapshot(dir)` would have written when the warehouse held only these loads, so
   * that a model's recorded `lineage.loadIds` rebuild its `lineage.snapshotId` (reproduction).
   */
  snapshotFromLoads?(loadIds: string[], dir: string, options?: { split?: SplitRule }): Promise<DatasetSnapshot>;
  /**
   * Removes one load (its raw events and quarantined rows) in one transaction, records the removal
   * and rebuilds the derived tables without it. An unknown load id is BAD_INPUT.
   */
  unload?(loadId: string, options?: UnloadOptions): Promise<UnloadResult>;
  close(): Promise<void>;
}

/** Read-only SQL on the warehouse (`skiff sql`): safe next to a running pipeline, and a typo cannot damage it. */
export interface WarehouseReader {
  /** Rows as JSON values (big integers as strings). */
  query(sql: string): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

/**
 * Anything that ranks items given a session prefix. Every skiff model kind returns at most k distinct
 * vocabulary items by descending score, ignores unknown history items, and fills short lists (and
 * answers an empty or all-unknown history) with the most popular training items.
 *
 * Contract suite: `describeRecommenderContract` in `@skiff/testing`.
 */
export interface Recommender {
  readonly name: string;
  /** Items known to the model. */
  readonly vocabulary: readonly string[];
  recommend(history: readonly string[], k: number, exclude?: ReadonlySet<string>): ScoredItem[];
  /** Scores many prefixes at once (used by evaluation); same result as calling recommend in a loop. */
  recommendBatch(histories: ReadonlyArray<readonly string[]>, k: number): ScoredItem[][];
}

/** Lineage recorded with every registered version: what it was trained on, by which run and code. */
export interface Lineage {
  snapshotId: string;
  loadIds: string[];
  workflowId?: string;
  runId?: string;
  codeVersion: string;
  backend: string;
  /** The split the version was selected, refitted and tested on: rule, time cuts and sizes. */
  split?: SplitSummary;
}

export interface ModelManifest {
  name: string;
  version: string;
  createdAt: string;
  params: Record<string, unknown>;
  metrics: Metrics;
  baselineMetrics: Record<string, Metrics>;
  lineage: Lineage;
  /** sha256 of every file in the artifact folder, by relative path. */
  files: Record<string, string>;
}

/** Who moves an alias and why; each adapter fills in a default for what is not given. */
export interface AliasChangeOptions {
  /** Why the alias moved (e.g. the promotion decision). Default: a generated description. */
  reason?: string;
  /** Who moved it (a user, `pipeline:<workflowId>` …). Default: the adapter's actor (OS user@host). */
  actor?: string;
}

/** One alias move, as recorded in the registry's alias history (oldest first). */
export interface AliasEvent {
  at: string;
  alias: string;
  /** Version the alias pointed to before the move; null when the alias was created. */
  from: string | null;
  /** Version the alias points to after the move. */
  to: string;
  actor: string;
  reason: string;
  /** `set` for setAlias, `rollback` for rollback. */
  action: 'set' | 'rollback';
  /**
   * sha256 of the target's manifest at the move, where the adapter pins it: a manifest rewritten
   * afterwards is refused.
   */
  manifestSha256?: string;
}

/**
 * Model registry: immutable versions plus movable aliases.
 * Version ids look like `v0001`; alias names match `^[a-z][a-z0-9_-]{0,63}$` and must not look
 * like a version id (`v12`) or be `latest`. Anything else is refused with BAD_INPUT.
 * Contract suite: `describeModelRegistryContract` in `@skiff/testing`.
 * @example
 * const reg = createFsRegistry({ root: 'data/registry' });
 * const m = await reg.register({ name: 'gru4rec', sourceDir, metrics, params, lineage });
 * await reg.setAlias('production', m.version, { reason: 'beats champion', actor: 'ana' });
 * await reg.rollback('production');
 */
export interface ModelRegistry {
  register(input: {
    name: string;
    sourceDir: string;
    metrics: Metrics;
    baselineMetrics?: Record<string, Metrics>;
    params: Record<string, unknown>;
    lineage: Lineage;
  }): Promise<ModelManifest>;
  /** Every version, oldest first. */
  list(): Promise<ModelManifest[]>;
  /** Resolves a version id or an alias; verifies every file hash (throws ARTIFACT_CORRUPTED). */
  get(versionOrAlias: string): Promise<{ manifest: ModelManifest; dir: string }>;
  /** Points `alias` at `version` atomically (readers see the old or the new target) and records it. */
  setAlias(alias: string, version: string, options?: AliasChangeOptions): Promise<void>;
  aliases(): Promise<Record<string, string>>;
  /** Alias moves, oldest first; only those of `alias` when given. */
  history(alias?: string): Promise<AliasEvent[]>;
  /**
   * Moves `alias` back to the target it had before its latest move that is still in effect
   * (repeated rollbacks walk further back); recorded in history with action `rollback`.
   * Throws BAD_INPUT when there is nothing to roll back to.
   */
  rollback(alias: string, options?: AliasChangeOptions): Promise<AliasEvent>;
}

/** Lifecycle of an experiment run. */
export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';

/** One recorded value of a metric. */
export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  at: string;
}

/** An experiment run as the tracker reports it. */
export interface RunInfo {
  runId: string;
  experiment: string;
  name: string;
  status: RunStatus;
  startedAt: string;
  endedAt: string | null;
  /** Params are stored as strings (non-strings JSON-encoded) and, once logged, never change. */
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Latest value (highest step, then latest logged) of each metric. */
  metrics: Metrics;
  error?: string;
}

/** Which runs `ExperimentTracker.listRuns` returns. */
export interface RunFilter {
  experiment?: string;
  status?: RunStatus;
  tags?: Record<string, string>;
  limit?: number;
}

/**
 * Experiment tracking: runs with params, stepped metrics and an outcome. Run ids are opaque
 * strings matching `^[A-Za-z0-9_-]{1,64}$`; unknown ids and writes to an ended run are BAD_INPUT.
 * Contract suite: `describeExperimentTrackerContract` in `@skiff/testing`.
 * @example
 * const tracker = createFsTracker({ root: 'data/runs' });
 * const run = await tracker.startRun({ experiment: 'gru4rec', params: { epochs: 3 } });
 * await tracker.logMetrics(run.runId, { loss: 0.7 }, 1);
 * await tracker.endRun(run.runId, { status: 'finished' });
 */
export interface ExperimentTracker {
  startRun(input?: {
    experiment?: string;
    name?: string;
    tags?: Record<string, string>;
    params?: Record<string, unknown>;
  }): Promise<RunInfo>;
  /** Logging the same key again with another value is refused (BAD_INPUT). */
  logParams(runId: string, params: Record<string, unknown>): Promise<void>;
  /** Values must be finite numbers; `step` defaults to 0. */
  logMetrics(runId: string, metrics: Metrics, step?: number): Promise<void>;
  endRun(runId: string, outcome: { status: Exclude<RunStatus, 'running'>; error?: string }): Promise<RunInfo>;
  /**
   * Newest first. `tags`: only runs carrying every one of these tags with exactly this value (the
   * filter runs where the runs are stored, so that a caller after a few runs does not read them all).
   */
  listRuns(filter?: RunFilter): Promise<RunInfo[]>;
  /** The run with every metric point, by step then time. */
  getRun(runId: string): Promise<RunInfo & { history: MetricPoint[] }>;
}

/**
 * The tracker experiment of model selections: one parent run per pipeline run with candidates;
 * each candidate's run and the refit carry its id in the `parentRunId` tag (and `role`:
 * `candidate` or `refit`; `candidate`: the candidate's name).
 */
export const SELECTION_EXPERIMENT = 'selection';

/** Training/evaluation params carried through the pipeline. */
export interface PipelineParams {
  train: TrainParams;
  /** Metric used to compare a candidate against the champion. */
  promotionMetric: string;
  /** Raw files or folders to ingest (default: data/raw). */
  inputs?: string[];
  /** The time split (default: session-rec's last-day rule). */
  split?: SplitRule;
  /** Minimum sizes per split; a smaller split fails the run with DATA_QUALITY_FAILED. */
  splitChecks?: Partial<SplitChecks>;
  /** Baselines, confidence interval and policy of the promotion gate. */
  gate?: Partial<Gate>;
  /**
   * Task queues per kind of work, so that training can run on other machines (docs/scaling.md).
   * Unset: every activity runs on the workflow's own queue.
   */
  queues?: TaskQueues;
  /**
   * Model selection over several candidates: each is trained on train and scored on validation
   * (in parallel under Temporal), the best is refitted on train + validation and gated. Fewer than
   * two: `train` alone, as without the list.
   */
  candidates?: Candidate[];
}

/** One candidate of model selection: a name (unique in its run) and complete training params. */
export interface Candidate {
  name: string;
  params: TrainParams;
}

export interface TaskQueues {
  /** ingest, transform, validate, snapshot, register, promote */
  data: string;
  /** train, evaluate */
  training: string;
  /** monitor */
  monitoring: string;
}

/** Progress reported by long stages; the Temporal runner turns it into heartbeats. */
export interface Progress {
  stage: string;
  epoch?: number;
  epochs?: number;
  batch?: number;
  batches?: number;
  loss?: number;
  /** Validation HR/MRR@20 after an epoch. */
  valHr20?: number;
  valMrr20?: number;
  rows?: number;
  /** The candidate being trained, during model selection over several candidates. */
  candidate?: string;
}

export interface TrainOutput {
  /** Folder holding the artifact files (model.json, weights.bin, vocabulary.json, config.json). */
  artifactDir: string;
  files: string[];
  backend: string;
  epochs: number;
  losses: number[];
  /** Validation HR/MRR@20 after each epoch (the validation split, never the test split). */
  validation?: Array<{ epoch: number; 'hr@20': number; 'mrr@20': number }>;
  samplesPerSecond: number;
  trainSeconds: number;
  /** Epochs already done by an earlier attempt whose checkpoint this run resumed (0: fresh). */
  resumedFromEpoch?: number;
  /**
   * Model selection on validation, when it ran (early stopping): the epochs it ran on train, the
   * epoch count it chose, its losses and validation curve. The artifact is then the refit: trained
   * on train + validation for `chosenEpochs` (`epochs` and `losses` above describe the refit).
   */
  selection?: {
    epochsRun: number;
    chosenEpochs: number;
    stoppedEarly: boolean;
    losses: number[];
    validation: Array<{ epoch: number; 'hr@20': number; 'mrr@20': number }>;
    trainSessions: number;
    validationSessions: number;
  };
}

export interface EvaluateOutput {
  metrics: Metrics;
  /** Baselines evaluated on the same split, by name (at least `pop`). */
  baselines: Record<string, Metrics>;
  predictions: number;
  /** Saved baseline artifacts by name (when `baselineDir` was given), so a winning baseline can be registered. */
  baselineArtifacts?: Record<string, string>;
  /** Paired comparisons on the primary metric (when `gate` was given). */
  comparison?: GateComparison;
}

/** One model of a gate comparison: the candidate, a baseline or the current champion. */
export interface GateModel {
  role: 'candidate' | 'baseline' | 'champion';
  /** The primary metric on the test split. */
  value: number;
  /** The champion's registered version. */
  version?: string;
}

/**
 * The primary metric of every model of a run on the same test predictions, and paired bootstrap
 * intervals of the difference for every contender (candidate and baselines) against every other model.
 */
export interface GateComparison {
  metric: string;
  confidence: number;
  resamples: number;
  seed: number;
  predictions: number;
  models: Record<string, GateModel>;
  /** `diff` = a − b with its interval [lo, hi]; one entry per contender a and other model b. */
  pairs: Array<{ a: string; b: string; diff: number; lo: number; hi: number }>;
}

/**
 * Trains and evaluates models from a dataset snapshot (files, not tables).
 * @example
 * const trainer = createTfjsTrainer();
 * const out = await trainer.train({ snapshot, params, outDir: 'data/artifacts/run-1' });
 * const ev = await trainer.evaluate({ snapshot, artifactDir: out.artifactDir });
 *
 * Contract suite: `describeTrainerContract` in `@skiff/testing`.
 */
export interface Trainer {
  train(input: {
    snapshot: DatasetSnapshot;
    params: TrainParams;
    outDir: string;
    /** Resume point after a retry (from the last heartbeat). */
    initialEpoch?: number;
    onProgress?: (p: Progress) => void | Promise<void>;
    signal?: AbortSignal;
    /**
     * Selection only (one candidate of several): train on the train split, score every epoch on
     * validation (early stopping with `params.patience`), and stop there — no refit. `selection`
     * then holds the chosen epochs and the validation curve; no artifact is written.
     */
    selectOnly?: boolean;
  }): Promise<TrainOutput>;
  /**
   * Evaluates the artifact on the test split with the items of train + validation (the refit
   * training set) as the known items, next to `baselines` (default pop and sr) fitted on the same
   * data. With `gate`, also the champion's artifact, and paired bootstrap intervals on `gate.metric`.
   */
  evaluate(input: {
    snapshot: DatasetSnapshot;
    artifactDir: string;
    ks?: number[];
    baselines?: string[];
    /** Where to save the fitted baselines (so that one can be registered). */
    baselineDir?: string;
    champion?: { version: string; artifactDir: string };
    gate?: { metric: string; confidence: number; resamples: number; seed: number };
    /** Fewer test prediction points than this is DATA_QUALITY_FAILED: no metric is reported. */
    minPredictions?: number;
    /** Called before each model is scored (a Temporal heartbeat: scoring several models takes a while). */
    onProgress?: (p: Progress) => void | Promise<void>;
  }): Promise<EvaluateOutput>;
}

/** One row of the warehouse's `monitoring_runs` table. */
export interface MonitoringRunRow {
  runAt: string;
  modelVersion: string | null;
  datasetDrift: boolean;
  share: number;
  driftShare: number;
  referenceRows: number;
  currentRows: number;
  driftedColumns: string[];
  onlineHr20: number | null;
  reportPath: string;
  /** The quality-drop verdict; null (or absent) when it was not judged. */
  qualityDrop?: boolean | null;
}

/** The outcome of one monitoring run (also what `skiff monitor --json` prints). */
export interface MonitorRunResult {
  datasetDrift: boolean;
  /** Share of drifted columns that makes the dataset drifted (Evidently's drift_share, default 0.5). */
  driftShare: number;
  /** Measured share of drifted columns. */
  share: number;
  columns: Array<{ column: string; method: string; score: number; threshold: number; drifted: boolean }>;
  snapshotPath: string;
  htmlPath: string;
  jsonPath: string;
  referenceRows: number;
  currentRows: number;
  modelVersion: string | null;
  /** The Evidently local workspace holding every run (`evidently ui --workspace <path>`). */
  workspacePath?: string;
  workspaceProjectId?: string;
  workspaceSnapshotPath?: string;
  /** Online quality from the follow-up events of served sessions (null without events). */
  online?: OnlineQuality | null;
  /** Prediction drift descriptors of the current window. */
  prediction?: PredictionDescriptors | null;
  /** Monitored columns left out for lack of data, with the reason. */
  skippedColumns?: Array<{ column: string; reason: string }>;
  /**
   * The quality-drop verdict: online `metric` vs the served version's offline value; `dropped`
   * when it is lower by more than `maxRelativeDrop` with at least `minEvents` judged requests.
   */
  quality?: {
    metric: string;
    online: number | null;
    offline: number | null;
    relativeDrop: number | null;
    maxRelativeDrop: number;
    minEvents: number;
    events: number;
    dropped: boolean;
    reason: string;
  } | null;
}

/** Online quality of a monitoring window: the served lists against what visitors did next. */
export interface OnlineQuality {
  /** Serving records with a sessionId (in the monitoring window). */
  records: number;
  /** Those with a next event of the same session after the record. */
  withNextEvent: number;
  /** Hit rate / MRR of the next event in the first 20 served items; null when withNextEvent = 0. */
  'hr@20': number | null;
  'mrr@20': number | null;
  /** Same, within each request's own k (the list actually asked for). */
  'hr@k': number | null;
  'mrr@k': number | null;
}

export interface PredictionDescriptors {
  /** Distinct recommended items / vocabulary size when known, else the distinct count itself. */
  coverage: number;
  /** Share of all recommended slots taken by the 10 most recommended items. */
  top10Share: number;
  distinctItems: number;
  vocabularySize: number | null;
  /** Recommended slots (sum of list lengths). */
  slots: number;
}
