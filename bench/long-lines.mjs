#!/usr/bin/env node
// Output without newlines (issue 16: "a task printing 100 MB with no newline takes 100 s and
// 1.5 GB"). Build first (`npm run build`), then:
//
//   node bench/long-lines.mjs              # both reporters
//   node bench/long-lines.mjs plain        # only one: plain | terminal
//
// One task runs `head -c N /dev/zero | tr '\0' a` through ctx.exec: a single line of N MB, no
// newline, for N = 0 (the same run printing nothing: start-up, spawn, the summary), 10 and 40.
// Each run is the whole `task` process:
// - plain: CI=true, stdout to /dev/null (the reporter CI sees);
// - terminal: under util-linux `script`, a real pseudo-terminal, so the listr2 tree draws it
//   (skipped when `script` is missing).
// Interleaved rounds (1 warm-up, then RUNS timed), medians. Peak RSS and CPU time are the task
// process's own (process.resourceUsage(), read by a preload when it exits). CPU time moves far
// less than wall time when the machine is shared (the load average is printed), so its ratio is
// shown beside the wall-time one.
//
// Targets, per reporter:
// - linear time: (t(40) - t(0)) / (t(10) - t(0)) at most 5x. Linear work gives 4x; work that
//   grows with the square of the line (a rescan per chunk) gives 16x.
// - memory: (RSS(40) - RSS(0)) / 40 MB at most 8: the line is held as a string once, and the
//   copies made writing it to the log and to stdout, and ctx.exec keeps up to 32 MB for the
//   result. The issue's 1.5 GB for 100 MB was 15.
// Each run's log must hold the whole line (checked once per size, untimed). A run over
// TIMEOUT_S is a MISS, not a hang. The exit code is 0 whatever the figures; non-zero only if a
// run failed or a check did not hold.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TASK_BIN = join(REPO, 'bin', 'task.js');
const SIZES_MB = [0, 10, 40];
const RUNS = 5;
const WARMUP = 1;
const TIMEOUT_S = 300;
const TIME_RATIO_TARGET = 5;
const RSS_PER_MB_TARGET = 8;
const MB = 1024 * 1024;

const log = (line) => process.stderr.write(`${line}\n`);
const fmtLoad = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
// TASK_* scrubbed like the tests do; CI decides the reporter below.
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith('TASK_') && key !== 'CI'),
);

const TASKFILE = `import { task } from 'taskgraph';
// No inputs or outputs: it runs every time.
task('big', {
  args: ['mb'],
  run: async (ctx) => {
    const bytes = Number(ctx.args.mb) * ${MB};
    await ctx.exec('sh', ['-c', \`head -c \${bytes} /dev/zero | tr '\\\\0' a\`]);
  },
});
`;

