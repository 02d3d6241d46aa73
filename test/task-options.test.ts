import { afterEach, describe, expect, it } from 'vitest';
import { Project, RECORD } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

describe('task options are checked when the Taskfile loads', () => {
  it('unknown keys, wrong types and outputs outside the project: exit 2, each naming its line', async () => {
    project = new Project({
      'Taskfile.ts': `import { task, rule, namespace, desc } from 'taskgraph';
task('hello', { run: () => {} });
task('two', { depz: ['hello'] } as never);
task('three', { inputz: ['a'], outptus: ['b'] } as never);
task('four', { deps: 'hello' } as never);
task('five', { outputs: ['/tmp/x'] });
namespace('ns', 3 as never);
rule('.min.css', { sorce: '.css' } as never);
desc(5 as never);
`,
    });
    const result = await project.task(['hello']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'task: Taskfile.ts:3:1: task two: unknown option depz; did you mean deps?',
      'task: Taskfile.ts:4:1: task three: unknown option inputz; did you mean inputs?',
      'task: Taskfile.ts:4:1: task three: unknown option outptus; did you mean outputs?',
      'task: Taskfile.ts:5:1: task four: deps must be an array of task names, or a function from the args to one, got the string "hello"; write deps: ["hello"]',
      `task: Taskfile.ts:6:1: task five: output /tmp/x is outside the project (${project.dir}); outputs are paths inside it, or an Output kind for anything else`,
      'task: Taskfile.ts:7:1: namespace ns: expected a function, got number',
      'task: Taskfile.ts:8:1: rule .min.css: unknown option sorce; did you mean source?',
      "task: Taskfile.ts:8:1: rule .min.css: missing source (the source's suffix, or a function from target to source)",
      "task: Taskfile.ts:9:1: desc()'s text must be a string, got number 5",
    ]);
  });

  it('a function (or a symbol, or a cycle) in vars, which cannot be hashed: exit 2, located', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
task('f', { vars: { f: () => 1 }, run: () => {} });
const loop: Record<string, unknown> = { name: 'x' };
loop.self = loop;
task('g', { vars: { env: { deep: [1, Symbol('s')] }, loop }, run: () => {} });
task('ok', { vars: { env: { name: 'x', ports: [1, 2] }, shared: [loop.name, loop.name] }, run: () => {} });
`,
    });
    const result = await project.task(['ok']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      "task: Taskfile.ts:2:1: task f: vars.f must be plain data (vars are hashed into the task's fingerprint), got a function; pass the value it returns instead",
      "task: Taskfile.ts:5:1: task g: vars.env.deep[1] must be plain data (vars are hashed into the task's fingerprint), got a symbol",
    ]);
    project.write(
      'Taskfile.ts',
      `import { task } from 'taskgraph';
const loop: Record<string, unknown> = { name: 'x' };
loop.self = loop;
task('h', { vars: { loop }, run: () => {} });
`,
    );
    const cycle = await project.task(['h']);
    expect(cycle.exitCode).toBe(2);
    expect(cycle.stderr).toContain(
      'task: Taskfile.ts:4:1: task h: vars.loop.self refers back to itself; vars must be plain data, without cycles',
    );
  });

  it('a problem in an imported module names that module', async () => {
    project = new Project({
      'Taskfile.ts': `import './tasks/more.ts';\n`,
      'tasks/more.ts': `import { task } from 'taskgraph';\n\nexport const x = 1;\ntask('x', { deps: [1] } as never);\n`,
    });
    const result = await project.task(['x']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'task: tasks/more.ts:4:1: task x: deps must be an array of task names, got an array',
    );
  });

  it('an outputs function naming a path outside the project fails its task, not the run', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
task('f', { outputs: () => ['/tmp/elsewhere'], run: () => {} });
`,
    });
    const result = await project.task(['f']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      `✖ f: output /tmp/elsewhere is outside the project (${project.dir}); outputs are paths inside it, or an Output kind for anything else`,
    );
    expect(result.stderr).not.toContain('TaskError');
  });

  it('an absolute path output inside the project is digested as the relative path', async () => {
    project = new Project({ 'record.ts': RECORD });
    project.write(
      'Taskfile.ts',
      `import { task } from 'taskgraph';
import { writeFileSync } from 'node:fs';
import { record } from './record.ts';
task('abs', {
  outputs: [${JSON.stringify(project.path('out.txt'))}],
  run: () => { record('abs'); writeFileSync('out.txt', 'x'); },
});
`,
    );
    const first = await project.task(['abs']);
    expect(first.exitCode).toBe(0);
    const second = await project.task(['abs']);
    expect(second.stdout).toContain('[abs] up to date');
    expect(project.runs()).toEqual(['abs']);
  });
});
