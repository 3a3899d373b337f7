import {
  GateSchema,
  mulberry32,
  SkiffError,
  TrainParamsSchema,
  type Candidate,
  type Gate,
  type TrainParams,
} from '@skiff/core';

/** A seeded random search: `trials` distinct combinations drawn from `space` (values per parameter). */
export interface CandidateSearch {
  seed: number;
  trials: number;
  space: Record<string, unknown[]>;
}

/** A candidate's name is a folder under artifacts/: letters, digits, `_.-`, never `.` or `..`. */
const NAME = /^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,40}$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A training config file: the params of one model (the single-model form), optionally with
 * `candidates` (a list of overrides of those params, each one candidate, with an optional `name`)
 * or `search` (a seeded random draw of `trials` distinct combinations from `space`). The params
 * outside the list are the base every candidate starts from.
 */
export interface TrainingConfig {
  /** The base params (the only model when there is no candidate list). */
  train: TrainParams;
  /** Two or more candidates, when the config names them. */
  candidates?: Candidate[];
  /**
   * Gate settings the recipe needs (e.g. `{ "baselines": [..., "vstan"] }` for a model that claims to
   * beat VSTAN); they replace the deployment's settings of the same name for this run only.
   */
  gate?: Partial<Gate>;
}

function invalid(source: string, message: string): SkiffError {
  return new SkiffError('CONFIG_INVALID', `invalid training config ${source}: ${message}`, { retryable: false });
}

function parseParams(source: string, what: string | null, raw: object): TrainParams {
  const parsed = TrainParamsSchema.safeParse(raw);
  if (!parsed.success)
    throw invalid(
      source,
      `${what ? `${what}: ` : ''}${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

/**
 * Reads a training config object (see TrainingConfig). `overrides` (command-line flags such as --epochs)
 * apply to the base and to every candidate. A list of one candidate is that model alone, exactly
 * as if it had been written without the list.
 */
export function parseTrainingConfig(
  raw: unknown,
  source: string,
  overrides: Partial<TrainParams> = {},
): TrainingConfig {
  if (!isObject(raw)) throw invalid(source, 'expected a JSON object');
  const { candidates: list, search, gate: gateRaw, ...baseRaw } = raw;
  const gate = gateRaw === undefined ? undefined : parseGate(source, gateRaw);
  if (list !== undefined && search !== undefined)
    throw invalid(source, 'give either "candidates" or "search", not both');
  if (list !== undefined && (!Array.isArray(list) || list.length === 0 || list.length > 64 || !list.every(isObject)))
    throw invalid(source, '"candidates" must be a list of 1 to 64 objects (params overriding the base)');
  if (search !== undefined) checkSearch(source, search);
  const train = parseParams(source, null, { ...baseRaw, ...overrides });
  const overridesList: Array<Record<string, unknown>> = search
    ? drawTrials(search as CandidateSearch)
    : ((list as Array<Record<string, unknown>> | undefined) ?? []);
  const withGate = <T extends object>(c: T): T & { gate?: Partial<Gate> } => (gate ? { ...c, gate } : c);
  if (overridesList.length === 0) return withGate({ train });
  const candidates = overridesList.map((o, i) => {
    const { name, ...p } = o;
    if (name !== undefined && (typeof name !== 'string' || !NAME.test(name)))
      throw invalid(source, `candidate ${i}: name must be 1 to 40 letters, digits, _ . or -`);
    const params = parseParams(source, `candidate ${name ?? i}`, { ...baseRaw, ...p, ...overrides });
    return { name: name ?? (search ? `trial-${i}` : `${params.model}-${i}`), params };
  });
  const seen = new Set<string>();
  for (const c of candidates) {
    if (seen.has(c.name)) throw invalid(source, `candidate name "${c.name}" is used twice`);
    seen.add(c.name);
  }
  if (candidates.length === 1) return withGate({ train: candidates[0]!.params });
  return withGate({ train, candidates });
}

function parseGate(source: string, raw: unknown): Partial<Gate> {
  const parsed = GateSchema.partial().strict().safeParse(raw);
  if (!parsed.success)
    throw invalid(
      source,
      `gate: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'gate'}: ${i.message}`).join('; ')}`,
    );
  // Only the keys the file gives: the rest stay the deployment's.
  return Object.fromEntries(Object.entries(parsed.data).filter(([k]) => k in (raw as object))) as Partial<Gate>;
}

/**
 * `trials` distinct combinations drawn from `space` with a seeded generator (keys in sorted order,
 * so the draw does not depend on how the file orders them). A space with fewer combinations than
 * `trials` yields all of them.
 */
export function drawTrials(search: CandidateSearch): Array<Record<string, unknown>> {
  const keys = Object.keys(search.space).sort();
  const combinations = keys.reduce((n, k) => n * search.space[k]!.length, 1);
  const wanted = Math.min(search.trials, combinations);
  const rnd = mulberry32(search.seed);
  const seen = new Set<string>();
  const out: Array<Record<string, unknown>> = [];
  while (out.length < wanted) {
    const trial: Record<string, unknown> = {};
    for (const k of keys) {
      const values = search.space[k]!;
      trial[k] = values[Math.floor(rnd() * values.length)];
    }
    const key = JSON.stringify(trial);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(trial);
  }
  return out;
}

function checkSearch(source: string, search: unknown): asserts search is CandidateSearch {
  const ok =
    isObject(search) &&
    Number.isInteger(search['seed']) &&
    Number.isInteger(search['trials']) &&
    (search['trials'] as number) >= 1 &&
    (search['trials'] as number) <= 64 &&
    isObject(search['space']) &&
    Object.keys(search['space']).length > 0 &&
    Object.values(search['space']).every((v) => Array.isArray(v) && v.length > 0);
  if (!ok)
    throw invalid(
      source,
      '"search" must be { "seed": integer, "trials": 1 to 64, "space": { "<param>": [values, …], … } }',
    );
}
