/**
 * A task's definition is the code it runs: the module where its task() call stands and every
 * local module that module imports, transitively; packages by installed version. Real `task`
 * processes on a throwaway project whose tasks record themselves in runs.log.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project, RECORD } from './support/project.js';

/**
 * A task module: one task named `name` that records itself and calls `body`. It reads in.txt:
 * a task without inputs or outputs always runs, as in Rake.
 */
function taskModule(name: string, imports: string, body: string): string {
  return `import { task } from 'taskgraph';
import { record } from '../record.ts';
${imports}
task('${name}', { inputs: ['in.txt'], run: () => { record('${name}'); ${body}; } });
`;
}

const ALL = ['direct', 'indirect', 'alone', 'alone-too'];

describe('the definition covers the code a task runs', () => {
  let project: Project;

  beforeEach(async () => {
    project = new Project({
      'record.ts': RECORD,
      // Taskfile.ts only imports task modules: it defines nothing itself.
      'Taskfile.ts': `import './tasks/direct.ts';\nimport './tasks/indirect.ts';\nimport './tasks/alone.ts';\n`,
      'lib/helper.ts': `export const greeting = (name: string) => \`hello \${name}\`;\n`,
      'lib/middle.ts': `import { greeting } from './helper.ts';\nexport const shout = (name: string) => greeting(name).toUpperCase();\n`,
      'tasks/direct.ts': taskModule(
        'direct',
        `import { greeting } from '../lib/helper.ts';`,
        `greeting('a')`,
      ),
      'tasks/indirect.ts': taskModule(
        'indirect',
        `import { shout } from '../lib/middle.ts';`,
        `shout('b')`,
      ),
      'tasks/alone.ts': `import { task } from 'taskgraph';
import { record } from '../record.ts';
task('alone', { inputs: ['in.txt'], run: () => record('alone') });
task('alone-too', { inputs: ['in.txt'], run: () => record('alone-too') });
`,
      'in.txt': 'x',
    });
    const first = await project.task(ALL);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    expect(project.runs().sort()).toEqual([...ALL].sort());
    project.clearRuns();
    const again = await project.task(ALL);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(project.runs()).toEqual([]);
  });

  afterEach(() => project.remove());

  it('reruns exactly the tasks whose modules import an edited helper, directly or not', async () => {
    project.write('lib/helper.ts', project.read('lib/helper.ts').replace('hello', 'goodbye'));

    const result = await project.task(ALL);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(project.runs().sort()).toEqual(['direct', 'indirect']);
  });

  it('--explain names the module that changed, with its old and new hash', async () => {
    const before = await project.task(['--explain', 'indirect']);
    expect(before.stdout).toContain('indirect is up to date');
    project.write('lib/helper.ts', project.read('lib/helper.ts').replace('hello', 'goodbye'));

    const explained = await project.task(['--explain', 'indirect']);
    expect(explained.exitCode, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(
      /module lib\/helper\.ts: modified \([0-9a-f]{12} -> [0-9a-f]{12}\)/,
    );
    expect(explained.stdout).not.toContain('lib/middle.ts');
    expect(explained.stdout).not.toContain('tasks/indirect.ts');
  });

  it('-n names the changed module as the reason, not "inputs changed"', async () => {
    project.write('lib/helper.ts', project.read('lib/helper.ts').replace('hello', 'goodbye'));

    const dry = await project.task(['-n', 'indirect', 'alone']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /indirect\] would run: module lib\/helper\.ts: modified \([0-9a-f]{12} -> [0-9a-f]{12}\)\n/,
    );
    expect(dry.stdout).not.toContain('inputs changed');
    // --explain's headline does not repeat the reason its listing gives.
    const explained = await project.task(['--explain', 'indirect']);
    expect(explained.stdout).toContain('indirect would run: since its last successful run,\n');
  });

  it('reruns only the tasks defined in an edited task module', async () => {
    project.write('tasks/alone.ts', `${project.read('tasks/alone.ts')}const unused = 1;\n`);

    const result = await project.task(ALL);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(project.runs().sort()).toEqual(['alone', 'alone-too']);
  });

  it('reruns nothing when a Taskfile.ts that only imports task modules changes', async () => {
    project.write('Taskfile.ts', `// the pipeline\n${project.read('Taskfile.ts')}`);

    const result = await project.task(ALL);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(project.runs()).toEqual([]);
  });

  it('reruns nothing when a module no task module imports changes', async () => {
    project.write('lib/unused.ts', 'export const x = 1;\n');
    project.write('lib/helper.ts', project.read('lib/helper.ts'));

    const result = await project.task(ALL);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(project.runs()).toEqual([]);
  });
});

describe('a top-level constant of the Taskfile', () => {
  let project: Project;

  afterEach(() => project.remove());

  it('reruns the task whose run reads it when it changes, and rewrites the output', async () => {
    const taskfile = (greeting: string): string => `import { writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
const GREETING = '${greeting}';
task('out', { inputs: ['in.txt'], outputs: ['out.txt'], run: () => writeFileSync('out.txt', GREETING) });
`;
    project = new Project({ 'Taskfile.ts': taskfile('hello'), 'in.txt': 'x' });
    expect((await project.task(['out'])).exitCode).toBe(0);
    expect(project.read('out.txt')).toBe('hello');
    expect((await project.task(['out'])).stdout).toContain('[out] up to date');

    project.write('Taskfile.ts', taskfile('goodbye'));
    const result = await project.task(['out']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).not.toContain('[out] up to date');
    expect(project.read('out.txt')).toBe('goodbye');
  });
});

describe('packages', () => {
  let project: Project;

  /** An installed package: its version and its code, separately. */
  function install(version: string, code: string): void {
    project.write(
      'node_modules/greeter/package.json',
      JSON.stringify({ name: 'greeter', version, type: 'module', main: 'index.js' }),
    );
    project.write('node_modules/greeter/index.js', code);
  }

  beforeEach(async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
import { greet } from 'greeter';
import { record } from './record.ts';
task('greet', { inputs: ['in.txt'], run: () => record(greet('x')) });
`,
      'record.ts': RECORD,
      'in.txt': 'x',
    });
    install('1.0.0', `export const greet = (n) => 'hello ' + n;\n`);
    expect((await project.task(['greet'])).exitCode).toBe(0);
    expect(project.runs()).toEqual(['hello x']);
    project.clearRuns();
  });

  afterEach(() => project.remove());

  it('count by installed version: an upgrade reruns, and --explain names the package', async () => {
    install('1.1.0', `export const greet = (n) => 'hi ' + n;\n`);

    const explained = await project.task(['--explain', 'greet']);
    expect(explained.stdout).toContain('package greeter: 1.0.0 -> 1.1.0');
    const result = await project.task(['greet']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(project.runs()).toEqual(['hi x']);
  });

  it("count by version only, not by their files' content", async () => {
    install('1.0.0', `export const greet = (n) => 'hello ' + n; // patched in place\n`);

    const result = await project.task(['greet']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(project.runs()).toEqual([]);
  });
});
