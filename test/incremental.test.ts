import { existsSync, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project, RECORD } from './support/project.js';

// One task that reads src/**, a var, an env var and an arg, and writes build/out.txt; a dependent.
const TASKFILE = `
import { readdirSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
import { record } from './record.ts';
import { settings } from './settings.ts';

task('build', {
  inputs: ['src/**'],
  outputs: ['build/out.txt'],
  env: ['GREETING'],
  vars: { settings },
  args: ['flavour'],
  run: (ctx) => {
    record('build');
    mkdirSync('build', { recursive: true });
    const files = readdirSync('src').sort().map((f) => f + ':' + readFileSync('src/' + f, 'utf8'));
    writeFileSync('build/out.txt', files.join(',') + (ctx.args.flavour ?? ''));
  },
});

task('package', {
  deps: ['build'],
  inputs: ['build/out.txt'],
  outputs: ['build/package.txt'],
  run: () => {
    record('package');
    writeFileSync('build/package.txt', readFileSync('build/out.txt', 'utf8').toUpperCase());
  },
});
`;

describe('incrementality', () => {
  let project: Project;

  beforeEach(async () => {
    project = new Project({
      'Taskfile.ts': TASKFILE,
      'record.ts': RECORD,
      'settings.ts': `export const settings = { image: 'app', replicas: 2 };\n`,
      'src/a.txt': 'alpha',
      'src/b.txt': 'beta',
    });
    const first = await project.task(['package']);
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    expect(project.runs()).toEqual(['build', 'package']);
    project.clearRuns();
  });

  afterEach(() => project.remove());

  it('skips every task when nothing changed', async () => {
    const result = await project.task(['package']);
    expect(result.exitCode).toBe(0);
    expect(project.runs()).toEqual([]);
    expect(result.stdout).toContain('[build] up to date');
    expect(result.stdout).toContain('[package] up to date');
  });

  it('reruns after an input file is edited, and the dependent too', async () => {
    project.write('src/a.txt', 'ALPHA');
    await project.task(['package']);
    expect(project.runs()).toEqual(['build', 'package']);
  });

  it('reruns after an input file is added or deleted', async () => {
    project.write('src/c.txt', 'gamma');
    await project.task(['package']);
    expect(project.runs()).toEqual(['build', 'package']);
    project.clearRuns();
    rmSync(project.path('src/c.txt'));
    await project.task(['package']);
    expect(project.runs()).toEqual(['build', 'package']);
  });

  it('reruns after a rename that keeps the content', async () => {
    renameSync(project.path('src/b.txt'), project.path('src/z.txt'));
    await project.task(['build']);
    expect(project.runs()).toEqual(['build']);
  });

  it('skips after touch without a content change', async () => {
    const future = new Date(Date.now() + 60_000);
    utimesSync(project.path('src/a.txt'), future, future);
    await project.task(['package']);
    expect(project.runs()).toEqual([]);
  });

  it('reruns when a declared env var changes, and not for an undeclared one', async () => {
    await project.task(['package'], { UNRELATED: 'x' });
    expect(project.runs()).toEqual([]);
    await project.task(['build'], { GREETING: 'hello' });
    expect(project.runs()).toEqual(['build']);
  });

  it('reruns when a var changes', async () => {
    project.write('settings.ts', `export const settings = { image: 'app', replicas: 3 };\n`);
    const result = await project.task(['build']);
    expect(project.runs()).toEqual(['build']);
    expect(result.exitCode).toBe(0);
  });

  it('reruns when an arg changes, and runs both variants in one invocation', async () => {
    await project.task(['build[x]']);
    expect(project.runs()).toEqual(['build']);
    project.clearRuns();
    await project.task(['build[y]', 'build[z]', '-j', '1']);
    expect(project.runs()).toEqual(['build', 'build']);
    project.clearRuns();
    await project.task(['build', '--', '--flavour=x']);
    expect(project.runs()).toEqual(['build']);
  });

  it('reruns when the run function changes, or only a comment in its module', async () => {
    // The definition is the module's source, comments included (correctness first: README).
    project.write('Taskfile.ts', TASKFILE.replace(`record('build');`, `record('build'); // note`));
    await project.task(['build']);
    expect(project.runs()).toEqual(['build']);
    project.clearRuns();
    project.write(
      'Taskfile.ts',
      TASKFILE.replace(`(ctx.args.flavour ?? '')`, `(ctx.args.flavour ?? '-')`),
    );
    await project.task(['build']);
    expect(project.runs()).toEqual(['build']);
  });

  it('reruns a task whose output was deleted or edited', async () => {
    rmSync(project.path('build/package.txt'));
    await project.task(['package']);
    expect(project.runs()).toEqual(['package']);
    project.clearRuns();
    writeFileSync(project.path('build/out.txt'), 'tampered');
    await project.task(['package']);
    expect(project.runs()).toEqual(['build']);
  });

  it('reruns a dependent when a dependency produced different output', async () => {
    project.write('src/a.txt', 'changed');
    const result = await project.task(['package', '--json']);
    const ends = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; key?: string; status?: string })
      .filter((e) => e.type === 'end');
    expect(ends.map((e) => [e.key, e.status])).toEqual([
      ['build', 'ran'],
      ['package', 'ran'],
    ]);
  });

  it('--force reruns up-to-date tasks and --forget drops their records', async () => {
    await project.task(['-B', 'build']);
    expect(project.runs()).toEqual(['build']);
    project.clearRuns();
    const forget = await project.task(['--forget', 'build']);
    expect(forget.stdout).toContain('forgot build');
    await project.task(['package']);
    expect(project.runs()).toEqual(['build']);
  });

  it('--explain names the changed input with old and new hashes', async () => {
    project.write('src/b.txt', 'BETA');
    const result = await project.task(['--explain', 'build']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/build would run: since its last successful run,/);
    expect(result.stdout).not.toContain('--explain'); // never "run the command you just ran"
    expect(result.stdout).toMatch(/input src\/b\.txt: modified \([0-9a-f]{12} -> [0-9a-f]{12}\)/);
    const env = await project.task(['--explain', 'build'], { GREETING: 'x' });
    expect(env.stdout).toContain('env GREETING: (unset) -> ');
    expect(project.runs()).toEqual([]);
  });

  it('applies the journal a killed run left, whole lines only, in either format', async () => {
    const path = project.path('.task/state/records.json');
    const records = recordsOnDisk(project);
    rmSync(path);
    // As a run killed before compaction leaves it: build's line whole, package's cut short.
    const line = JSON.stringify(records.package);
    writeFileSync(
      project.path('.task/state/journal.jsonl'),
      `\n${JSON.stringify(records.build)}\n${line.slice(0, line.length / 2)}`,
    );
    expect((await project.task(['build'])).exitCode).toBe(0);
    expect(project.runs()).toEqual([]);
    const rerun = await project.task(['package']);
    expect(rerun.stderr).toBe('');
    expect(project.runs()).toEqual(['package']);

    // An earlier version's journal, a file per record, is read too (and folded away).
    project.clearRuns();
    const folded = recordsOnDisk(project);
    rmSync(path);
    mkdirSync(project.path('.task/state/journal'));
    writeFileSync(
      project.path('.task/state/journal/package-0.json'),
      JSON.stringify(folded.package),
    );
    expect((await project.task(['package'])).exitCode).toBe(0);
    expect(project.runs()).toEqual(['build']);
    expect(existsSync(project.path('.task/state/journal'))).toBe(false);
  });

  it("reads an earlier version's records.json (an object of records by key)", async () => {
    const records = recordsOnDisk(project);
    writeFileSync(
      project.path('.task/state/records.json'),
      JSON.stringify({ version: 2, records }),
    );
    const result = await project.task(['package']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toBe('');
    expect(project.runs()).toEqual([]);
    // Rewritten in the current layout once something ran (and the old records kept).
    project.write('src/b.txt', 'BETA');
    expect((await project.task(['build'])).exitCode).toBe(0);
    expect(project.read('.task/state/records.json')).toMatch(/^\{"version":3,"records":\[\[/);
    expect(Object.keys(recordsOnDisk(project)).sort()).toEqual(['build', 'package']);
  });

  it('hands a task the outputs of an up-to-date dependency as a plain object', async () => {
    project.write(
      'Taskfile.ts',
      `${TASKFILE}
task('check', {
  deps: ['build'],
  run: (ctx) => {
    const { outputs } = ctx.deps.build;
    if (!outputs.hasOwnProperty('file:build/out.txt')) throw new Error('no output digest');
    ctx.log('outputs: ' + String(Object.keys(outputs)));
  },
});
`,
    );
    expect((await project.task(['check'])).exitCode).toBe(0); // build reruns: its module changed
    const result = await project.task(['check']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('[build] up to date');
    expect(result.stdout).toContain('outputs: file:build/out.txt');
  });

  it('a journalled record without an outputs object is ignored, not fatal to the fold', async () => {
    const records = recordsOnDisk(project);
    rmSync(project.path('.task/state/records.json'));
    // records.json as a journal, then a corrupt record of package (a task this run does not run).
    const lines = [records.build, records.package, { ...records.package, outputs: null }];
    writeFileSync(
      project.path('.task/state/journal.jsonl'),
      lines.map((line) => JSON.stringify(line)).join('\n') + '\n',
    );
    project.write('src/b.txt', 'BETA'); // so that build runs, journals and folds
    const result = await project.task(['build']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toContain('ignoring an unreadable line');
    expect(project.runs()).toEqual(['build']);
    project.clearRuns();
    const again = await project.task(['package']);
    expect(again.exitCode, again.stdout + again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    expect(project.runs()).toEqual(['package']);
  });

  it('a corrupt state file warns and reruns', async () => {
    writeFileSync(project.path('.task/state/records.json'), '{ torn');
    const result = await project.task(['build']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('ignoring unreadable state');
    expect(project.runs()).toEqual(['build']);
  });
});

/** records.json's records by key, each as a journal line holds it (state.ts's TaskRecord). */
function recordsOnDisk(project: Project): Record<string, object> {
  const { records } = JSON.parse(project.read('.task/state/records.json')) as {
    records: [string, string, string, string[], string][];
  };
  return Object.fromEntries(
    records.map(([key, task, fingerprint, pairs, finishedAt]) => {
      const outputs: Record<string, string> = {};
      for (let i = 0; i < pairs.length; i += 2)
        outputs[pairs[i] as string] = pairs[i + 1] as string;
      return [key, { version: 2, key, task, fingerprint, outputs, finishedAt }];
    }),
  );
}
