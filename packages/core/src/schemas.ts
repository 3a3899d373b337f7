import { z } from 'zod';
import type { SplitSummary } from './evaluation.js';
import { BASELINE_KINDS, MODEL_KINDS } from './model-kinds.js';

/** Event types the warehouse understands; anything else is quarantined. */
export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'search'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * One raw shop event as it lands in `data/raw/` (docs/design.md, Raw events). Timestamps may be ISO-8601
 * strings or epoch seconds / milliseconds; the warehouse normalises them.
 */
export const RawEventSchema = z.object({
  session_id: z.string().min(1),
  event_type: z.enum(EVENT_TYPES),
  item_id: z.string().min(1).nullable().optional(),
  timestamp: z.union([z.string().min(1), z.number()]),
  user_id: z.string().nullable().optional(),
  price: z.number().nullable().optional(),
  category: z.string().nullable().optional(),
  query: z.string().nullable().optional(),
});
export type RawEvent = z.infer<typeof RawEventSchema>;

/** A scored recommendation. */
export interface ScoredItem {
  itemId: string;
  score: number;
}

/** Ranking metrics keyed like `hr@20`, `mrr@20`, `ndcg@10`, `coverage@20`, `popbias@20`. */
export type Metrics = Record<string, number>;

/** Longest item or session id a client may send (ids are logged as they come). */
export const MAX_ID_CHARS = 256;
/** A lone UTF-16 surrogate: JSON carries it, but UTF-8 (the logs, DuckDB) would turn it into U+FFFD and merge ids. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** An id from outside: non-empty, bounded, well-formed Unicode. */
export const ClientIdSchema = z
  .string()
  .min(1)
  .max(MAX_ID_CHARS)
  .refine((s) => !LONE_SURROGATE.test(s), 'holds a lone UTF-16 surrogate');

/** The request body of `POST /v1/recommendations` (docs/design.md, Serving). */
export const RecommendationRequestSchema = z
  .object({
    items: z.array(ClientIdSchema).max(200),
    k: z.number().int().min(1).max(200).default(20),
    sessionId: ClientIdSchema.optional(),
    exclude: z.array(ClientIdSchema).max(1000).optional(),
  })
  .strict();
export type RecommendationRequest = z.infer<typeof RecommendationRequestSchema>;

/** Splits of the sequence data, written as files so that only paths cross process boundaries. */
export const DatasetSnapshotSchema = z.object({
  snapshotId: z.string(),
  loadIds: z.array(z.string()),
  createdAt: z.string(),
  dir: z.string(),
  files: z.object({ train: z.string(), validation: z.string(), test: z.string() }),
  counts: z.object({
    train: z.number().int(),
    validation: z.number().int(),
    test: z.number().int(),
    items: z.number().int(),
  }),
  splitTime: z.object({ validationStart: z.string(), testStart: z.string() }),
  /** The split rule and the sizes of each part (absent in snapshots written before it was recorded). */
  split: z.custom<SplitSummary>((v) => typeof v === 'object' && v !== null).optional(),
});
export type DatasetSnapshot = z.infer<typeof DatasetSnapshotSchema>;

/** `items.json` of a dataset snapshot: the latest known category and price of every item (the
 * warehouse writes it, the monitor's `category` column reads it). */
export type ItemCatalog = Record<string, { category: string | null; price: number | null }>;

const listWeighting = z.enum(['div', 'linear', 'quadratic', 'log', 'same']);

/** What STAN and VSTAN share (VSTAN adds two weights). */
const STAN_SETTINGS = z.object({
  k: z.number().int().min(1),
  sampleSize: z.number().int().min(0),
  lambdaSpw: z.number().positive(),
  lambdaSnh: z.number().positive(),
  lambdaInh: z.number().positive(),
  remind: z.boolean(),
});

/**
 * Each baseline kind's own settings, every key optional (the model package holds the defaults and
 * what each one means). Strict: a misspelled key is refused, never silently dropped.
 */
