/**
 * Preflight checks: a task's `preflight` runs before any task of the plan starts; when it throws,
 * that task fails with its message and nothing else starts. A dry run runs none.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Project, RECORD } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

const TASKFILE = `import { task, TaskError } from 'taskgraph';
import { record } from './record.ts';
task('build', { run: () => record('build') });
task('deploy', {
  deps: ['build'],
  preflight: (ctx) => {
    record('check ' + ctx.name);
    if (process.env.ACCOUNT !== '1234') {
      throw new TaskError({ reason: 'reported', message: 'credentials reach account ' + process.env.ACCOUNT + ', not 1234' });
    }
  },
  run: () => record('deploy'),
});
`;

describe('preflight', () => {
  it('a failing check fails its task before any prerequisite starts', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'record.ts': RECORD });
    const result = await project.task(['deploy'], { ACCOUNT: '9999' });
    expect(result.exitCode).toBe(1);
    expect(project.runs()).toEqual(['check deploy']);
    expect(result.stdout).toContain(
      "[build] skipped (not started: deploy's preflight check failed)",
    );
    expect(result.stdout).toContain('✖ deploy: credentials reach account 9999, not 1234');
  });

  it('a passing check lets the run go on; a dry run runs no check', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'record.ts': RECORD });
    expect((await project.task(['deploy'], { ACCOUNT: '1234' })).exitCode).toBe(0);
    expect(project.runs()).toEqual(['check deploy', 'build', 'deploy']);
    project.clearRuns();
    expect((await project.task(['deploy', '-n'], { ACCOUNT: '9999' })).exitCode).toBe(0);
    expect(project.runs()).toEqual([]);
  });
});
