import { afterEach, describe, expect, it } from 'vitest';
import { Project } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

describe('throw new TaskError(...) in a task', () => {
  it('takes a plain message: the task fails with it, and no stack', async () => {
    project = new Project({
      'Taskfile.ts': `import { task, TaskError } from 'taskgraph';
task('check', { run: () => { throw new TaskError('no APP_KEY: run npx task local:secrets'); } });
`,
    });
    const result = await project.task(['check']);
    expect(result.exitCode).toBe(1);
    const output = result.stdout + result.stderr;
    expect(output).toContain('check: no APP_KEY: run npx task local:secrets');
    expect(output).not.toContain('undefined');
    expect(output).not.toMatch(/^\s+at /m);
  });

  it('still takes a Failure, whose exit code becomes the run’s', async () => {
    project = new Project({
      'Taskfile.ts': `import { task, TaskError } from 'taskgraph';
task('check', { run: () => { throw new TaskError({ reason: 'reported', message: 'it said no', exitCode: 7 }); } });
`,
    });
    const result = await project.task(['check']);
    expect(result.exitCode).toBe(7);
    expect(result.stdout + result.stderr).toContain('check: it said no');
  });
});
