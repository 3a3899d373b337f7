import cliProgress from 'cli-progress';
import type { Progress } from '@skiff/core';

/**
 * The training progress bar of `skiff train`, drawn with cli-progress on stderr. It is
 * fed the pipeline stage (ingest … promote) and the trainer's progress events — from the trainer's
 * onProgress callback inline, from the train activity's heartbeat details through Temporal — and
 * shows stage, epoch, batch, loss, validation HR@20, samples/s and an ETA; during a model selection,
 * how many candidates are scored and each training candidate's epoch (its trainCandidate heartbeats). The text of a line is a
 * pure function of what it was fed and the clock (`formatTrainingLine`), so it is tested as text.
 */

/** A progress event: core's Progress, plus samples/s when the trainer reports it. */
export type TrainingProgressEvent = Progress & { samplesPerSecond?: number };

/** The output stream: a TTY gets a bar redrawn in place, anything else a line every few seconds. */
export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

/** What the bar knows (core's training `Progress`, plus rate and ETA); `formatTrainingLine` renders it. */
export interface TrainingViewState extends Pick<
  Progress,
  'stage' | 'epoch' | 'epochs' | 'batch' | 'batches' | 'loss' | 'valHr20'
> {
  samplesPerSecond?: number;
  /** Model selection: each candidate's own progress while the candidates train (stage `select`). */
  candidates?: CandidateView[];
  /** Share of the training done, 0…1. */
  fraction: number;
  /** Estimated seconds of training left (null: not known yet). */
  etaSeconds: number | null;
}

/** One candidate of a model selection as the bar knows it: its heartbeats, and whether it is scored. */
export interface CandidateView extends Pick<Progress, 'epoch' | 'epochs' | 'batch' | 'batches'> {
  name: string;
  done: boolean;
}

export interface TrainingProgressOptions {
  stream: ProgressStream;
  /** Samples per batch: samples/s is estimated from batch events when the trainer reports none. */
  batchSize?: number;
  /** Milliseconds clock (injected in tests). */
  now?: () => number;
  /** Width of the bar in characters (default 20). */
  barSize?: number;
  /** Redraws per second on a TTY (default 10); without a TTY a line every `lineEveryMs` (default 2000). */
  fps?: number;
  lineEveryMs?: number;
}

export interface TrainingProgressView {
  /** The pipeline stage now running (ingest, transform, …, train, evaluate, register, promote, done). */
  stage(name: string): void;
  /** A progress event of the trainer (inline) or the train activity's last heartbeat (Temporal). */
  update(p: TrainingProgressEvent): void;
  /**
   * The candidates of a model selection and which are done (the workflow's progress query, or the
   * inline sequence's `select` stage); their epochs come from `update` events that name them.
   */
  candidates(list: ReadonlyArray<{ name: string; state: string }>): void;
  /** Draws now (otherwise the bar redraws on its own schedule). */
  render(): void;
  /** The line as it would be drawn now. */
  text(): string;
  /**
   * Clears the bar's line on a terminal, so that other output written next starts on a clean line;
   * the bar is redrawn below it on the next tick.
   */
  clear(): void;
  /** A stream for log lines that clears the bar before each line (see `clear`). */
  logStream(): ProgressStream;
  /** Final draw and newline; idempotent. */
  stop(): void;
}

/**
 * `--progress` forces the bar, `--no-progress` turns it off; unset, it is drawn only when stderr is
 * a terminal, so that CI logs (and `--json` pipelines) stay clean.
 */
export function progressWanted(flag: boolean | undefined, stream: { isTTY?: boolean } = process.stderr): boolean {
  return flag ?? stream.isTTY === true;
}

const fmtSeconds = (s: number): string => {
  const t = Math.max(0, Math.round(s));
  if (t >= 3600) return `${Math.floor(t / 3600)}h${String(Math.floor((t % 3600) / 60)).padStart(2, '0')}m`;
  if (t >= 60) return `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s`;
  return `${t}s`;
};

const fmtRate = (r: number): string => (r >= 100 ? Math.round(r).toLocaleString('en-US') : r.toFixed(1));

/**
 * One line, most useful first (a narrow terminal cuts the end):
 * `train     [######------]  50% | epoch 2/4 | batch 10/20 | ETA 12s | loss 4.1234 | val hr@20 0.1234 | 1,234 samples/s`.
 */
