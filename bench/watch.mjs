#!/usr/bin/env node
// Watch mode benchmarks (build first: npx tsc -p tsconfig.build.json):
//
//   node bench/watch.mjs
//
// 1. Latency: the time from a file write to the start of the task it affects, with the default
//    debounce (100 ms). The task's first action writes a timestamp; both sides read the same wall
//    clock (performance.timeOrigin + performance.now()). Target: median under 150 ms.
// 2. Memory: VmRSS of the watcher process while it watches a 20,000-file tree (one task with
//    inputs ['vendor/**']), read from /proc/<pid>/status once it has settled. Target: under 150 MB.
//
// It reports and never fails the build; the exit code is non-zero only if a measurement could not
// be taken at all.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TASK_BIN = join(REPO, 'bin', 'task.js');
const IDLE = /^watching \d+ folder\(s\) for changes/m;
const LATENCY_WRITES = 15;
const LATENCY_TARGET_MS = 150;
const RSS_RUNS = 3;
const RSS_TARGET_MB = 150;
const TREE_FILES = 20_000;

const now = () => performance.timeOrigin + performance.now();
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const write = (path, content) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
};

/** The real CLI in --watch mode; `idles()` counts the "watching ..." lines it has printed. */
function startWatcher(cwd) {
  const child = spawn(process.execPath, [TASK_BIN, '--watch'], {
    cwd,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const idles = () => stdout.split('\n').filter((line) => IDLE.test(line)).length;
  return {
    child,
    idles,
    async untilIdle(count, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (idles() < count) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`watcher did not go idle (${count})\n${stdout}\n${stderr}`);
        await sleep(2);
      }
    },
    async stop() {
      child.kill('SIGINT');
      const code = await exited;
      if (code !== 130) throw new Error(`watcher exited ${code}, expected 130\n${stderr}`);
    },
  };
}

async function latency() {
  const dir = mkdtempSync(join(tmpdir(), 'taskgraph-bench-watch-'));
  try {
    write(
      join(dir, 'Taskfile.ts'),
      `import { writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
task('default', {
  inputs: ['src/**'],
  run: () => writeFileSync('started.txt', String(performance.timeOrigin + performance.now())),
});
`,
    );
    write(join(dir, 'src', 'input.txt'), 'v0');
    for (let i = 0; i < 200; i++) write(join(dir, 'src', `other${i}.txt`), String(i));
    const watcher = startWatcher(dir);
    await watcher.untilIdle(1);
    const samples = [];
    for (let i = 1; i <= LATENCY_WRITES; i++) {
      await sleep(300); // let the previous run's events drain: each write starts from idle
      const wrote = now();
      writeFileSync(join(dir, 'src', 'input.txt'), `v${i}`);
      await watcher.untilIdle(i + 1);
      samples.push(Number(readFileSync(join(dir, 'started.txt'), 'utf8')) - wrote);
    }
    await watcher.stop();
    return samples;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function vmRss(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

async function memory() {
  const dir = mkdtempSync(join(tmpdir(), 'taskgraph-bench-watch-rss-'));
  try {
    write(
      join(dir, 'Taskfile.ts'),
      `import { task } from 'taskgraph';\ntask('default', { inputs: ['vendor/**'], run: () => {} });\n`,
    );
    // The same layout as bench/run.mjs's vendor tree (40 vendors, 100 files a package, 10 a
    // folder), with 1 KB files: the watcher's memory goes with files and folders, not bytes.
    const body = 'x'.repeat(1000);
    for (let n = 0; n < TREE_FILES; n++) {
      const pkg = Math.floor(n / 100);
      const path = `vendor/v${pkg % 40}/package${Math.floor(pkg / 40)}/src/Dir${Math.floor(n / 10) % 10}/Class${n}.php`;
      write(join(dir, path), `<?php // ${path}\n${body}`);
    }
    const runs = [];
    for (let run = 0; run < RSS_RUNS; run++) {
      const watcher = startWatcher(dir);
      const started = now();
      await watcher.untilIdle(1);
      const ready = now() - started;
      // Settled: three readings a second apart within 2 MB of each other.
      let readings = [];
      for (let i = 0; i < 20; i++) {
        await sleep(1000);
        readings.push(vmRss(watcher.child.pid));
        readings = readings.slice(-3);
        if (readings.length === 3) {
          const values = readings.map((r) => r.rss);
          if (Math.max(...values) - Math.min(...values) < 2) break;
        }
      }
      runs.push({ ...readings.at(-1), ready });
      await watcher.stop();
    }
    return runs;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const verdict = (ok) => (ok ? 'PASS' : 'MISS');

const samples = await latency();
const latencyMedian = median(samples);
console.log(
  `write -> task start, default debounce: median ${latencyMedian.toFixed(1)} ms ` +
    `(min ${Math.min(...samples).toFixed(1)}, max ${Math.max(...samples).toFixed(1)}, ` +
    `n=${samples.length}), target < ${LATENCY_TARGET_MS} ms: ${verdict(latencyMedian < LATENCY_TARGET_MS)}`,
);

const runs = await memory();
const rssMedian = median(runs.map((r) => r.rss));
console.log(
  `RSS watching ${TREE_FILES.toLocaleString('en')} files: median ${rssMedian.toFixed(1)} MB ` +
    `(runs ${runs.map((r) => r.rss.toFixed(1)).join(', ')}; peak ${median(runs.map((r) => r.peak)).toFixed(1)} MB; ` +
    `first run to idle ${(runs[0].ready / 1000).toFixed(2)} s, then ${runs
      .slice(1)
      .map((r) => (r.ready / 1000).toFixed(2))
      .join(', ')} s), target < ${RSS_TARGET_MB} MB: ${verdict(rssMedian < RSS_TARGET_MB)}`,
);
