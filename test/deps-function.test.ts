/**
 * `deps` as a function of the task's args: each args variant is a node of its own, so the
 * function gives each its own prerequisites (`deploy -- --dry-run` reads the rendered files but
 * pushes nothing). Checked like any option: a wrong type, a wrong result or a throw is a
 * located Taskfile error (exit 2) before anything runs; `-n` names a task's own dry run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { installRegistry, Registry, task } from '../src/dsl.js';
import { parseTarget, Planner } from '../src/graph.js';
import { Project, RECORD } from './support/project.js';

function keysOf(define: () => void, request: Parameters<Planner['expand']>[0][number]) {
  const registry = new Registry();
  installRegistry(registry);
  define();
  const planner = new Planner(registry);
  const expansion = planner.expand([request]);
  if (!expansion.ok) throw new Error(JSON.stringify(expansion.error));
  return planner.order.map((node) => [node.key, node.deps.map((dep) => dep.key)]);
}

describe('the planner', () => {
  it("calls a deps function once per args variant, with that variant's args", () => {
    const seen: unknown[] = [];
    const define = () => {
      task('push', { deps: ['build'] });
      task('build');
      task('render');
      task('deploy', {
        args: ['dry-run'],
        deps: (args) => {
          seen.push({ ...args });
          return args['dry-run'] === undefined ? ['push', 'render'] : ['render'];
        },
      });
    };
    expect(keysOf(define, { name: 'deploy' })).toEqual([
      ['build', []],
      ['push', ['build']],
      ['render', []],
      ['deploy', ['push', 'render']],
    ]);
    expect(keysOf(define, { name: 'deploy', named: { 'dry-run': 'true' } })).toEqual([
      ['render', []],
      ['deploy[dry-run=true]', ['render']],
    ]);
    expect(seen).toEqual([{}, { 'dry-run': 'true' }]);
  });

  it('a dependency asked with args gets its own variant of the function', () => {
    const define = () => {
      task('lint');
      task('test', { args: ['fast'], deps: (args) => (args.fast ? [] : ['lint']) });
      task('ci', { deps: ['test[yes]', 'test'] });
    };
    expect(keysOf(define, parseTarget('ci'))).toEqual([
      ['test[fast=yes]', []],
      ['lint', []],
      ['test', ['lint']],
      ['ci', ['test[fast=yes]', 'test']],
    ]);
  });
});

let project: Project;
afterEach(() => project?.remove());

const TASKFILE = `import { task } from 'taskgraph';
import { record } from './record.ts';
task('push', { run: () => record('push') });
task('render', { run: () => record('render') });
task('plan', { deps: [{ task: 'deploy', args: { 'dry-run': 'true' } }] });
task('deploy', {
  desc: 'Deploy (or, with -- --dry-run, say what it would do)',
  args: ['dry-run'],
  deps: (args) => (args['dry-run'] === undefined ? ['push', 'render'] : ['render']),
  run: (ctx) => record(ctx.args['dry-run'] === undefined ? 'deploy' : 'plan'),
});
`;

describe('through the CLI', () => {
  it("runs the variant's own prerequisites: the dry run never reaches push", async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'record.ts': RECORD });
    const dry = await project.task(['deploy', '--', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(project.runs()).toEqual(['render', 'plan']);

    project.clearRuns();
    const real = await project.task(['deploy', '-j', '1']);
    expect(real.exitCode, real.stderr).toBe(0);
    expect(project.runs().sort()).toEqual(['deploy', 'push', 'render']);
  });

  it('--graph, -n and -P show the variant asked for', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'record.ts': RECORD });
    const graph = await project.task(['--graph', 'deploy', '--', '--dry-run']);
    expect(graph.stdout).toContain('["deploy[dry-run=true]"]');
    expect(graph.stdout).not.toContain('push');

    const dry = await project.task(['-n', 'deploy']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('[push] would run');
    expect(dry.stderr).toContain(
      'task: deploy has a dry run of its own, which says what it would do: `npx task deploy -- --dry-run`',
    );
    // Asked for already: nothing to point to.
    const variant = await project.task(['-n', 'deploy', '--', '--dry-run']);
    expect(variant.exitCode, variant.stderr).toBe(0);
    expect(variant.stderr).not.toContain('dry run of its own');
    expect(project.runs()).toEqual([]);

    const prereqs = await project.task(['-P']);
    expect(prereqs.stdout).toContain('task plan\n    deploy[dry-run=true]\n');
    expect(prereqs.stdout).toContain(
      'task deploy  # its deps vary with its args; these are without any\n    push\n    render\n',
    );
  });

  it('a deps option of the wrong type: exit 2, naming the line', async () => {
    project = new Project({
      'Taskfile.ts': `import { task, rule } from 'taskgraph';
task('a', { deps: 42 } as never);
rule('.min.css', { source: '.css', deps: () => [] } as never);
`,
    });
    const result = await project.task(['a']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'task: Taskfile.ts:2:1: task a: deps must be an array of task names, or a function from the args to one, got number 42',
      'task: Taskfile.ts:3:1: rule .min.css: deps must be an array of task names, got a function',
    ]);
  });

  it('a deps function that returns something else, or throws: exit 2, located, nothing runs', async () => {
    project = new Project({
      'record.ts': RECORD,
      'Taskfile.ts': `import { task } from 'taskgraph';
import { record } from './record.ts';
task('b', { run: () => record('b') });
task('wrong', { args: ['mode'], deps: (args) => (args.mode ? 'b' : ['b']) as never, run: () => record('wrong') });
task('throws', {
  args: ['mode'],
  deps: (args) => {
    if (args.mode === 'bad') throw new Error('no such mode');
    return ['b'];
  },
});
`,
    });
    const wrong = await project.task(['wrong[x]']);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr.trim()).toBe(
      'task: Taskfile.ts:4:1: task wrong: its deps function must return an array of task names, got the string "b" (planning wrong[mode=x])',
    );
    const throws = await project.task(['-n', 'throws', '--', '--mode=bad']);
    expect(throws.exitCode).toBe(2);
    expect(throws.stderr.trim()).toBe(
      'task: Taskfile.ts:8:36: task throws: its deps function threw: no such mode (planning throws[mode=bad])',
    );
    // Without the args that trip it, the same tasks plan and run.
    expect((await project.task(['wrong', 'throws'])).exitCode).toBe(0);
    expect(project.runs()).toEqual(['b', 'wrong']);
  });
});
