/**
 * The one error type of skiff. `code` is a closed union so that the edges (Temporal, HTTP, CLI)
 * can map it without string matching; `retryable` tells Temporal whether trying again can help.
 */
export type SkiffErrorCode =
  | 'CONFIG_INVALID'
  | 'BAD_INPUT'
  | 'DATA_CONTRACT_VIOLATION'
  | 'DATA_QUALITY_FAILED'
  | 'SOURCE_UNAVAILABLE'
  | 'TRAINING_FAILED'
  | 'QUALITY_GATE_FAILED'
  | 'MODEL_NOT_FOUND'
  | 'ARTIFACT_CORRUPTED'
  | 'DRIFT_DETECTED'
  | 'DEPENDENCY_MISSING'
  | 'INTERNAL';

const RETRYABLE: ReadonlySet<SkiffErrorCode> = new Set(['SOURCE_UNAVAILABLE', 'INTERNAL']);

export interface SkiffErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
  /** Overrides the default retryability of the code. */
  retryable?: boolean;
}

export class SkiffError extends Error {
  readonly code: SkiffErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: SkiffErrorCode, message: string, options: SkiffErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SkiffError';
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
    this.details = options.details;
  }
}

/** Normalises anything thrown into a SkiffError (unknown errors become retryable INTERNAL). */
export function toSkiffError(err: unknown): SkiffError {
  if (err instanceof SkiffError) return err;
  if (err instanceof Error) return new SkiffError('INTERNAL', err.message, { cause: err });
  return new SkiffError('INTERNAL', String(err));
}
