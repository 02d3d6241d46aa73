/**
 * What a Taskfile may import from `taskgraph`, and that it is the running engine itself: one copy
 * of the registry, the failure type and the process table in the process, with no bridge.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Project } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

describe('package exports', () => {
  it("a TaskError from the Taskfile's `taskgraph` is the CLI's own class: reported, no stack", async () => {
    project = new Project({
      'Taskfile.ts': `import { task, TaskError } from 'taskgraph';
task('fail', { run: () => { throw new TaskError({ reason: 'reported', message: 'the registry said no; run login first' }); } });
`,
    });
    const result = await project.task(['fail', '--json']);
    expect(result.exitCode).toBe(1);
    const end = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; failure?: { reason: string } })
      .find((event) => event.type === 'end');
    expect(end?.failure?.reason).toBe('reported');
  });

  it('taskgraph/docker gives the Docker helpers and output kinds', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
import { createDocker, dockerImageOutput, isDockerFailure } from 'taskgraph/docker';
task('probe', { run: (ctx) => ctx.log([typeof createDocker, typeof dockerImageOutput, typeof isDockerFailure].join(' ')) });
`,
    });
    const result = await project.task(['probe']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('function function function');
  });

  it('an internal module (the scheduler) is not importable, and the error names the API', async () => {
    project = new Project({
      'Taskfile.ts': `import { Scheduler } from 'taskgraph/scheduler';\nexport { Scheduler };\n`,
    });
    const result = await project.task(['-T']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      '"taskgraph/scheduler" is not part of taskgraph\'s API (it exports taskgraph, taskgraph/docker)',
    );
  });
});
