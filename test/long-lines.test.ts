import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Project } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

describe('output without newlines', () => {
  // Whether this stays linear (a 100 MB line took 100 s when every chunk rescanned the line so
  // far) is a measured figure, not a timing here: this checks the line arrives whole, in order.
  it('a long line split across many chunks reaches the log and the result whole', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
task('big', {
  run: async (ctx) => {
    const result = await ctx.exec('sh', ['-c', "head -c 3000000 /dev/zero | tr '\\\\0' a; printf '\\\\r\\\\nend\\\\r\\\\nlast'"]);
    ctx.log('length ' + result.stdout.length);
  },
});
`,
    });
    const result = await project.task(['big']);
    expect(result.exitCode).toBe(0);
    const [name] = readdirSync(project.path('.task/logs')).filter((n) => n.startsWith('big-'));
    const log = readFileSync(project.path('.task/logs', name as string), 'utf8').split('\n');
    expect(log[0]).toBe('a'.repeat(3_000_000));
    expect(log.slice(1)).toEqual(['end', 'last', `length ${3_000_000 + 2 + 3 + 2 + 4}`, '']);
  });
});