export const BASELINE_PARAMS_SCHEMAS = {
  pop: z.object({}).strict(),
  sr: z
    .object({ steps: z.number().int().min(1), weighting: listWeighting, pruning: z.number().min(0) })
    .partial()
    .strict(),
  vsknn: z
    .object({
      k: z.number().int().min(1),
      sampleSize: z.number().int().min(0),
      similarity: z.enum(['vec', 'cosine']),
      weighting: listWeighting,
      weightingScore: listWeighting,
      idfWeighting: z.number().min(0),
      remind: z.boolean(),
    })
    .partial()
    .strict(),
  stan: STAN_SETTINGS.partial().strict(),
  vstan: STAN_SETTINGS.extend({ lambdaIpw: z.number().positive(), lambdaIdf: z.number().min(0) })
    .partial()
    .strict(),
} as const satisfies Record<(typeof BASELINE_KINDS)[number], z.ZodType>;

/**
 * The `hybrid` kind's recipe: the baselines it fuses, each with its weight and (optionally) its own
 * hyper-parameters, and how deep each component's list is read before fusing.
 */
export const HybridParamsSchema = z
  .object({
    components: z
      .array(
        z
          .object({
            model: z.enum(BASELINE_KINDS),
            weight: z.number().positive().finite(),
            /** The component's own params (e.g. VSTAN's k); its defaults when absent. */
            params: z.record(z.string(), z.unknown()).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(8),
    /** Items read from each component's ranked list before fusing (default 100). */
    depth: z.number().int().min(1).max(1000).optional(),
  })
  .strict()
  .superRefine((recipe, ctx) => {
    for (const [i, c] of recipe.components.entries()) {
      if (c.params === undefined) continue;
      const parsed = BASELINE_PARAMS_SCHEMAS[c.model].safeParse(c.params);
      if (!parsed.success)
        for (const issue of parsed.error.issues)
          ctx.addIssue({ code: 'custom', path: ['components', i, 'params', ...issue.path], message: issue.message });
    }
  });
export type HybridParams = z.infer<typeof HybridParamsSchema>;

export const TrainParamsSchema = z.object({
  model: z.enum(MODEL_KINDS).default('gru4rec'),
  embeddingDim: z.number().int().positive().default(64),
  hiddenUnits: z.number().int().positive().default(100),
  maxLen: z.number().int().positive().default(10),
  epochs: z.number().int().positive().default(3),
  batchSize: z.number().int().positive().default(128),
  learningRate: z.number().positive().default(0.005),
  seed: z.number().int().default(42),
  // GRU4Rec options added later: optional without a schema default, so configs and artifacts
  // written before them parse unchanged; the model resolves the defaults (neural-weights.ts resolveGru4RecParams).
  /** Extra uniformly sampled negatives per batch, on top of the in-batch ones (model default 64). */
  negatives: z.number().int().min(0).optional(),
  /** Learned repeat/recency term over the last N positions of the prefix (model default 0 = off). */
  repeatWindow: z.number().int().min(0).max(100).optional(),
  /** Dropout rate on the input embeddings and the session state while training (model default 0). */
  dropout: z.number().min(0).max(0.9).optional(),
  /** Early stopping: epochs without a better validation score before stopping (model default 0 = off). */
  patience: z.number().int().min(0).optional(),
  /**
   * GRU4Rec's GRU cell: 'reset-before' (the reset gate multiplies the state before the recurrent
   * weights; TensorFlow's fused GRU kernel on native TensorFlow) or 'reset-after' (after them, the
   * model default: params from before the choice existed keep their model). Artifacts record it.
   */
  cell: z.enum(['reset-after', 'reset-before']).optional(),
  // SASRec options (model 'sasrec'; width = embeddingDim, feed-forward inner size = hiddenUnits).
  /** Self-attention blocks (model default 2). */
  blocks: z.number().int().min(1).max(8).optional(),
  /** Attention heads per block; must divide embeddingDim (model default 1). */
  heads: z.number().int().min(1).max(16).optional(),
  // A baseline run's own settings (the kind's defaults where absent). The gate's baselines always
  // use their defaults, so that every run is compared with the same references.
  sr: BASELINE_PARAMS_SCHEMAS.sr.optional(),
  vsknn: BASELINE_PARAMS_SCHEMAS.vsknn.optional(),
  stan: BASELINE_PARAMS_SCHEMAS.stan.optional(),
  vstan: BASELINE_PARAMS_SCHEMAS.vstan.optional(),
  /** Model 'hybrid': the components and their weights (model default: see the model package's DEFAULT_HYBRID_PARAMS). */
  hybrid: HybridParamsSchema.optional(),
});
export type TrainParams = z.infer<typeof TrainParamsSchema>;
