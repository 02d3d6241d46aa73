import { afterEach, describe, expect, it } from 'vitest';
import { Project } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

describe('-q/--quiet', () => {
  it("prints only the tasks' own output: no prefixes, progress or summary", async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
task('prep', { run: (ctx) => ctx.exec('sh', ['-c', 'echo to-stderr >&2']) });
task('config', { deps: ['prep'], run: (ctx) => ctx.log('{"a": 1}') });
task('broken', { run: () => { throw new Error('no config'); } });
`,
    });
    for (const flag of ['-q', '--quiet']) {
      const result = await project.task([flag, 'config']);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toBe('{"a": 1}');
      expect(JSON.parse(result.stdout)).toEqual({ a: 1 });
      expect(result.stderr).toBe('to-stderr');
    }
    const failed = await project.task(['-q', 'broken']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toBe('task: ✖ broken: Taskfile.ts:4:37: no config');
  });
});
