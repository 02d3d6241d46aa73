#!/usr/bin/env node
// The pipeline's own figures, against real Docker:
//
//   node bench/pipeline.mjs
//
// (a) no-op `base:rebuild` and (b) no-op `staging:render` in this checkout: median of 7 timed runs
// after a warm-up run that brings them up to date (targets: under 1 s);
// (c) after one app file changes, in a throwaway copy of the repository: the new php-fpm image's
// top layer (the source tree) against the layer under it (the base image's vendor tree).
//
// Each timed run is `node bin/task.js ... --json` and its summary must say nothing ran: another
// process building in a copy of this repository can re-tag a shared development image, which makes
// one run a real build; such a run is discarded and redone (at most 5 times, then reported).
// Exit code 0 unless a benchmark could not run at all.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** What the pipeline reads, the list the tests copy too (test/support/project.ts). */
const PIPELINE_SOURCES = JSON.parse(
  readFileSync(join(REPO, 'test', 'support', 'pipeline-sources.json'), 'utf8'),
);
const TASK_BIN = join(REPO, 'bin', 'task.js');
const RUNS = 7;
const MAX_REDOS = 5;
const TARGET_MS = 1000;
// CI=true: the plain reporter whatever the terminal; TASK_* scrubbed like the tests do.
const ENV = Object.fromEntries(
  Object.entries({ ...process.env, CI: 'true' }).filter(([key]) => !key.startsWith('TASK_')),
);

const log = (line) => process.stderr.write(`${line}\n`);

function task(cwd, args) {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [TASK_BIN, ...args, '--json'], {
    cwd,
    env: ENV,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const events = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line));
  if (result.status !== 0) {
    const failures = events.filter((e) => e.type === 'end' && e.message).map((e) => e.message);
    throw new Error(
      `task ${args.join(' ')} exited ${result.status} in ${cwd}:\n${failures.join('\n')}${result.stderr}`,
    );
  }
  const summary = events.find((e) => e.type === 'summary');
  return { ms, events, ran: summary?.summary.counts.ran ?? Number.NaN };
}

function docker(args) {
  const result = spawnSync('docker', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`docker ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

/** Median of RUNS no-op runs of `target`, after a warm-up that may build. */
function noop(target) {
  log(`warm-up: task ${target}`);
  task(REPO, [target]);
  const samples = [];
  let redone = 0;
  while (samples.length < RUNS) {
    const run = task(REPO, [target]);
    if (run.ran === 0) {
      samples.push(run.ms);
    } else if (++redone > MAX_REDOS) {
      throw new Error(`${target} kept doing work (${run.ran} tasks ran): is something rebuilding?`);
    }
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: sorted[RUNS >> 1], min: sorted[0], max: sorted[RUNS - 1], redone };
}

/** Sizes in bytes of the non-empty history entries of `ref`, newest first. */
function layerSizes(ref) {
  return docker(['history', '--no-trunc', '--human=false', '--format', '{{.Size}}', ref])
    .split('\n')
    .map(Number)
    .filter((size) => size > 0);
}

/** (c), in a copy: the checkout's files are never edited by a benchmark. */
function sourceLayer() {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'taskgraph-bench-pipeline-')));
  let ref;
  try {
    // The pipeline's sources (test/support/pipeline-sources.json, the tests' PIPELINE_SOURCES)
    // and .git, as the e2e clones copy them: image labels depend on inputs only, so unchanged
    // images are the checkout's.
    for (const entry of ['.git', ...PIPELINE_SOURCES]) {
      cpSync(join(REPO, entry), join(dir, entry), {
        recursive: true,
        filter: (source) => !source.startsWith(join(REPO, 'example', 'vendor')),
      });
    }
    symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
    appendFileSync(
      join(dir, 'example/app/Application.php'),
      `// ${randomBytes(6).toString('hex')}\n`,
    );
    log('(c) images:build after editing example/app/Application.php');
    const run = task(dir, ['images:build']);
    ref = run.events
      .filter((e) => e.type === 'output' && e.key === 'images:build')
      .map((e) => /^Successfully tagged (\S+)/.exec(e.line)?.[1])
      .find((tag) => tag !== undefined && !tag.endsWith(':latest'));
    if (ref === undefined) throw new Error('images:build tagged no image after the edit');
    const [source, vendor] = layerSizes(ref);
    return { source, vendor, ref };
  } finally {
    if (ref !== undefined) {
      // The edited image's tag is unique to this run; `:latest` goes too when it names that image.
      const id = docker(['image', 'inspect', '--format', '{{.Id}}', ref]);
      const latest = spawnSync(
        'docker',
        ['image', 'inspect', '--format', '{{.Id}}', `${ref.split(':')[0]}:latest`],
        { encoding: 'utf8' },
      );
      const refs = latest.stdout.trim() === id ? [ref, `${ref.split(':')[0]}:latest`] : [ref];
      spawnSync('docker', ['rmi', ...refs], { stdio: 'ignore' });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const ms = (value) => `${value.toFixed(0)} ms`.padStart(9);
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`.padStart(12);
const verdict = (ok) => (ok ? 'ok' : 'MISS');

const rebuild = noop('base:rebuild');
const render = noop('staging:render');
const layer = sourceLayer();

const rows = [
  'Pipeline benchmarks (node bin/task.js, CI=true, this checkout; 7 runs after a warm-up)',
  '  case                               median      min      max   target',
  `  (a) no-op base:rebuild          ${ms(rebuild.median)}${ms(rebuild.min)}${ms(rebuild.max)}   < 1 s ${verdict(rebuild.median < TARGET_MS)}`,
  `  (b) no-op staging:render        ${ms(render.median)}${ms(render.min)}${ms(render.max)}   < 1 s ${verdict(render.median < TARGET_MS)}`,
  '',
  '  (c) one app file edited: php-fpm image layers (docker history)',
  `      new top layer (source tree)  ${kib(layer.source)}`,
  `      base vendor layer            ${kib(layer.vendor)}`,
  `      > the release ships ${((layer.source / layer.vendor) * 100).toFixed(1)}% of the vendor layer's bytes  (${layer.ref} removed)`,
];
if (rebuild.redone + render.redone > 0) {
  rows.push(
    '',
    `  ${rebuild.redone + render.redone} timed run(s) redone: another process rebuilt a shared image meanwhile`,
  );
}
console.log(rows.join('\n'));