export function formatTrainingLine(state: TrainingViewState, bar: string): string {
  const parts = [`${state.stage.padEnd(9)} [${bar}] ${String(Math.floor(state.fraction * 100)).padStart(3)}%`];
  if (state.candidates && state.stage === 'select') {
    // Model selection: how many candidates are scored, then each one still training with its epoch.
    const done = state.candidates.filter((c) => c.done).length;
    parts.push(`${done}/${state.candidates.length} candidates done`);
    if (state.etaSeconds !== null && Number.isFinite(state.etaSeconds) && state.fraction < 1)
      parts.push(`ETA ${fmtSeconds(state.etaSeconds)}`);
    for (const c of state.candidates) {
      if (c.done) continue;
      const epoch =
        c.epochs !== undefined
          ? ` epoch ${Math.min(c.epochs, (c.epoch ?? 0) + (c.batch !== undefined ? 1 : 0))}/${c.epochs}`
          : ' waiting';
      const batch = c.batch !== undefined && c.batches !== undefined ? ` batch ${c.batch + 1}/${c.batches}` : '';
      parts.push(`${c.name}${epoch}${batch}`);
    }
    return parts.join(' | ');
  }
  if (state.epochs !== undefined)
    parts.push(
      `epoch ${Math.min(state.epochs, (state.epoch ?? 0) + (state.batch !== undefined ? 1 : 0))}/${state.epochs}`,
    );
  if (state.batch !== undefined && state.batches !== undefined) parts.push(`batch ${state.batch + 1}/${state.batches}`);
  if (state.etaSeconds !== null && Number.isFinite(state.etaSeconds) && state.fraction < 1)
    parts.push(`ETA ${fmtSeconds(state.etaSeconds)}`);
  if (state.loss !== undefined) parts.push(`loss ${state.loss.toFixed(4)}`);
  if (state.valHr20 !== undefined) parts.push(`val hr@20 ${state.valHr20.toFixed(4)}`);
  if (state.samplesPerSecond !== undefined && Number.isFinite(state.samplesPerSecond))
    parts.push(`${fmtRate(state.samplesPerSecond)} samples/s`);
  return parts.join(' | ');
}

/**
 * Training done, 0…1. Batch events carry the 0-based epoch and batch being run; epoch events the
 * number of epochs finished (what the trainer heartbeats, and what a retry resumes at).
 */
export function trainingFraction(p: Pick<Progress, 'epoch' | 'epochs' | 'batch' | 'batches'>): number | undefined {
  if (p.epochs === undefined || p.epochs <= 0 || p.epoch === undefined) return undefined;
  const done = p.batch !== undefined && p.batches ? p.epoch + (p.batch + 1) / p.batches : p.epoch;
  return Math.min(1, Math.max(0, done / p.epochs));
}

/** `#` for the share done, `-` for the rest. */
export function renderBar(fraction: number, size: number): string {
  const done = Math.round(Math.min(1, Math.max(0, fraction)) * size);
  return '#'.repeat(done) + '-'.repeat(size - done);
}

const AFTER_TRAINING = new Set(['evaluate', 'register', 'promote', 'done']);