const REPORTERS = {
  plain: (dir, preload, mb) => ({
    file: process.execPath,
    args: ['--import', preload, TASK_BIN, `big[${mb}]`],
    env: { ...baseEnv, CI: 'true' },
  }),
  terminal: (dir, preload, mb) => {
    // `script` takes one command string: the paths are quoted, the size is a number.
    const quote = (arg) => `'${arg.replace(/'/g, `'\\''`)}'`;
    const argv = [process.execPath, '--import', preload, TASK_BIN, `big[${mb}]`];
    return {
      file: 'script',
      args: ['-qec', `stty cols 100 rows 30; exec ${argv.map(quote).join(' ')}`, '/dev/null'],
      env: { ...baseEnv, TERM: 'xterm-256color' },
    };
  },
};

function hasScript() {
  const result = spawnSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

/** One whole run: wall ms and the task process's peak RSS in MB, or why it failed. */
function runOnce(dir, command, rssFile) {
  rmSync(rssFile, { force: true });
  const started = process.hrtime.bigint();
  const result = spawnSync(command.file, command.args, {
    cwd: dir,
    env: { ...command.env, BENCH_RSS_FILE: rssFile },
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: TIMEOUT_S * 1000,
    killSignal: 'SIGKILL',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.error?.code === 'ETIMEDOUT') return { timedOut: true, ms };
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? `exit ${result.status ?? result.signal}`;
    throw new Error(`${command.file} ${command.args.join(' ')}: ${why}\n${result.stderr}`);
  }
  const usage = JSON.parse(readFileSync(rssFile, 'utf8'));
  return {
    ms,
    rssMb: usage.maxRSS / 1024,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
  };
}

/** The task's log holds the whole line: proof the run printed what it was asked to. */
function checkLog(dir, mb) {
  const logs = join(dir, '.task', 'logs');
  const names = existsSync(logs) ? readdirSync(logs) : [];
  const name = names.find((n) => n.startsWith(`big_mb_${mb}_`));
  const size = name === undefined ? 0 : statSync(join(logs, name)).size;
  // The line and its newline; a run printing nothing leaves no log.
  const expected = mb === 0 ? 0 : mb * MB + 1;
  if (size !== expected) throw new Error(`log of big[${mb}] has ${size} bytes, not ${expected}`);
}

function bench(name, dir, preload) {
  const rssFile = join(dir, 'rss.txt');
  const cases = SIZES_MB.map((mb) => ({ mb, command: REPORTERS[name](dir, preload, mb) }));
  const samples = new Map(
    SIZES_MB.map((mb) => [mb, { ms: [], rss: [], cpu: [], timedOut: false }]),
  );
  for (let round = 0; round < WARMUP + RUNS; round++) {
    for (let k = 0; k < cases.length; k++) {
      const { mb, command } = cases[(round + k) % cases.length];
      const sample = samples.get(mb);
      if (sample.timedOut) continue;
      const result = runOnce(dir, command, rssFile);
      if (result.timedOut) {
        sample.timedOut = true;
        log(`    big[${mb}] took over ${TIMEOUT_S} s: stopped`);
        continue;
      }
      if (round === 0) checkLog(dir, mb);
      if (round >= WARMUP) {
        sample.ms.push(result.ms);
        sample.rss.push(result.rssMb);
        sample.cpu.push(result.cpuMs);
      }
    }
    log(`    round ${round + 1}/${WARMUP + RUNS}${round < WARMUP ? ' (warm-up)' : ''}`);
  }
  const figures = SIZES_MB.map((mb) => {
    const s = samples.get(mb);
    return s.timedOut
      ? { mb, timedOut: true }
      : {
          mb,
          ms: median(s.ms),
          rssMb: median(s.rss),
          cpuMs: median(s.cpu),
          samples: { ms: s.ms, rssMb: s.rss, cpuMs: s.cpu },
        };
  });
  const [zero, ten, forty] = figures;
  const anyTimedOut = figures.some((f) => f.timedOut);
  const timeRatio = anyTimedOut ? Infinity : (forty.ms - zero.ms) / (ten.ms - zero.ms);
  const rssPerMb = anyTimedOut ? Infinity : (forty.rssMb - zero.rssMb) / 40;
  const cpuRatio = anyTimedOut ? Infinity : (forty.cpuMs - zero.cpuMs) / (ten.cpuMs - zero.cpuMs);
  const rawRatio = anyTimedOut ? Infinity : forty.ms / ten.ms;
  return { name, figures, timeRatio, cpuRatio, rssPerMb, rawRatio };
}

function print(result) {
  const title = {
    plain: 'plain reporter (CI=true, stdout to /dev/null)',
    terminal: 'terminal reporter (listr2 under `script`, 100x30)',
  }[result.name];
  const out = ['', `Output without newlines: ${title}`];
  out.push(
    `  ${'case'.padEnd(30)}  ${'wall (median)'.padStart(14)}  ${'CPU'.padStart(9)}  ${'peak RSS'.padStart(9)}`,
  );
  for (const f of result.figures) {
    const label = f.mb === 0 ? 'big[0] (prints nothing)' : `big[${f.mb}] (${f.mb} MB, one line)`;
    const wall = f.timedOut ? `> ${TIMEOUT_S} s` : `${f.ms.toFixed(0)} ms`;
    const cpu = f.timedOut ? '-' : `${f.cpuMs.toFixed(0)} ms`;
    const rss = f.timedOut ? '-' : `${f.rssMb.toFixed(0)} MB`;
    out.push(`  ${label.padEnd(30)}  ${wall.padStart(14)}  ${cpu.padStart(9)}  ${rss.padStart(9)}`);
  }
  const verdict = (pass) => (pass ? 'PASS' : 'MISS');
  const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
  out.push(
    `  > (t(40) - t(0)) / (t(10) - t(0)): ${fixed(result.timeRatio, 2)}x  (target <= ${TIME_RATIO_TARGET}x; linear 4x, quadratic 16x)  ${verdict(result.timeRatio <= TIME_RATIO_TARGET)}`,
    `  > (RSS(40) - RSS(0)) / 40 MB: ${fixed(result.rssPerMb, 1)}  (target <= ${RSS_PER_MB_TARGET})  ${verdict(result.rssPerMb <= RSS_PER_MB_TARGET)}`,
    `  note: the same ratio in the task process's CPU time: ${fixed(result.cpuRatio, 2)}x; t(40) / t(10) with start-up included: ${fixed(result.rawRatio, 2)}x`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

function main() {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !(n in REPORTERS));
  if (unknown.length > 0) {
    log(`unknown reporter ${unknown.join(', ')}; choose from ${Object.keys(REPORTERS).join(', ')}`);
    return 2;
  }
  const selected = (names.length > 0 ? names : Object.keys(REPORTERS)).filter((name) => {
    if (name !== 'terminal' || hasScript()) return true;
    log('long-lines: util-linux `script` is missing: the terminal reporter is skipped');
    return false;
  });
  const dir = mkdtempSync(join(tmpdir(), 'taskgraph-bench-long-lines-'));
  try {
    writeFileSync(join(dir, 'Taskfile.ts'), TASKFILE);
    const preload = join(dir, 'rss.mjs');
    writeFileSync(
      preload,
      `import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(process.env.BENCH_RSS_FILE, JSON.stringify(process.resourceUsage())));
`,
    );
    process.stdout.write(`node ${process.version}, load average at start ${fmtLoad()}\n`);
    for (const name of selected) {
      log(`long-lines: ${name}`);
      print(bench(name, dir, preload));
    }
    process.stdout.write(`load average at end ${fmtLoad()}\n`);
    return 0;
  } catch (error) {
    log(`long-lines: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

process.exitCode = main();
