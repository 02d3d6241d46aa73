import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Project, RECORD } from './support/project.js';
import { isAlive, waitFor } from './support/wait.js';

let project: Project;
afterEach(() => project.remove());

function spans(p: Project, name: string): [number, number] {
  const [start, end] = p.read(`${name}.span`).trim().split(' ').map(Number);
  return [start ?? NaN, end ?? NaN];
}

const SLEEPERS = `
import { writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
for (const name of ['a', 'b']) {
  task(name, {
    run: async (ctx) => {
      const start = Date.now();
      await ctx.exec('sleep', ['0.4']);
      writeFileSync(name + '.span', start + ' ' + Date.now());
    },
  });
}
task('default', { deps: ['a', 'b'] });
`;

describe('scheduler', () => {
  it('runs a shared dependency once even under -j 8', async () => {
    const fanOut = Array.from(
      { length: 8 },
      (_, i) => `task('t${i}', { deps: ['shared'], run: () => record('t${i}') });`,
    );
    project = new Project({
      'record.ts': RECORD,
      'Taskfile.ts': `import { task } from 'taskgraph';
import { record } from './record.ts';
task('shared', { run: async (ctx) => { record('shared'); await ctx.exec('sleep', ['0.2']); } });
${fanOut.join('\n')}
task('default', { deps: [${Array.from({ length: 8 }, (_, i) => `'t${i}'`).join(', ')}] });
`,
    });
    const result = await project.task(['-j', '8']);
    expect(result.exitCode).toBe(0);
    const runs = project.runs();
    expect(runs.filter((r) => r === 'shared')).toHaveLength(1);
    expect(runs[0]).toBe('shared');
    expect(runs).toHaveLength(9);
  });

  it('runs independent tasks in parallel, and one at a time with -j 1', async () => {
    project = new Project({ 'Taskfile.ts': SLEEPERS });
    expect((await project.task(['-j', '2'])).exitCode).toBe(0);
    const [a, b] = [spans(project, 'a'), spans(project, 'b')];
    expect(a[0] < b[1] && b[0] < a[1]).toBe(true);

    expect((await project.task(['-j', '1'])).exitCode).toBe(0);
    const [a1, b1] = [spans(project, 'a'), spans(project, 'b')];
    expect(a1[1] <= b1[0] || b1[1] <= a1[0]).toBe(true);
  });

  const FAILING = `import { task } from 'taskgraph';
import { record } from './record.ts';
task('bad', { run: async (ctx) => { record('bad'); await ctx.exec('sh', ['-c', 'echo first words; echo about to fail >&2; exit 3']); } });
task('after-bad', { deps: ['bad'], run: () => record('after-bad') });
task('other', { run: () => record('other') });
task('default', { deps: ['bad', 'after-bad', 'other'] });
`;

  it('fails fast: no new task starts after a failure; exit 1 with the failure summarised', async () => {
    project = new Project({ 'record.ts': RECORD, 'Taskfile.ts': FAILING });
    const result = await project.task(['-j', '1']);
    expect(result.exitCode).toBe(1);
    expect(project.runs()).toEqual(['bad']);
    expect(result.stdout).toContain(
      "[bad] FAILED: `sh -c 'echo first words; echo about to fail >&2; exit 3'` exited with status 3",
    );
    expect(result.stdout).toContain('[other] skipped (not started: the run is stopping)');
    expect(result.stdout).toMatch(/^ {2}\[bad\] about to fail$/m);
    expect(
      readFileSync(
        project.path('.task/logs', readdirSync(project.path('.task/logs'))[0] ?? ''),
        'utf8',
      ),
    ).toContain('first words');
  });

  it('--keep-going runs everything that does not depend on the failure', async () => {
    project = new Project({ 'record.ts': RECORD, 'Taskfile.ts': FAILING });
    const result = await project.task(['-j', '1', '-k']);
    expect(result.exitCode).toBe(1);
    expect(project.runs().sort()).toEqual(['bad', 'other']);
    expect(result.stdout).toContain('[after-bad] skipped (dependency bad did not succeed)');
  });

  it('ctx.invoke runs another task on demand, once, and incrementally', async () => {
    project = new Project({
      'record.ts': RECORD,
      'in.txt': 'x',
      'Taskfile.ts': `import { task } from 'taskgraph';
import { writeFileSync } from 'node:fs';
import { record } from './record.ts';
task('expensive', { inputs: ['in.txt'], outputs: ['out.txt'], run: () => { record('expensive'); writeFileSync('out.txt', 'made'); } });
task('a', { run: async (ctx) => { await ctx.invoke('expensive'); record('a'); } });
task('b', { run: async (ctx) => { await ctx.invoke('expensive'); record('b'); } });
task('default', { deps: ['a', 'b'] });
task('broken', { run: (ctx) => ctx.invoke('nope') });
`,
    });
    expect((await project.task(['-j', '1'])).exitCode).toBe(0);
    expect(project.runs().filter((r) => r === 'expensive')).toHaveLength(1);
    project.clearRuns();
    await project.task([]);
    expect(project.runs().sort()).toEqual(['a', 'b']);
    const broken = await project.task(['broken']);
    expect(broken.exitCode).toBe(1);
    expect(broken.stdout).toContain('invoked task nope failed: no task named "nope"');
  });

  it('ctx.deps has one entry per dependency node: greet[a] and greet[b] do not collide', async () => {
    project = new Project({
      'Taskfile.ts': `import { writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
task('greet', {
  args: ['name'],
  outputs: ({ args }) => ['hello-' + args.name + '.txt'],
  run: (ctx) => writeFileSync('hello-' + ctx.args.name + '.txt', 'hello ' + ctx.args.name),
});
task('both', {
  deps: ['greet[a]', 'greet[b]'],
  run: (ctx) => {
    let ambiguous = '';
    try { void ctx.deps['greet']; } catch (error) { ambiguous = (error as Error).message; }
    writeFileSync('both.json', JSON.stringify({ keys: Object.keys(ctx.deps), deps: ctx.deps, ambiguous }));
  },
});
task('one', {
  deps: ['greet[a]'],
  run: (ctx) => writeFileSync('one.json', JSON.stringify(ctx.deps['greet'] ?? null)),
});
`,
    });
    expect((await project.task(['both', 'one'])).exitCode).toBe(0);
    type Deps = Record<string, { fingerprint: string; outputs: Record<string, string> }>;
    const both = JSON.parse(project.read('both.json')) as {
      keys: string[];
      deps: Deps;
      ambiguous: string;
    };
    expect(both.keys).toEqual(['greet[name=a]', 'greet[name=b]']);
    const a = both.deps['greet[name=a]'];
    const b = both.deps['greet[name=b]'];
    expect(Object.keys(a?.outputs ?? {})).toEqual(['file:hello-a.txt']);
    expect(Object.keys(b?.outputs ?? {})).toEqual(['file:hello-b.txt']);
    expect(a?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(b?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(a?.fingerprint).not.toBe(b?.fingerprint);
    expect(both.ambiguous).toBe(
      "ctx.deps['greet'] is ambiguous: this task depends on greet[name=a] and greet[name=b]; " +
        "look one up by its key, e.g. ctx.deps['greet[name=a]']",
    );
    // With one node of the task, its name still finds it.
    expect(JSON.parse(project.read('one.json'))).toEqual(a);
  });

  it('Ctrl-C kills the running process groups, records nothing and exits 130', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
task('long', {
  outputs: ['never.txt'],
  run: (ctx) => ctx.exec('sh', ['-c', 'sleep 30 & echo $! > child.pid; wait']),
});
`,
    });
    const child = project.spawn(['long']);
    await waitFor(() => existsSync(project.path('child.pid')));
    const grandchild = Number(project.read('child.pid'));
    expect(isAlive(grandchild)).toBe(true);
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    await waitFor(() => !isAlive(grandchild));
    expect(existsSync(project.path('.task/state'))).toBe(false);
    expect(String(result.stdout)).toContain('[long] cancelled');
  });
});
