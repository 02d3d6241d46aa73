import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Project, REPO } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

// The pipeline's shape: one namespace per environment file, each imported and validated.
const TASKFILE = `import { disableNamespace, namespace, task } from 'taskgraph';
for (const name of ['good', 'qa']) {
  try {
    const env = (await import(\`./environments/\${name}.ts\`)).default as { name: string };
    namespace(name, () => task('render', { desc: 'render', run: (ctx) => ctx.log('render ' + env.name) }));
  } catch (error) {
    disableNamespace(name, error);
  }
}
task('other', { desc: 'other', run: (ctx) => ctx.log('other ran') });
`;

describe('a broken environment file', () => {
  it('disables its own namespace, says why once, and leaves every other task working', async () => {
    project = new Project({
      'Taskfile.ts': TASKFILE,
      'environments/good.ts': `export default { name: 'good' };\n`,
      'environments/qa.ts': `import { defineEnvironment } from '${REPO}/src/environment.ts';\n\nexport default defineEnvironment('qa', { kind: 'ecs' } as never);\n`,
    });
    // zod, which src/environment.ts imports, from the repository's install.
    symlinkSync(join(REPO, 'node_modules'), project.path('node_modules'));
    const other = await project.task(['other']);
    expect(other.exitCode).toBe(0);
    expect(other.stdout).toContain('[other] other ran');
    const warnings = other.stderr.split('\n').filter((line) => line.startsWith('task: '));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^task: warning: namespace qa is disabled: environments\/qa\.ts:3:16: environments\/qa\.ts: /,
    );

    const list = await project.task(['-T']);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toContain('task good:render');
    expect(list.stdout).not.toContain('qa:render');

    expect((await project.task(['good:render'])).exitCode).toBe(0);
    const broken = await project.task(['qa:render']);
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toContain(
      'no task named "qa:render": namespace qa is disabled, since defining it failed (see above)',
    );
  });

  // Node rejects the import() of a module that does not parse or imports what does not exist;
  // the bundle must do the same rather than fail the whole Taskfile.
  it.each([
    [
      'a syntax error',
      `export default { name: 'qa' };\nconst x: number = ;\n`,
      'environments/qa.ts:2:19: Unexpected ";"',
    ],
    [
      'a missing relative import',
      `import './nonexistent.ts';\nexport default { name: 'qa' };\n`,
      'environments/qa.ts:1:8: Could not resolve "./nonexistent.ts"',
    ],
    [
      'a missing package',
      `// qa\nimport 'no-such-package-x';\nexport default { name: 'qa' };\n`,
      "environments/qa.ts:2:1: Cannot find package 'no-such-package-x': install it, or fix the import",
    ],
  ])('with %s disables its own namespace, located in the file', async (_, qa, why) => {
    project = new Project({
      'Taskfile.ts': TASKFILE,
      'environments/good.ts': `export default { name: 'good' };\n`,
      'environments/qa.ts': qa,
    });
    for (const args of [['-T'], ['good:render'], ['other']]) {
      const result = await project.task(args);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr.split('\n').filter((line) => line.startsWith('task: '))).toEqual([
        `task: warning: namespace qa is disabled: ${why}`,
      ]);
      expect(result.stderr).not.toContain('.task/cache');
    }
    // Fixed, the namespace is back without a stale bundle in the way.
    project.write('environments/qa.ts', `export default { name: 'qa' };\n`);
    const fixed = await project.task(['qa:render']);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('render qa');
  });

  it('imported statically by the Taskfile still fails the load, located', async () => {
    project = new Project({
      'Taskfile.ts': `import './environments/qa.ts';\n${TASKFILE}`,
      'environments/good.ts': `export default { name: 'good' };\n`,
      'environments/qa.ts': `export default { name: 'qa' };\nconst x: number = ;\n`,
    });
    const result = await project.task(['-T']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(
      /environments\/qa\.ts:2:19: Unexpected ";"\n {4}const x: number = ;/,
    );
  });
});
