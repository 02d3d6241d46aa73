/**
 * -n and --explain tell the truth: after each kind of change, the set of tasks `-n` says would
 * run is exactly the set the run then runs, and --explain lists every changed ingredient without
 * sending the user to the command they just ran.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project } from './support/project.js';

/**
 * hello always runs (no inputs or outputs) and changes nothing its dependents hash; gen makes a
 * file from src/*.txt and MODE; build reads gen's file and build.cfg; pack reads build's.
 */
const TASKFILE = `import { task } from 'taskgraph';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
task('hello', { run: (ctx) => ctx.log('hello') });
task('gen', {
  inputs: ['src/*.txt'],
  env: ['MODE'],
  outputs: ['out/gen.txt'],
  run: () => {
    mkdirSync('out', { recursive: true });
    const text = readdirSync('src').sort().map((f) => readFileSync('src/' + f, 'utf8')).join('+');
    writeFileSync('out/gen.txt', text + (process.env.MODE ?? ''));
  },
});
task('build', {
  deps: ['hello', 'gen'],
  inputs: ['build.cfg', 'out/gen.txt'],
  outputs: ['out/build.txt'],
  run: () => writeFileSync('out/build.txt', readFileSync('out/gen.txt', 'utf8').toUpperCase()),
});
task('pack', {
  deps: ['build'],
  outputs: ['out/pack.txt'],
  run: () => writeFileSync('out/pack.txt', '[' + readFileSync('out/build.txt', 'utf8') + ']'),
});
task('default', { deps: ['pack'] });
`;

interface End {
  type: string;
  key: string;
  status: string;
}

let project: Project;
beforeAll(async () => {
  project = new Project({
    'Taskfile.ts': TASKFILE,
    'src/a.txt': 'alpha',
    'src/b.txt': 'bravo',
    'build.cfg': 'level=1',
  });
  expect((await project.task([])).exitCode).toBe(0);
});
afterAll(() => project.remove());

/** The tasks a run (or a dry run) ended with `status`, sorted. */
async function ended(args: string[], status: string, env: Record<string, string>) {
  const result = await project.task([...args, '--json'], env);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as End)
    .filter((event) => event.type === 'end' && event.status === status)
    .map((event) => event.key)
    .sort();
}

/** Each mutation, then what must run (`-n` predicts it, and the run does exactly that). */
const MUTATIONS: [string, () => void | Promise<void>, string[], Record<string, string>?][] = [
  ['nothing changed (hello always runs)', () => {}, ['hello']],
  [
    'an input edited',
    () => project.write('src/a.txt', 'ALPHA'),
    ['build', 'default', 'gen', 'hello', 'pack'],
  ],
  [
    'an input added',
    () => project.write('src/c.txt', 'charlie'),
    ['build', 'default', 'gen', 'hello', 'pack'],
  ],
  [
    'an input deleted',
    () => rmSync(project.path('src/c.txt')),
    ['build', 'default', 'gen', 'hello', 'pack'],
  ],
  [
    "a dependent's own input edited",
    () => project.write('build.cfg', 'level=2'),
    ['build', 'default', 'hello', 'pack'],
  ],
  [
    'an output deleted (remade the same)',
    () => rmSync(project.path('out/gen.txt')),
    ['gen', 'hello'],
  ],
  [
    'an output edited (remade the same)',
    () => project.write('out/build.txt', 'edited'),
    ['build', 'hello'],
  ],
  ['an env var changed', () => {}, ['build', 'default', 'gen', 'hello', 'pack'], { MODE: 'x' }],
  ['a record forgotten (remade the same)', () => {}, ['gen', 'hello'], { MODE: 'x' }],
  [
    'the definition edited',
    () => project.write('Taskfile.ts', `${TASKFILE}// edited\n`),
    ['build', 'default', 'gen', 'hello', 'pack'],
  ],
  [
    'an edit undone after only its task ran (remade as its dependents last saw it)',
    async () => {
      const before = project.read('src/a.txt');
      project.write('src/a.txt', 'edited, then undone');
      expect((await project.task(['gen'])).exitCode).toBe(0);
      project.write('src/a.txt', before);
    },
    ['gen', 'hello'],
  ],
];

describe('-n predicts exactly what the run does', () => {
  for (const [what, mutate, expected, env = {}] of MUTATIONS) {
    it(what, async () => {
      await mutate();
      if (what.startsWith('a record forgotten')) await project.task(['--forget', 'gen']);
      const predicted = await ended(['-n'], 'would-run', env);
      const ran = await ended([], 'ran', env);
      expect({ predicted, ran }).toEqual({ predicted: expected, ran: expected });
      // And the dry run changed nothing: now everything but hello is up to date.
      expect(await ended(['-n'], 'would-run', env)).toEqual(['hello']);
    });
  }
});

describe('--explain', () => {
  it('lists every changed ingredient, and never says to run --explain', async () => {
    project.write('build.cfg', 'level=3');
    project.write('src/a.txt', 'alpha again');
    const result = await project.task(['--explain', 'build']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^build would run: dependency gen would run, and what it makes/);
    expect(result.stdout).toMatch(/input build\.cfg: modified \([0-9a-f]{12} -> [0-9a-f]{12}\)/);
    expect(result.stdout).toMatch(/dependency gen changed \([0-9a-f]{12} -> unknown\)/);
    expect(result.stdout).not.toContain('--explain');
  });

  it('a dependency that always runs but changes nothing is not a reason', async () => {
    await project.task([]);
    project.write('build.cfg', 'level=4');
    const result = await project.task(['--explain', 'build']);
    expect(result.stdout).toMatch(
      /^build would run: since its last successful run,\n {2}input build\.cfg: modified/,
    );
    expect(result.stdout).not.toContain('hello');
  });
});
