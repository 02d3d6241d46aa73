/**
 * The lock only where runs would collide: read-only commands and tasks never wait, runs whose
 * plans share no task go side by side, runs that share one wait for it, and two runs journalling
 * at once both keep their records.
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Project, RECORD } from './support/project.js';
import { waitFor } from './support/wait.js';
import { IDLE, Watching } from './support/watching.js';

let project: Project;
let watching: Watching | undefined;
afterEach(async () => {
  await watching?.close();
  watching = undefined;
  project.remove();
});

/** `deploy` holds its lock until `release` exists; `render` is quick, with an input and output. */
const TASKFILE = `import { task } from 'taskgraph';
import { existsSync, writeFileSync } from 'node:fs';
import { record } from './record.ts';
const hold = async (name: string) => {
  writeFileSync(name + '.started', '');
  while (!existsSync('release')) await new Promise((r) => setTimeout(r, 20));
};
task('render', { inputs: ['in.txt'], outputs: ['out.txt'], run: () => { record('render'); writeFileSync('out.txt', 'x'); } });
task('deploy', { deps: ['render'], run: () => hold('deploy') });
task('status', { readOnly: true, inputs: ['in.txt'], run: () => record('status') });
task('diff', { readOnly: true, deps: ['render'], run: () => record('diff') });
task('other', { run: () => record('other') });
task('after', { deps: ['deploy'], run: () => record('after') });
`;

/**
 * x invokes shared, which holds until \`release\` exists. \`task hx\` and \`task hy\`: once both
 * have started, each invokes the other's task, held by the other run and blocked in the same
 * invoke: a deadlock. (The run left then runs the other task, which no longer invokes.)
 */
const INVOKING = `import { task } from 'taskgraph';
import type { TaskContext } from 'taskgraph';
import { existsSync, writeFileSync } from 'node:fs';
import { record } from './record.ts';
const until = async (path: string) => {
  while (!existsSync(path)) await new Promise((r) => setTimeout(r, 20));
};
task('shared', { run: async () => { record('shared'); writeFileSync('shared.started', ''); await until('release'); } });
task('x', { run: async (ctx) => { await ctx.invoke('shared'); record('x'); } });
// Says what its invoke failed with, for a Taskfile that catches it.
task('y', { run: async (ctx) => ctx.invoke('shared').catch((error: Error) => record(error.message)) });
// Each invokes the other's task once, while the other run holds it blocked in the same way.
const meet = (own: string, other: string) => async (ctx: TaskContext) => {
  const again = existsSync(own + '.started');
  writeFileSync(own + '.started', '');
  if (again) return;
  await until(other + '.started');
  await ctx.invoke(other);
};
task('hx', { run: meet('hx', 'hy') });
task('hy', { run: meet('hy', 'hx') });
`;

