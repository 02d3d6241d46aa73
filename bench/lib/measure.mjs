// Timing whole processes on a shared, noisy machine: every case of a benchmark is run in the same
// rounds, so a burst of load from a neighbour slows the engine and its baselines alike, and the
// figure kept is the median, which one slow outlier cannot move.
import { spawnSync } from 'node:child_process';

/**
 * @typedef {{ file: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv }} Command
 * @typedef {{ key: string, label: string, command: Command, prepare?: () => void }} Case
 * @typedef {{ median: number, min: number, max: number, samples: number[] }} Stats
 */

/** Runs a command to completion and returns its wall time in ms; throws if it fails. */
export function timeCommand(command) {
  const started = process.hrtime.bigint();
  // stdout to /dev/null: the engine must not be timed writing into a pipe nobody reads, and a
  // TTY would switch it to the interactive reporter. stderr is kept to explain a failure.
  const result = spawnSync(command.file, command.args, {
    cwd: command.cwd,
    env: command.env ?? process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? `exit ${result.status ?? result.signal}`;
    throw new Error(
      `${describe(command)} failed (${why}) in ${command.cwd}\n${String(result.stderr ?? '').trim()}`,
    );
  }
  return ms;
}

/** Runs a command and returns its stdout; throws if it fails. For set-up and checks, never timed. */
export function run(command) {
  const result = spawnSync(command.file, command.args, {
    cwd: command.cwd,
    env: command.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? `exit ${result.status ?? result.signal}`;
    throw new Error(
      `${describe(command)} failed (${why}) in ${command.cwd}\n${String(result.stderr ?? '').trim()}`,
    );
  }
  return result.stdout;
}

/**
 * Times each case `warmup + runs` times, interleaved, keeping the last `runs` samples. The order
 * rotates each round so that no case always runs right after the same other one (caches, CPU
 * frequency and the neighbour's load then favour none of them). `prepare` runs untimed before
 * each of its case's runs.
 *
 * @param {Case[]} cases
 * @param {{ runs: number, warmup: number, log?: (line: string) => void }} options
 * @returns {Record<string, Stats>}
 */
export function measure(cases, { runs, warmup, log }) {
  const samples = new Map(cases.map((c) => [c.key, []]));
  for (let round = 0; round < warmup + runs; round++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(round + k) % cases.length];
      c.prepare?.();
      const ms = timeCommand(c.command);
      if (round >= warmup) samples.get(c.key).push(ms);
    }
    log?.(`    round ${round + 1}/${warmup + runs}${round < warmup ? ' (warm-up)' : ''}`);
  }
  return Object.fromEntries(cases.map((c) => [c.key, stats(samples.get(c.key))]));
}

/** @param {number[]} samples */
export function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples };
}

/** Whether a program answers on PATH (make, rake, git), without failing the benchmark if not. */
export function available(file, args = ['--version']) {
  const result = spawnSync(file, args, { stdio: 'ignore' });
  return !result.error && result.status === 0;
}

function describe(command) {
  return [command.file, ...command.args].join(' ');
}
