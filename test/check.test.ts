import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Project, REPO } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

const TASKFILE = `import { task } from 'taskgraph';
task('hello', { run: (ctx) => ctx.log('hi') });
task('two', { depz: ['hello'] });
`;

describe('task --check', () => {
  it("typechecks the Taskfile with the project's tsc: a misspelt option is a type error", async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    // The project's node_modules as an install would make it: typescript, node's types, taskgraph.
    mkdirSync(project.path('node_modules/@types'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules/typescript'), project.path('node_modules/typescript'));
    symlinkSync(join(REPO, 'node_modules/@types/node'), project.path('node_modules/@types/node'));
    symlinkSync(REPO, project.path('node_modules/taskgraph'));
    const result = await project.task(['--check']);
    expect(result.stdout).toContain("'depz' does not exist in type");
    expect(result.stdout).toContain('Taskfile.ts(3,');
    expect(result.exitCode).toBe(1);

    project.write('Taskfile.ts', TASKFILE.replace('depz', 'deps'));
    const fixed = await project.task(['--check']);
    expect(fixed.stdout).toContain('task: Taskfile.ts: types check');
    expect(fixed.exitCode).toBe(0);
    // Two tsc runs on a shared 2-CPU machine.
  }, 120_000);

  it('says how to get TypeScript when the project has none', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    const result = await project.task(['--check']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--check needs TypeScript');
    expect(result.stderr).toContain('npm install -D typescript');
  });
});