describe('the lock', () => {
  it('read-only commands and tasks never wait for a run, even one holding their deps', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'record.ts': RECORD, 'in.txt': 'a' });
    const deploy = project.spawn(['deploy']);
    await waitFor(() => existsSync(project.path('deploy.started')));
    for (const args of [['status'], ['diff'], ['-n', 'deploy'], ['--explain', 'deploy'], ['-T']]) {
      const result = await project.task([...args, '--no-wait']);
      expect({ args, code: result.exitCode, stderr: result.stderr }).toEqual({
        args,
        code: 0,
        stderr: '',
      });
    }
    // A read-only task is never recorded: it runs whenever asked, its input unchanged.
    expect((await project.task(['status'])).stdout).toContain('[status] done');
    project.write('release', '');
    expect((await deploy).exitCode).toBe(0);
    expect(project.runs()).toEqual(['render', 'status', 'diff', 'status']);
  });

  it('runs whose plans share no task go side by side; one that shares a task waits for it', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'record.ts': RECORD, 'in.txt': 'a' });
    const deploy = project.spawn(['deploy']);
    await waitFor(() => existsSync(project.path('deploy.started')));
    expect((await project.task(['other', '--no-wait'])).exitCode).toBe(0);
    const refused = await project.task(['after', '--no-wait']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(
      /another task run \(pid \d+\) holds the lock on deploy; try again when it finishes/,
    );
    const waiting = project.spawn(['after']);
    let stderr = '';
    waiting.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes('waiting for another task run'));
    expect(stderr).toMatch(/waiting for another task run \(pid \d+\), which holds deploy/);
    expect(project.runs()).not.toContain('after');
    project.write('release', '');
    expect((await deploy).exitCode).toBe(0);
    expect((await waiting).exitCode).toBe(0);
    expect(project.runs()).toEqual(['render', 'other', 'after']);
  });

  it('two runs journalling side by side both keep their records', async () => {
    const many = Array.from({ length: 12 }, (_, i) => i);
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
import { writeFileSync } from 'node:fs';
for (const side of ['a', 'b']) {
  for (const i of ${JSON.stringify(many)}) {
    task(side + i, { inputs: ['in.txt'], outputs: ['out/' + side + i], run: async () => {
      await new Promise((r) => setTimeout(r, side === 'a' ? 100 : 150));
      writeFileSync('out/' + side + i, 'x');
    } });
  }
  task(side, { deps: ${JSON.stringify(many)}.map((i) => side + i) });
}
`,
      'in.txt': 'x',
      'out/.keep': '',
    });
    const [a, b] = await Promise.all([
      project.task(['a', '-j', '2']),
      project.task(['b', '-j', '2']),
    ]);
    expect([a.exitCode, b.exitCode]).toEqual([0, 0]);
    const again = await project.task(['a', 'b']);
    expect(again.stdout).toContain('0 ran, 26 up to date');
  });

  it('readOnly as a function of the args: a dry run takes no lock, the real run does', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
import { existsSync, readdirSync } from 'node:fs';
import { record } from './record.ts';
task('ship', {
  args: ['dry-run'],
  readOnly: (args) => args['dry-run'] === 'true',
  run: async (ctx) => {
    record('ship ' + (ctx.args['dry-run'] ?? 'real'));
    while (!existsSync('release')) await new Promise((r) => setTimeout(r, 20));
  },
});
`,
      'record.ts': RECORD,
    });
    const started = (count: number) => () => project.runs().length === count;
    const first = project.spawn(['ship[true]']);
    await waitFor(started(1));
    // Another dry run while the first still runs: neither holds a lock the other wants.
    const second = project.spawn(['ship[true]', '--no-wait']);
    await waitFor(started(2));
    const real = project.spawn(['ship']);
    await waitFor(started(3));
    const refused = await project.task(['ship', '--no-wait']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/another task run \(pid \d+\) holds the lock on ship;/);
    project.write('release', '');
    expect([(await first).exitCode, (await second).exitCode, (await real).exitCode]).toEqual([
      0, 0, 0,
    ]);
    expect(project.runs()).toEqual(['ship true', 'ship true', 'ship real']);
  });

  it('a readOnly function that returns no boolean is a Taskfile error naming the task', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
task('ship', { args: ['mode'], readOnly: (args) => args.mode as unknown as boolean, run: () => {} });
`,
    });
    const result = await project.task(['ship[fast]']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      'task ship: its readOnly function returned "fast", not true or false (planning ship[mode=fast])',
    );
  });

  it('a task reached through ctx.invoke is claimed: a direct run of it waits, or fails with --no-wait', async () => {
    project = new Project({ 'Taskfile.ts': INVOKING, 'record.ts': RECORD });
    const invoker = project.spawn(['x']);
    await waitFor(() => existsSync(project.path('shared.started')));
    const refused = await project.task(['shared', '--no-wait']);
    expect(refused.exitCode, refused.stdout).toBe(1);
    expect(refused.stderr).toMatch(
      /another task run \(pid \d+\) holds the lock on shared; try again when it finishes/,
    );
    const waiting = project.spawn(['shared']);
    let stderr = '';
    waiting.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes('waiting for another task run'));
    project.write('release', '');
    expect((await invoker).exitCode).toBe(0);
    expect((await waiting).exitCode).toBe(0);
    // Never both at once: the waiting run ran it after the invoker's had ended.
    expect(project.runs()).toEqual(['shared', 'x', 'shared']);
  });

  it('watch mode claims a task reached through ctx.invoke: a direct run of it fails with --no-wait', async () => {
    project = new Project({ 'Taskfile.ts': INVOKING, 'record.ts': RECORD });
    watching = new Watching(project, ['x']);
    await waitFor(() => existsSync(project.path('shared.started')));
    const refused = await project.task(['shared', '--no-wait']);
    expect(refused.exitCode, refused.stdout).toBe(1);
    expect(refused.stderr).toMatch(
      /another task run \(pid \d+\) holds the lock on shared; try again when it finishes/,
    );
    project.write('release', '');
    await watching.until(IDLE);
    // Between the watcher's runs nothing stays claimed: the direct run goes through.
    expect((await project.task(['shared', '--no-wait'])).exitCode).toBe(0);
    expect(project.runs()).toEqual(['shared', 'x', 'shared']);
  });

  it('Ctrl-C while an invoke waits for a lock ends it as a cancellation, not a lock conflict', async () => {
    project = new Project({ 'Taskfile.ts': INVOKING, 'record.ts': RECORD });
    const holder = project.spawn(['shared']);
    await waitFor(() => existsSync(project.path('shared.started')));
    const invoker = project.spawn(['y']);
    let stderr = '';
    invoker.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => stderr.includes('waiting for another task run'));
    invoker.kill('SIGINT');
    expect((await invoker).exitCode).toBe(130);
    expect(project.runs()).toEqual([
      'shared',
      'invoked task shared failed: cancelled (interrupted)',
    ]);
    project.write('release', '');
    expect((await holder).exitCode).toBe(0);
  });

  it('two runs each invoking what the other holds: one fails naming the deadlock, none hangs', async () => {
    project = new Project({ 'Taskfile.ts': INVOKING, 'record.ts': RECORD });
    const [a, b] = [project.spawn(['hx']), project.spawn(['hy'])];
    const results = await Promise.all([a, b]);
    const said = results.map((r) => String(r.stdout) + String(r.stderr)).join('\n');
    expect(said).toMatch(
      /holds the lock on h[xy] and waits for a task this run holds \(a deadlock\)/,
    );
    // Exactly one gives up; the other then runs the task it waited for, and succeeds.
    expect(results.map((r) => r.exitCode).sort()).toEqual([0, 1]);
  });

  it('ignores and removes the claim files and the lock left by a dead process', async () => {
    project = new Project({
      'Taskfile.ts': TASKFILE,
      'record.ts': RECORD,
      'in.txt': 'a',
      '.task/locks/999999-0.claim': JSON.stringify(['other']),
      '.task/locks/999999-0.claim.wait': String(process.pid),
      '.task/locks/999999-0.claim.tmp': JSON.stringify(['other']),
      // Killed mid-wait, with nothing claimed yet: a wait file alone.
      '.task/locks/999998-0.claim.wait': String(process.pid),
      '.task/state.lock': '999999',
    });
    const result = await project.task(['other', '--no-wait']);
    expect(result.exitCode).toBe(0);
    expect(project.runs()).toEqual(['other']);
    // Left behind, a wait file would be read as a live run's once its pid is reused (waitsFor).
    expect(readdirSync(project.path('.task', 'locks'))).toEqual([]);
  });
});
