import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Project, REPO } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

// The failing expression is on line 5, column 41 of tasks/pkg.ts (`version`).
const PKG = `import { task } from 'taskgraph';

const pkg: { info?: { version: string } } = {};
export function define(): void {
  task('a', { run: () => void pkg.info!.version });
}
`;

describe('located errors', () => {
  it("an exception in a task names the user's file:line, not the bundle; --trace and the log keep the stack", async () => {
    project = new Project({
      'Taskfile.ts': `import { define } from './tasks/pkg.ts';\ndefine();\n`,
      'tasks/pkg.ts': PKG,
    });
    const result = await project.task(['a']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      "✖ a: tasks/pkg.ts:5:41: Cannot read properties of undefined (reading 'version')",
    );
    expect(result.stdout + result.stderr).not.toMatch(/\.task\/cache|\.mjs|cli\.bundle/);
    const log = /full log: (\.task\/logs\/a-[0-9a-f]+\.log)/.exec(result.stdout)?.[1];
    expect(log).toBeDefined();
    const logText = readFileSync(project.path(log as string), 'utf8');
    expect(logText).toContain('at Object.run (tasks/pkg.ts:5:41)');

    const traced = await project.task(['a', '--trace']);
    expect(traced.exitCode).toBe(1);
    expect(traced.stdout).toContain('at Object.run (tasks/pkg.ts:5:41)');
  });

  it("an environment file's error names environments/qa.ts:LINE and ends with no engine frame", async () => {
    project = new Project({
      'Taskfile.ts': `import qa from './environments/qa.ts';\nimport { task } from 'taskgraph';\ntask('x', { vars: { qa } });\n`,
      'environments/qa.ts': `import { defineEnvironment } from '${REPO}/src/environment.ts';\n\nexport default defineEnvironment('qa', { kind: 'ecs' } as never);\n`,
    });
    // zod, which src/environment.ts imports, from the repository's install.
    symlinkSync(join(REPO, 'node_modules'), project.path('node_modules'));
    const result = await project.task(['x']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('environments/qa.ts');
    expect(result.stderr.trimEnd().split('\n').at(-1)).toBe('    at environments/qa.ts:3:16');
    expect(result.stderr).not.toMatch(/chunk-|\.mjs|validateEnvironment/);
  });
});
