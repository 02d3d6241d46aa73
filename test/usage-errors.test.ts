import { afterEach, describe, expect, it } from 'vitest';
import { Project } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

const TASKFILE = `import { task } from 'taskgraph';
task('hello', { run: (ctx) => ctx.log('hello') });
`;

/** Quotes in a message come in pairs: a half-quoted hint reads as a broken message. */
function balanced(text: string): boolean {
  return [`'`, `"`, '`'].every((quote) => text.split(quote).length % 2 === 1);
}

describe('usage errors', () => {
  it('an unknown option names the nearest one, with balanced quotes', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    const typo = await project.task(['--jbos', '2', 'hello']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('unknown option --jbos; did you mean --jobs?');
    expect(balanced(typo.stderr)).toBe(true);
    const own = await project.task(['--grph']);
    expect(own.stderr).toContain('did you mean --graph?');
    const short = await project.task(['-x']);
    expect(short.exitCode).toBe(2);
    expect(short.stderr).toContain('unknown option -x');
    expect(balanced(short.stderr)).toBe(true);
  });

  it('--graph with an unknown format is a usage error listing the formats', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    for (const args of [['--graph', 'svg'], ['--graph=svg']]) {
      const result = await project.task(args);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(
        '--graph: unknown format "svg"; the formats are mermaid, dot',
      );
      expect(result.stderr).not.toContain('no task named');
    }
    // A task's name after a bare --graph still graphs that task.
    const graph = await project.task(['--graph', 'hello']);
    expect(graph.exitCode).toBe(0);
    expect(graph.stdout).toContain('["hello"]');
  });

  it('-C takes an absolute path as it is, and says when the folder is missing', async () => {
    project = new Project({
      'Taskfile.ts': TASKFILE,
      'sub/Taskfile.ts': TASKFILE.replace("'hello'", "'sub'"),
    });
    // Run from elsewhere: a path joined onto the cwd would not exist.
    const absolute = await project.task(['-C', project.path('sub'), '-T', '--all']);
    expect(absolute.exitCode).toBe(0);
    expect(absolute.stdout).toContain('task sub');
    const missing = await project.task(['-C', project.path('nowhere'), 'hello']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`-C: no directory ${project.path('nowhere')}`);
  });
});
