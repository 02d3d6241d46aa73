/**
 * The listr2 renderer under a real pseudo-terminal (util-linux `script`), the way a developer
 * sees it. Frames are compared after stripping ANSI codes and timings.
 */
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanEnv, Project, TASK_BIN } from './support/project.js';

const TASKFILE = `import { task } from 'taskgraph';
import { writeFileSync } from 'node:fs';
task('build', { inputs: ['in.txt'], outputs: ['out.txt'], run: (ctx) => { ctx.log('building'); writeFileSync('out.txt', 'x'); } });
task('fail', { run: (ctx) => ctx.exec('sh', ['-c', 'echo broken output; exit 4']) });
task('default', { deps: ['build'] });
// Two tasks printing lines in turn, one of which fails: whose line is whose must show in each.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
task('apples', { run: async (ctx) => { for (const i of [1, 2, 3]) { ctx.log('apple ' + i); await sleep(150); } } });
task('pears', { run: async (ctx) => { await sleep(75); await ctx.exec('sh', ['-c', 'for i in 1 2 3; do echo pear $i; sleep 0.15; done; exit 3']); } });
task('fruit', { deps: ['apples', 'pears'] });
task('outer', { run: (ctx) => ctx.invoke('inner') });
task('inner', { run: async (ctx) => { ctx.log('from inside'); await sleep(300); } });
// A target that prints what its user came to read, after a prerequisite that prints lines too.
task('setup', { run: (ctx) => { ctx.log('setup line 1'); ctx.log('setup line 2'); } });
task('report', { deps: ['setup'], run: (ctx) => { ctx.log('\\x1b[32m+ report line 1\\x1b[0m'); ctx.log('report line 2'); } });
task('long', { run: async (ctx) => { ctx.log('x'.repeat(300)); await sleep(300); } });
`;

// eslint-disable-next-line no-control-regex -- matching terminal escapes is the point
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

const ERASE_LINE = '\x1b[2K';

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

async function inTerminal(project: Project, args: string[]) {
  // `script` takes its command as one string; every word of it is quoted.
  const command = `stty cols 100 rows 30; exec ${[process.execPath, TASK_BIN, ...args].map(shellQuote).join(' ')}`;
  const result = await execa('script', ['-qec', command, '/dev/null'], {
    cwd: project.dir,
    env: cleanEnv(),
    extendEnv: false,
    reject: false,
  });
  const raw = String(result.stdout);
  const lines = (text: string) =>
    text
      .replace(ANSI, '')
      .replace(/\(\d+(\.\d+)?m?s\)/g, '(TIME)')
      .split(/\r?\n|\r/)
      .map((line) => line.trimEnd())
      .filter(Boolean);
  // listr2 erases its last frame (erase line, cursor up) before drawing the next: what follows
  // the last erase is what stays on screen once the run ends.
  const kept = raw.slice(raw.lastIndexOf(ERASE_LINE));
  return { exitCode: result.exitCode, screen: lines(raw), final: lines(kept), kept };
}

let project: Project;
afterEach(() => project.remove());

describe('terminal renderer', () => {
  it('draws the plan as a live list: done with a time, then up to date', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'in.txt': 'a' });
    const first = await inTerminal(project, []);
    expect(first.exitCode).toBe(0);
    expect(first.screen).toContain('✔ build (TIME)');
    expect(first.screen.at(-1)).toMatch(/^2 ran, 0 up to date in/);

    const second = await inTerminal(project, []);
    expect(second.screen).toContain('↓ build (up to date)');
    expect(second.screen.at(-1)).toMatch(/^0 ran, 2 up to date in/);
  });

  it('shows a failed task with its reason and its output', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'in.txt': 'a' });
    const result = await inTerminal(project, ['fail']);
    expect(result.exitCode).toBe(1);
    expect(result.screen).toContain(
      "✖ fail: `sh -c 'echo broken output; exit 4'` exited with status 4",
    );
    expect(result.screen).toContain('  [fail] broken output');
  });

  it('labels every output line of parallel tasks with its task, live and in the summary', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'in.txt': 'a' });
    const result = await inTerminal(project, ['-j', '2', '-k', 'fruit']);
    expect(result.exitCode).toBe(1);
    const shown = result.screen.filter((line) => /\b(apple|pear) \d/.test(line));
    // Under the live tree; after it, as the output of what `fruit` stands for, and in the
    // summary's last lines of the failure.
    const labelled = /^(› | {2}|)\[(apples|pears)\] (apple|pear) \d$/;
    expect(shown.filter((line) => !labelled.test(line))).toEqual([]);
    for (const line of shown) {
      const [, , key, fruit] = labelled.exec(line) ?? [];
      expect(`${key}`).toBe(`${fruit}s`);
    }
    for (const i of [1, 2, 3]) {
      expect(shown).toContain(`› [apples] apple ${i}`);
      expect(shown).toContain(`› [pears] pear ${i}`);
      expect(shown).toContain(`  [pears] pear ${i}`);
      expect(result.final).toContain(`[apples] apple ${i}`);
    }
  });

  it("keeps the target's output on screen after the tree, and lets a prerequisite's go", async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'in.txt': 'a' });
    const result = await inTerminal(project, ['report']);
    expect(result.exitCode).toBe(0);
    // While it ran, the prerequisite's lines were shown under the tree.
    expect(result.screen).toContain('› [setup] setup line 1');
    // One target: its lines unlabelled, below the finished tree and above the summary, the
    // colour it printed kept.
    expect(result.final).toEqual([
      '✔ setup (TIME)',
      '✔ report (TIME)',
      '+ report line 1',
      'report line 2',
      expect.stringMatching(/^2 ran, 0 up to date in/),
    ]);
    expect(result.kept).toContain('\x1b[32m+ report line 1\x1b[0m');
  });

  it('shows a line wider than the terminal on one row, cut short', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'in.txt': 'a' });
    const result = await inTerminal(project, ['long']);
    expect(result.exitCode).toBe(0);
    // 100 columns: listr2 draws `› ` and keeps 2 spare, so 96 for the label and the text.
    expect(result.screen).toContain(`› [long] ${'x'.repeat(88)}…`);
    // Only once the tree is done, as the target's output, is it shown whole (the terminal wraps it).
    expect(result.screen.filter((line) => /^ *x+$/.test(line))).toEqual(['x'.repeat(300)]);
    expect(result.final).toContain('x'.repeat(300));
  });

  it("shows a task invoked mid-run by its own label, with its invoker's row", async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'in.txt': 'a' });
    const result = await inTerminal(project, ['outer']);
    expect(result.exitCode).toBe(0);
    expect(result.screen).toContain('› [inner] from inside');
  });
});
