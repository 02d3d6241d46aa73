#!/usr/bin/env node
// The engine benchmarks (bench/run.mjs) on every Node.js runtime present, side by side: the
// machine's own node, then each one in .runtimes/ (`node scripts/runtimes.mjs install` puts Node
// 22 and 24 there). Each runtime times its own baselines (`node -e 0` on that runtime), so each
// ratio compares the engine with the runtime it runs on; the milliseconds show what a user gains
// by moving runtime.
//
// First, start-up on every runtime in the same interleaved rounds: `node -e 0` and a no-op run of
// a one-task project, the figures a user feels on every command.
//
//   node bench/runtimes.mjs [noop|vendor|incremental|overhead ...]     (npm run bench builds first)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import { envFor, installedRuntimes } from '../scripts/runtimes.mjs';
import { measure, run } from './lib/measure.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const names = process.argv.slice(2);

const runtimes = [
  { label: process.version, node: process.execPath },
  ...installedRuntimes()
    .filter((r) => r.node !== process.execPath)
    .map((r) => ({ label: versionOf(r.node), node: r.node })),
];
if (runtimes.length === 1) {
  process.stderr.write(
    "bench: only the machine's node is present; `node scripts/runtimes.mjs install` adds Node 22 and 24\n",
  );
}

function versionOf(node) {
  return spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

startup();

/** `node -e 0` and a no-op `task out` on each runtime, all cases in the same rounds. */
function startup() {
  const dir = mkdtempSync(join(tmpdir(), 'taskgraph-bench-startup-'));
  try {
    writeFileSync(join(dir, 'in.txt'), 'hello\n');
    writeFileSync(
      join(dir, 'Taskfile.ts'),
      [
        "import { copyFileSync } from 'node:fs';",
        "import { task } from 'taskgraph';",
        "task('out', { inputs: ['in.txt'], outputs: ['out.txt'], run: () => copyFileSync('in.txt', 'out.txt') });",
        '',
      ].join('\n'),
    );
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(REPO, join(dir, 'node_modules', 'taskgraph'));
    const taskOut = (node) => ({
      file: node,
      args: [join(REPO, 'bin', 'task.js'), 'out'],
      cwd: dir,
      env: { ...process.env, CI: 'true' },
    });
    run(taskOut(process.execPath));
    // The hasher does not trust files changed within 1 s of hashing them; let the stat cache settle.
    spawnSync(process.execPath, ['-e', 'setTimeout(() => {}, 1100)']);
    run(taskOut(process.execPath));
    const cases = runtimes.flatMap((r, i) => [
      {
        key: `e${i}`,
        label: `${r.label}  node -e 0`,
        command: { file: r.node, args: ['-e', '0'], cwd: dir },
      },
      { key: `t${i}`, label: `${r.label}  task out (no-op)`, command: taskOut(r.node) },
    ]);
    process.stdout.write('\nStart-up on each runtime (same rounds; 15 runs after 3 warm-ups)\n');
    const stats = measure(cases, { runs: 15, warmup: 3 });
    for (const c of cases) {
      process.stdout.write(
        `  ${c.label.padEnd(36)}${`${stats[c.key].median.toFixed(1)} ms`.padStart(11)}\n`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const reports = [];
for (const runtime of runtimes) {
  const file = join(REPO, 'build', `bench-results-${runtime.label}.json`);
  process.stdout.write(`\n=== ${runtime.label} (${runtime.node}) ===\n`);
  const result = spawnSync(runtime.node, [join(REPO, 'bench', 'run.mjs'), ...names], {
    stdio: 'inherit',
    env: { ...envFor(runtime.node), BENCH_RESULTS: file },
  });
  if (result.status !== 0) {
    process.stderr.write(`bench: run.mjs failed on ${runtime.label} (exit ${result.status})\n`);
    process.exitCode = 1;
    continue;
  }
  reports.push({ runtime: runtime.label, data: JSON.parse(readFileSync(file, 'utf8')) });
}

// One row per case and per target, one column per runtime: medians and ratios.
if (reports.length > 1) {
  const rows = [];
  const titles = [...new Set(reports.flatMap((r) => r.data.results.map((b) => b.title)))];
  for (const title of titles) {
    rows.push({ label: title, cells: [] });
    const per = reports.map((r) => r.data.results.find((b) => b.title === title));
    const cases = [...new Set(per.flatMap((b) => b?.cases.map((c) => c.label) ?? []))];
    for (const label of cases) {
      const cells = per.map((b) => b?.cases.find((c) => c.label === label));
      rows.push({
        label: `  ${label}`,
        cells: cells.map((c) => (c ? `${c.median.toFixed(1)} ms` : '')),
      });
    }
    const checks = [...new Set(per.flatMap((b) => b?.checks.map((c) => c.label) ?? []))];
    for (const label of checks) {
      const cells = per.map((b) => b?.checks.find((c) => c.label === label));
      rows.push({ label: `  > ${label}`, cells: cells.map(formatCheck) });
    }
  }
  const width = Math.max(...rows.map((r) => r.label.length));
  const col = 18;
  const out = ['', 'Side by side (medians; ratios against baselines timed on the same runtime)'];
  out.push(`${''.padEnd(width)}${reports.map((r) => r.runtime.padStart(col)).join('')}`);
  for (const row of rows) {
    out.push(
      `${row.label.padEnd(width)}${row.cells.map((c) => c.padStart(col)).join('')}`.trimEnd(),
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

function formatCheck(check) {
  if (check?.value === undefined) return '';
  const value =
    check.unit === 'x'
      ? `${check.value.toFixed(2)}x`
      : check.unit === 'fraction'
        ? `${(check.value * 100).toFixed(0)}%`
        : `${check.value.toFixed(1)} ${check.unit}`;
  return check.pass === undefined ? value : `${value} ${check.pass ? 'PASS' : 'MISS'}`;
}
