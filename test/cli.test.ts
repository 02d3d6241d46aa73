import { afterEach, describe, expect, it } from 'vitest';
import { Project } from './support/project.js';
import { existsSync } from 'node:fs';

let project: Project;
afterEach(() => project.remove());

const TASKFILE = `import { task, namespace, desc } from 'taskgraph';
desc('Say hello');
task('hello', { args: ['name'], run: (ctx) => ctx.log('hello ' + (ctx.args.name ?? 'world')) });
namespace('staging', () => {
  task('render', { desc: 'Render staging', deps: ['hello'], run: (ctx) => ctx.log('rendering') });
  task('hidden', { run: () => {} });
});
task('default', { deps: ['hello'] });
`;

describe('cli', () => {
  it('--help, --version and usage errors', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    const help = await project.task(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain(
      'Exit codes: 0 success, 1 a task failed, 2 usage or Taskfile error, 130 interrupted.',
    );
    expect((await project.task(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+$/);
    const bad = await project.task(['--bogus']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('unknown option --bogus');
    expect((await project.task(['-j', 'zero'])).exitCode).toBe(2);
  });

  it('-T lists described tasks, --all every task, with a pattern; -P shows prerequisites', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    const list = await project.task(['-T']);
    expect(list.stdout).toBe(
      'task hello[name]     # Say hello\ntask staging:render  # Render staging',
    );
    expect((await project.task(['-T', 'staging', '--all'])).stdout).toContain(
      'task staging:hidden',
    );
    expect((await project.task(['-T', 'staging'])).stdout).not.toContain('hello');
    expect((await project.task(['-P'])).stdout).toContain('task staging:render\n    hello');
  });

  it('an unknown task exits 2 with a suggestion; a cycle exits 2 with its path', async () => {
    project = new Project({
      'Taskfile.ts': TASKFILE + `task('x', { deps: ['y'] }); task('y', { deps: ['x'] });\n`,
    });
    const unknown = await project.task(['helo']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('no task named "helo"; did you mean hello?');
    const cycle = await project.task(['x']);
    expect(cycle.exitCode).toBe(2);
    expect(cycle.stderr).toContain('Circular dependency: x => y => x');
  });

  it('a syntax error names file:line:column and exits 2', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';\nimport './tasks/broken.ts';\ntask('a');\n`,
      'tasks/broken.ts': `export const x = 1;\nconst y = ;\n`,
    });
    const result = await project.task(['a']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/tasks\/broken\.ts:2:11: Unexpected ";"/);
  });

  it('a Taskfile that throws while loading exits 2 with the message', async () => {
    project = new Project({
      'Taskfile.ts': `throw new Error('environments/prod.ts: cpu: expected 256, found 300');\n`,
    });
    const result = await project.task([]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'Taskfile.ts failed to load: environments/prod.ts: cpu: expected 256',
    );
  });

  it('no Taskfile: exit 2 with what to do; -C and -f choose another', async () => {
    project = new Project({ 'sub/Other.ts': TASKFILE, 'sub/dir/keep': '' });
    const none = await project.task([]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('no Taskfile.ts in');
    const chosen = await project.task(['-C', 'sub', '-f', 'Other.ts', 'hello[bob]']);
    expect(chosen.exitCode).toBe(0);
    expect(chosen.stdout).toContain('[hello[name=bob]] hello bob');
  });

  it('finds the Taskfile in a parent folder and runs there', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'deep/er/keep': '' });
    const result = await project.task(['-C', 'deep/er', 'hello']);
    expect(result.exitCode).toBe(0);
    expect(existsSync(project.path('.task/logs'))).toBe(true);
  });

  it('--graph prints the plan as mermaid or dot', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    expect((await project.task(['--graph', 'staging:render'])).stdout).toBe(
      'graph LR\n  n0["hello"]\n  n1["staging:render"]\n  n1 --> n0',
    );
    const dot = await project.task(['--graph', 'dot', 'staging:render']);
    expect(dot.stdout).toContain('n1 -> n0;');
    expect((await project.task(['--graph', 'svg'])).exitCode).toBe(2);
  });

  it('--json prints one event per line; -n runs nothing', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    const json = await project.task(['--json', 'staging:render']);
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0]?.type).toBe('plan');
    expect(events.at(-1)?.type).toBe('summary');
    expect(events.filter((e) => e.type === 'output')).toHaveLength(2);
    const dry = await project.task(['-n', 'staging:render']);
    expect(dry.stdout).toContain('[hello] would run: no inputs or outputs: always runs');
    expect(dry.stdout).toContain('[staging:render] would run: no inputs or outputs: always runs');
    expect(dry.stdout).not.toContain('rendering');
  });

  it('wraps each task in ::group:: under GitHub Actions', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    const result = await project.task(['hello'], { GITHUB_ACTIONS: 'true' });
    expect(result.stdout).toContain('::group::[hello] done in');
    expect(result.stdout).toContain('hello world\n::endgroup::');
  });
});