export function createTrainingProgress(options: TrainingProgressOptions): TrainingProgressView {
  const { stream, batchSize, now = Date.now, barSize = 20 } = options;
  const state: TrainingViewState = { stage: 'starting', fraction: 0, etaSeconds: null };
  /** Where the ETA is measured from: the first training event seen (a resumed run starts part-way). */
  let etaOrigin: { t: number; fraction: number } | undefined;
  /** Where samples/s is measured from: the first batch event seen. */
  let rateOrigin: { t: number; batches: number } | undefined;
  let stopped = false;
  let lastEvent = '';

  // cli-progress saves the cursor position when it starts and jumps back to it when it stops; once
  // log lines have scrolled the screen that position is stale, and what follows would overwrite
  // them. Those two sequences are dropped: the bar simply ends where it was last drawn.
  const barStream = {
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
    write: (chunk: string, cb?: () => void) => {
      if (chunk === '\x1b7' || chunk === '\x1b8') {
        cb?.();
        return true;
      }
      const ok = stream.write(chunk);
      cb?.();
      return ok;
    },
  };
  const bar = new cliProgress.SingleBar({
    stream: barStream as unknown as NodeJS.WritableStream,
    // Cut to the terminal's width, so that the line never wraps (and is redrawn in place).
    format: (_opts, params) =>
      formatTrainingLine(state, renderBar(params.progress, barSize)).slice(0, Math.max(20, params.maxWidth - 1)),
    // The cursor stays visible and line wrapping on: nothing to restore if the process dies.
    hideCursor: false,
    linewrap: true,
    fps: options.fps ?? 10,
    // Redraw on every tick on a TTY, so that the bar comes back after a log line cleared it.
    forceRedraw: stream.isTTY === true,
    noTTYOutput: stream.isTTY !== true,
    notTTYSchedule: options.lineEveryMs ?? 2000,
  });
  bar.start(1, 0);

  /** Batches run since the start of the first epoch. */
  const batchesDone = (p: TrainingProgressEvent) =>
    p.batch !== undefined && p.batches ? (p.epoch ?? 0) * p.batches + p.batch + 1 : undefined;

  /** Last event of each candidate: a heartbeat polled again says nothing new. */
  const lastOfCandidate = new Map<string, string>();
  const candidate = (name: string): CandidateView => {
    state.candidates ??= [];
    let c = state.candidates.find((x) => x.name === name);
    if (!c) state.candidates.push((c = { name, done: false }));
    return c;
  };
  /** The selection's share done: the mean of its candidates' (a scored candidate counts whole). */
  const selectionProgress = () => {
    const list = state.candidates ?? [];
    if (list.length === 0) return;
    const fraction = list.reduce((a, c) => a + (c.done ? 1 : (trainingFraction(c) ?? 0)), 0) / list.length;
    const t = now();
    state.fraction = fraction;
    etaOrigin ??= { t, fraction };
    const seconds = (t - etaOrigin.t) / 1000;
    const gained = fraction - etaOrigin.fraction;
    state.etaSeconds = seconds > 0 && gained > 0 ? (seconds / gained) * (1 - fraction) : null;
  };

  const view: TrainingProgressView = {
    stage(name) {
      if (stopped || name === state.stage) return;
      if (state.stage === 'select') {
        // The refit after a selection is a training of its own: its bar and ETA start afresh.
        state.fraction = 0;
        state.etaSeconds = null;
        etaOrigin = undefined;
        rateOrigin = undefined;
      }
      state.stage = name;
      if (AFTER_TRAINING.has(name)) {
        state.fraction = 1;
        state.etaSeconds = null;
        delete state.batch;
        if (state.epochs !== undefined) state.epoch = state.epochs;
      }
      bar.update(state.fraction);
      view.render();
    },

    update(p) {
      if (p.candidate !== undefined) {
        // A candidate's event: its own epoch and batch; only while the candidates train.
        const key = JSON.stringify(p);
        if (stopped || state.stage !== 'select' || lastOfCandidate.get(p.candidate) === key) return;
        lastOfCandidate.set(p.candidate, key);
        const c = candidate(p.candidate);
        if (p.epochs !== undefined) c.epochs = p.epochs;
        if (p.epoch !== undefined) c.epoch = p.epoch;
        if (p.batch !== undefined) {
          c.batch = p.batch;
          if (p.batches !== undefined) c.batches = p.batches;
        } else if (p.epoch !== undefined) delete c.batch;
        selectionProgress();
        bar.update(state.fraction);
        if (p.batch === undefined) view.render();
        return;
      }
      // A heartbeat polled again before the next one arrived says nothing new (and must not slow the rate down).
      const key = JSON.stringify(p);
      // Training is over once the pipeline evaluates: a late heartbeat of the train activity is stale.
      if (stopped || key === lastEvent || AFTER_TRAINING.has(state.stage)) return;
      lastEvent = key;
      // Validation events belong to training: the line keeps saying `train`.
      if (p.stage && p.stage !== 'validate') state.stage = p.stage;
      // Epoch-level events (an epoch's loss, its validation, a baseline's start and end) are drawn at once.
      const epochLevel = p.epoch !== undefined && p.batch === undefined;
      if (p.epochs !== undefined) state.epochs = p.epochs;
      if (p.epoch !== undefined) state.epoch = p.epoch;
      if (p.batch !== undefined) {
        state.batch = p.batch;
        if (p.batches !== undefined) state.batches = p.batches;
      } else if (p.epoch !== undefined) {
        // An epoch event: the epoch is over, no batch is running.
        delete state.batch;
      }
      if (p.loss !== undefined) state.loss = p.loss;
      if (p.valHr20 !== undefined) state.valHr20 = p.valHr20;
      const t = now();
      const fraction = trainingFraction(state);
      if (fraction !== undefined) {
        state.fraction = fraction;
        etaOrigin ??= { t, fraction };
        const seconds = (t - etaOrigin.t) / 1000;
        const gained = fraction - etaOrigin.fraction;
        state.etaSeconds = seconds > 0 && gained > 0 ? (seconds / gained) * (1 - fraction) : null;
      }
      // samples/s: the trainer's figure when it gives one, else batches run since the first batch seen.
      const b = batchesDone(p);
      if (b !== undefined) rateOrigin ??= { t, batches: b };
      if (p.samplesPerSecond !== undefined) state.samplesPerSecond = p.samplesPerSecond;
      else if (batchSize && b !== undefined && rateOrigin && t > rateOrigin.t && b > rateOrigin.batches)
        state.samplesPerSecond = ((b - rateOrigin.batches) * batchSize) / ((t - rateOrigin.t) / 1000);
      bar.update(state.fraction);
      // Batch events wait for the next tick.
      if (epochLevel) view.render();
    },

    candidates(list) {
      if (stopped) return;
      for (const { name, state: s } of list) candidate(name).done = s !== 'training';
      // The order of the list (the config's), whatever order the heartbeats came in.
      const order = list.map((c) => c.name);
      state.candidates!.sort(
        (a, b) =>
          (order.indexOf(a.name) === -1 ? 1e9 : order.indexOf(a.name)) -
          (order.indexOf(b.name) === -1 ? 1e9 : order.indexOf(b.name)),
      );
      if (state.stage === 'select') {
        selectionProgress();
        bar.update(state.fraction);
      }
    },

    render() {
      if (!stopped) bar.render();
    },

    text() {
      return formatTrainingLine(state, renderBar(state.fraction, barSize));
    },

    clear() {
      if (!stopped && stream.isTTY === true) stream.write('\r\x1b[2K');
    },

    logStream() {
      return {
        isTTY: false,
        write(chunk: string) {
          view.clear();
          return stream.write(chunk);
        },
      };
    },

    stop() {
      if (stopped) return;
      bar.stop();
      stopped = true;
    },
  };
  return view;
}

