// Peak memory of the monitor's pass over the serving log: scanServingLogs (one streaming pass; drift
// columns from at most --max-rows records, 1,000,000 by default) on a generated log of N rows.
// Each size runs in its own child process so that maxRSS is that size's alone.
// Usage: node bench/monitor/serving-rss.mjs [rows ...] [--compare]   (default 5000000; needs `npm run build`;
// --compare also runs the former read-everything pass, for sizes up to 1,000,000)
// One JSON line per size: { bench: 'monitor-serving-rss', rows, logBytes, seconds, peakRssMB, sampled, withNextEvent }.
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const [, , , dir, maxRows, mode] = process.argv;
  const { scanServingLogs, readServingLogs } = await import('../../packages/monitoring/dist/index.js');
  const logger = {
    info() {},
    warn() {},
    error() {},
    debug() {},
    child() {
      return this;
    },
  };
  const t = performance.now();
  if (mode === 'array') {
    // The previous way, for comparison: every record in memory at once.
    const all = await readServingLogs(path.join(dir, 'serving'), null, logger);
    console.log(
      JSON.stringify({
        mode,
        rows: all.length,
        seconds: (performance.now() - t) / 1000,
        peakRssMB: process.resourceUsage().maxRSS / 1024,
      }),
    );
    process.exit(0);
  }
  const scan = await scanServingLogs(path.join(dir, 'serving'), null, logger, {
    events: new Map(),
    maxRows: Number(maxRows),
  });
  const seconds = (performance.now() - t) / 1000;
  console.log(
    JSON.stringify({
      mode: 'stream',
      rows: scan.rows,
      sampled: scan.sampled,
      seconds,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      withNextEvent: scan.online.withNextEvent,
    }),
  );
  process.exit(0);
}

const compare = process.argv.includes('--compare');
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (sizes.length === 0) sizes.push(5_000_000);
for (const rows of sizes) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'skiff-bench-rss-'));
  try {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(dir, 'serving'));
    const file = path.join(dir, 'serving', 'serving-20260101-1-001.ndjson');
    const out = createWriteStream(file);
    const write = (s) => (out.write(s) ? Promise.resolve() : new Promise((r) => out.once('drain', r)));
    let buf = '';
    const t0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < rows; i++) {
      const items = Array.from({ length: 1 + (i % 3) }, (_, j) => `i${(i * 7 + j) % 50000}`);
      const recs = Array.from(
        { length: 10 },
        (_, j) => `{"itemId":"i${(i * 13 + j * 101) % 50000}","score":${(0.9 - j * 0.05).toFixed(6)}}`,
      ).join(',');
      buf += `{"ts":"${new Date(t0 + i * 50).toISOString()}","requestId":"r${i}","sessionId":"s${i >> 2}","items":${JSON.stringify(items)},"k":10,"unknownItems":0,"recommended":[${recs}],"model":{"name":"gru4rec","version":"v0001"},"latencyMs":1.5}\n`;
      if (buf.length > 1 << 20) {
        await write(buf);
        buf = '';
      }
    }
    await write(buf);
    await new Promise((r) => out.end(r));
    const logBytes = (await stat(file)).size;
    for (const mode of compare && rows <= 1_000_000 ? ['stream', 'array'] : ['stream']) {
      const result = JSON.parse(
        execFileSync(process.execPath, [self, '--child', dir, '1000000', mode], {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        })
          .trim()
          .split('\n')
          .at(-1),
      );
      console.log(JSON.stringify({ bench: 'monitor-serving-rss', logBytes, ...result }));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
