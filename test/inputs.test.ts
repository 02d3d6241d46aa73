import { afterEach, describe, expect, it } from 'vitest';
import { Project, RECORD } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

describe('inputs that match nothing', () => {
  it('a literal input that does not exist fails the task, every run, naming the nearest file', async () => {
    project = new Project({
      'record.ts': RECORD,
      'package.json': '{}',
      'Taskfile.ts': `import { task } from 'taskgraph';
import { record } from './record.ts';
task('b', { inputs: ['package.jsn'], outputs: ['out.txt'], run: () => record('b') });
`,
    });
    for (let run = 0; run < 2; run++) {
      const result = await project.task(['b']);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain(
        "✖ b: input package.jsn does not exist (did you mean package.json?); create it, or fix the task's inputs",
      );
    }
    expect(project.runs()).toEqual([]);
  });

  it('an input that exists but an exclude of the same task removes says so, not "does not exist"', async () => {
    project = new Project({
      'record.ts': RECORD,
      'example/app.php': '<?php',
      'example/.dockerignore': 'vendor/\n',
      'Taskfile.ts': `import { task } from 'taskgraph';
import { record } from './record.ts';
task('b', {
  inputs: ['example/**', '!example/.*', 'example/.dockerignore'],
  run: () => record('b'),
});
`,
    });
    const result = await project.task(['b']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      "✖ b: input example/.dockerignore exists, but the same task's exclude pattern !example/.* removes it; narrow that pattern, or drop the input",
    );
    expect(result.stdout).not.toContain('did you mean example/.dockerignore');
    expect(project.runs()).toEqual([]);
  });

  it('a glob that matches no file is a warning naming the task and the pattern, once per run', async () => {
    project = new Project({
      'record.ts': RECORD,
      'src/a.ts': 'a',
      'Taskfile.ts': `import { task } from 'taskgraph';
import { record } from './record.ts';
task('g', { args: ['n'], inputs: ['src/**/*.zz'], run: () => record('g') });
task('two', { inputs: ['src/**/*.ts', 'src/**/*.zz'], run: () => record('two') });
task('fine', { inputs: ['src/**/*.ts', 'src'], run: () => record('fine') });
task('all', { deps: ['g[1]', 'g[2]', 'two', 'fine'] });
`,
    });
    for (let run = 0; run < 2; run++) {
      const result = await project.task(['all']);
      expect(result.exitCode).toBe(0);
      const warnings = result.stdout.split('\n').filter((line) => line.startsWith('warning:'));
      expect(warnings.sort()).toEqual([
        'warning: task g: input src/**/*.zz matches no file',
        'warning: task two: input src/**/*.zz matches no file',
      ]);
    }
    expect(project.runs().sort()).toEqual(['fine', 'g', 'g', 'two']);
  });
});