/** What orchestrator-temporal's `trainingStatus` reports, as far as the bar needs it. */
export interface TrainingStatusLike {
  /** The workflow's progress query (its stage, and a selection's candidates), null once it is not running. */
  progress: { stage: string; candidates?: ReadonlyArray<{ name: string; state: string }> | undefined } | null;
  /** Pending activities with their last heartbeat details. */
  activities: ReadonlyArray<{ type: string; heartbeat: unknown }>;
}

/** A heartbeat detail that looks like core's Progress (anything else is ignored). */
function asProgress(v: unknown): TrainingProgressEvent | undefined {
  return v !== null && typeof v === 'object' && typeof (v as { stage?: unknown }).stage === 'string'
    ? (v as TrainingProgressEvent)
    : undefined;
}

/**
 * Shows a polled workflow status: the pipeline stage, the train activity's last heartbeat, and
 * during a model selection every candidate's state and its trainCandidate activity's last heartbeat.
 */
export function showTrainingStatus(view: TrainingProgressView, status: TrainingStatusLike): void {
  if (status.progress) view.stage(status.progress.stage);
  if (status.progress?.candidates) view.candidates(status.progress.candidates);
  for (const a of status.activities) {
    if (a.type !== 'trainCandidate') continue;
    const heartbeat = asProgress(a.heartbeat);
    if (heartbeat?.candidate !== undefined) view.update(heartbeat);
  }
  const heartbeat = asProgress(status.activities.find((a) => a.type === 'train')?.heartbeat);
  if (heartbeat) view.update(heartbeat);
}

/**
 * Waits for `result`, calling `poll` every `everyMs` meanwhile. A poll that fails is ignored, and
 * one still running when the result arrives does not delay it.
 */
export async function waitPolling<T>(result: Promise<T>, poll: () => Promise<void>, everyMs = 1000): Promise<T> {
  let settled = false;
  const done = result.then(
    () => void (settled = true),
    () => void (settled = true),
  );
  while (!settled) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, everyMs)))]);
    clearTimeout(timer);
    if (settled) break;
    await Promise.race([poll().catch(() => undefined), done]);
  }
  return result;
}
