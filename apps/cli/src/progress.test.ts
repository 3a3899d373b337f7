import { describe, expect, it } from 'vitest';
import {
  createTrainingProgress,
  formatTrainingLine,
  progressWanted,
  renderBar,
  showTrainingStatus,
  trainingFraction,
  waitPolling,
  type ProgressStream,
} from './progress.js';

/** A terminal (or a CI log) that records what is written to it. */
function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream: ProgressStream & { writes: string[] } = {
    isTTY,
    columns: 200,
    writes,
    write(chunk: string) {
      writes.push(String(chunk));
      return true;
    },
  };
  return stream;
}

/** Escape sequences (cursor moves, line clears) removed. */
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]|\r/g, ''); // eslint-disable-line no-control-regex
/** The last line the bar drew: cli-progress writes each rendering as one chunk of plain text. */
const lastDrawn = (writes: string[]) =>
  writes.filter((w) => plain(w).trim() !== '' && !w.includes('\x1b')).at(-1) ?? '';

describe('training progress bar', () => {
  it('renders stage, epoch, batch, loss, validation, samples/s and ETA from progress events', () => {
    const stream = fakeStream(true);
    let t = 0;
    const view = createTrainingProgress({ stream, batchSize: 32, now: () => t, barSize: 20 });
    try {
      view.stage('ingest');
      expect(lastDrawn(stream.writes)).toBe('ingest    [--------------------]   0%');

      view.stage('train');
      view.update({ stage: 'train', epoch: 0, epochs: 2, batch: 0, batches: 4 });
      view.render();
      expect(lastDrawn(stream.writes)).toBe('train     [###-----------------]  12% | epoch 1/2 | batch 1/4');

      // One second later, three more batches of 32: 96 samples/s; 3/8 of the work took 1 s, 4/8 left.
      t = 1000;
      view.update({ stage: 'train', epoch: 0, epochs: 2, batch: 3, batches: 4 });
      view.render();
      expect(lastDrawn(stream.writes)).toBe(
        'train     [##########----------]  50% | epoch 1/2 | batch 4/4 | ETA 1s | 96.0 samples/s',
      );

      // End of the first epoch: validation, then the epoch's loss — both drawn at once.
      view.update({ stage: 'validate', epoch: 1, epochs: 2, valHr20: 0.25, valMrr20: 0.1 });
      expect(lastDrawn(stream.writes)).toBe(
        'train     [##########----------]  50% | epoch 1/2 | ETA 1s | val hr@20 0.2500 | 96.0 samples/s',
      );
      view.update({ stage: 'train', epoch: 1, epochs: 2, loss: 3.14159 });
      expect(lastDrawn(stream.writes)).toBe(
        'train     [##########----------]  50% | epoch 1/2 | ETA 1s | loss 3.1416 | val hr@20 0.2500 | 96.0 samples/s',
      );

      // A trainer that reports samples/s is believed; the ETA follows the clock.
      t = 3000;
      view.update({ stage: 'train', epoch: 1, epochs: 2, batch: 1, batches: 4, samplesPerSecond: 12345.6 });
      view.render();
      expect(lastDrawn(stream.writes)).toBe(
        'train     [###############-----]  75% | epoch 2/2 | batch 2/4 | ETA 1s | loss 3.1416 | val hr@20 0.2500 | 12,346 samples/s',
      );
      expect(view.text()).toBe(lastDrawn(stream.writes));

      // The same event again (a heartbeat polled twice) changes nothing, even later.
      t = 9000;
      view.update({ stage: 'train', epoch: 1, epochs: 2, batch: 1, batches: 4, samplesPerSecond: 12345.6 });
      view.render();
      expect(lastDrawn(stream.writes)).toBe(
        'train     [###############-----]  75% | epoch 2/2 | batch 2/4 | ETA 1s | loss 3.1416 | val hr@20 0.2500 | 12,346 samples/s',
      );

      view.stage('evaluate');
      expect(lastDrawn(stream.writes)).toBe(
        'evaluate  [####################] 100% | epoch 2/2 | loss 3.1416 | val hr@20 0.2500 | 12,346 samples/s',
      );
      // A stale heartbeat of the train activity does not move the bar back.
      view.update({ stage: 'train', epoch: 1, epochs: 2, batch: 2, batches: 4 });
      view.render();
      expect(lastDrawn(stream.writes)).toBe(
        'evaluate  [####################] 100% | epoch 2/2 | loss 3.1416 | val hr@20 0.2500 | 12,346 samples/s',
      );
    } finally {
      view.stop();
    }
    // stop() ends the line where the bar is (no jump back to a saved cursor position); later events write nothing.
    expect(stream.writes.at(-1)).toContain('\n');
    expect(stream.writes.filter((w) => w.includes('\x1b7') || w.includes('\x1b8'))).toEqual([]);
    const n = stream.writes.length;
    view.update({ stage: 'train', epoch: 2, epochs: 2 });
    view.stage('done');
    view.stop();
    expect(stream.writes.length).toBe(n);
  });

  it('measures samples/s and ETA from where it joined a run (a resumed or polled run starts part-way)', () => {
    const stream = fakeStream(true);
    let t = 0;
    const view = createTrainingProgress({ stream, batchSize: 32, now: () => t, barSize: 10 });
    // First seen: the end of epoch 1 of 2 (a heartbeat), then batches of epoch 2.
    view.update({ stage: 'train', epoch: 1, epochs: 2, loss: 2 });
    t = 1000;
    view.update({ stage: 'train', epoch: 1, epochs: 2, batch: 1, batches: 4 });
    expect(view.text()).toBe('train     [########--]  75% | epoch 2/2 | batch 2/4 | ETA 1s | loss 2.0000');
    t = 2000;
    view.update({ stage: 'train', epoch: 1, epochs: 2, batch: 3, batches: 4 });
    // Two batches of 32 in one second — not every batch since the start of the run.
    expect(view.text()).toBe('train     [##########] 100% | epoch 2/2 | batch 4/4 | loss 2.0000 | 64.0 samples/s');
    view.stop();
  });

  it('shows a baseline (one pseudo-epoch, no batches) going from 0 to 100%', () => {
    const stream = fakeStream(true);
    const view = createTrainingProgress({ stream, now: () => 0, barSize: 10 });
    view.stage('train');
    view.update({ stage: 'train', epoch: 0, epochs: 1 });
    expect(lastDrawn(stream.writes)).toBe('train     [----------]   0% | epoch 0/1');
    view.update({ stage: 'train', epoch: 1, epochs: 1 });
    expect(lastDrawn(stream.writes)).toBe('train     [##########] 100% | epoch 1/1');
    view.stop();
  });

  it('writes plain lines, no escape sequences, when forced onto a stream that is not a terminal', async () => {
    const stream = fakeStream(false);
    const view = createTrainingProgress({ stream, now: () => 0, barSize: 10, lineEveryMs: 20 });
    view.stage('train');
    view.update({ stage: 'train', epoch: 1, epochs: 4, loss: 2 });
    await new Promise((r) => setTimeout(r, 70)); // the scheduled lines
    view.stop();
    const text = stream.writes.join('');
    expect(text).not.toMatch(/\x1b/); // eslint-disable-line no-control-regex
    const lines = text.split('\n').filter(Boolean);
    expect(lines).toContain('train     [###-------]  25% | epoch 1/4 | loss 2.0000');
    expect(lines.length).toBeGreaterThanOrEqual(3);
  });

  it('clears the bar before a log line on a terminal', () => {
    const stream = fakeStream(true);
    const view = createTrainingProgress({ stream, now: () => 0 });
    const log = view.logStream();
    log.write('{"msg":"epoch"}\n');
    const i = stream.writes.indexOf('{"msg":"epoch"}\n');
    expect(i).toBeGreaterThan(0);
    expect(stream.writes[i - 1]).toBe('\r\x1b[2K');
    view.stop();
    // Once stopped, log lines pass through untouched.
    log.write('after\n');
    expect(stream.writes.slice(-2)).not.toContain('\r\x1b[2K');
  });

  it('formats and measures without a stream', () => {
    expect(renderBar(0.5, 4)).toBe('##--');
    expect(renderBar(2, 4)).toBe('####');
    expect(trainingFraction({ epoch: 1, epochs: 4, batch: 4, batches: 10 })).toBeCloseTo(0.375);
    expect(trainingFraction({ epoch: 3, epochs: 4 })).toBe(0.75);
    expect(trainingFraction({ epochs: 4 })).toBeUndefined();
    expect(
      formatTrainingLine(
        { stage: 'train', fraction: 0.9, etaSeconds: 3725, epoch: 8, epochs: 10, batch: 0, batches: 5 },
        'x',
      ),
    ).toBe('train     [x]  90% | epoch 9/10 | batch 1/5 | ETA 1h02m');
    expect(formatTrainingLine({ stage: 'train', fraction: 0.5, etaSeconds: 75 }, '')).toBe(
      'train     []  50% | ETA 1m15s',
    );
  });

  it('is on for a terminal, off otherwise, unless --progress / --no-progress say so', () => {
    expect(progressWanted(undefined, { isTTY: true })).toBe(true);
    expect(progressWanted(undefined, { isTTY: false })).toBe(false);
    expect(progressWanted(undefined, {})).toBe(false);
    expect(progressWanted(true, { isTTY: false })).toBe(true);
    expect(progressWanted(false, { isTTY: true })).toBe(false);
  });

  it('shows polled Temporal statuses: the workflow stage and the train activity heartbeat', () => {
    const stream = fakeStream(true);
    const view = createTrainingProgress({ stream, now: () => 0, barSize: 10 });
    showTrainingStatus(view, { progress: { stage: 'snapshot' }, activities: [{ type: 'snapshot', heartbeat: null }] });
    expect(view.text()).toBe('snapshot  [----------]   0%');
    showTrainingStatus(view, {
      progress: { stage: 'train' },
      activities: [{ type: 'train', heartbeat: { stage: 'train', epoch: 1, epochs: 2, batch: 4, batches: 10 } }],
    });
    expect(view.text()).toBe('train     [########--]  75% | epoch 2/2 | batch 5/10');
    // Details that are not progress (another payload, a string) are ignored.
    showTrainingStatus(view, {
      progress: { stage: 'train' },
      activities: [
        { type: 'train', heartbeat: 'alive' },
        { type: 'other', heartbeat: { stage: 'x', epoch: 9, epochs: 9 } },
      ],
    });
    expect(view.text()).toBe('train     [########--]  75% | epoch 2/2 | batch 5/10');
    showTrainingStatus(view, { progress: { stage: 'evaluate' }, activities: [{ type: 'evaluate', heartbeat: null }] });
    expect(view.text()).toBe('evaluate  [##########] 100% | epoch 2/2');
    view.stop();
  });

  it("shows each candidate's epochs from its trainCandidate heartbeats while a model selection trains through Temporal", () => {
    const stream = fakeStream(true);
    const view = createTrainingProgress({ stream, now: () => 0, barSize: 10 });
    const candidates = (a: string, b: string) => [
      { name: 'a', state: a },
      { name: 'b', state: b },
    ];
    showTrainingStatus(view, {
      progress: { stage: 'select', candidates: candidates('training', 'training') },
      activities: [
        { type: 'trainCandidate', heartbeat: { stage: 'train', epoch: 1, epochs: 4, candidate: 'b' } },
        {
          type: 'trainCandidate',
          heartbeat: { stage: 'train', epoch: 0, epochs: 2, batch: 4, batches: 10, candidate: 'a' },
        },
        { type: 'startSelection', heartbeat: null },
      ],
    });
    expect(view.text()).toBe(
      'select    [###-------]  25% | 0/2 candidates done | a epoch 1/2 batch 5/10 | b epoch 1/4',
    );
    // a is scored: it counts whole, and only b is still listed.
    showTrainingStatus(view, {
      progress: { stage: 'select', candidates: candidates('done', 'training') },
      activities: [
        {
          type: 'trainCandidate',
          heartbeat: { stage: 'train', epoch: 2, epochs: 4, batch: 0, batches: 10, candidate: 'b' },
        },
      ],
    });
    expect(view.text()).toBe('select    [########--]  76% | 1/2 candidates done | b epoch 3/4 batch 1/10');
    // The refit of the chosen one: a training bar of its own; a late candidate heartbeat changes nothing.
    showTrainingStatus(view, {
      progress: { stage: 'train', candidates: candidates('chosen', 'done') },
      activities: [
        { type: 'trainCandidate', heartbeat: { stage: 'train', epoch: 3, epochs: 4, candidate: 'b' } },
        { type: 'train', heartbeat: { stage: 'train', epoch: 0, epochs: 2, batch: 0, batches: 2 } },
      ],
    });
    expect(view.text()).toBe('train     [###-------]  25% | epoch 1/2 | batch 1/2');
    view.stop();
  });

  it('shows the candidates of an inline selection from the trainer events that name them', () => {
    const stream = fakeStream(false);
    const view = createTrainingProgress({ stream, now: () => 0, barSize: 10 });
    view.stage('select');
    view.candidates([
      { name: 'sr', state: 'training' },
      { name: 'gru', state: 'training' },
    ]);
    expect(view.text()).toBe('select    [----------]   0% | 0/2 candidates done | sr waiting | gru waiting');
    view.update({ stage: 'train', epoch: 1, epochs: 1, candidate: 'sr' });
    view.update({ stage: 'train', epoch: 0, epochs: 3, batch: 1, batches: 2, candidate: 'gru' });
    expect(view.text()).toBe(
      'select    [#######---]  66% | 0/2 candidates done | sr epoch 1/1 | gru epoch 1/3 batch 2/2',
    );
    view.stop();
  });

  it('polls while waiting for a result, ignores failed polls, and is not held up by a slow one', async () => {
    let polls = 0;
    const slow = new Promise<string>((r) => setTimeout(() => r('done'), 60));
    await expect(waitPolling(slow, async () => void polls++, 10)).resolves.toBe('done');
    expect(polls).toBeGreaterThanOrEqual(3);

    let failing = 0;
    const r = waitPolling(
      new Promise<number>((res) => setTimeout(() => res(7), 40)),
      async () => {
        failing++;
        throw new Error('query failed');
      },
      5,
    );
    await expect(r).resolves.toBe(7);
    expect(failing).toBeGreaterThanOrEqual(2);

    const t0 = Date.now();
    const stuck = waitPolling(
      new Promise<number>((res) => setTimeout(() => res(1), 30)),
      () => new Promise<void>(() => {}),
      5,
    );
    await expect(stuck).resolves.toBe(1);
    expect(Date.now() - t0).toBeLessThan(1000);

    await expect(waitPolling(Promise.reject(new Error('workflow failed')), async () => {}, 5)).rejects.toThrow(
      'workflow failed',
    );
  });
});
