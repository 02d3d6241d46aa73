/**
 * A run in watch mode behaves as a normal run does: an error that escapes a task fails that task
 * (located), cancels its siblings and leaves no process behind while the watcher keeps watching;
 * -q prints only the tasks' own output; a task that starts again mid-run checks its preflight.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Project, RECORD } from './support/project.js';
import { isAlive, waitFor } from './support/wait.js';
import { IDLE, TIMEOUT, Watching } from './support/watching.js';

let project: Project | undefined;
let watching: Watching | undefined;

afterEach(async () => {
  await watching?.close();
  watching = undefined;
  project?.remove();
  project = undefined;
});

// `sibling` runs a process that would sleep for a minute; `timer` and `rejection` each lose an
// error once that process has started (sibling.started, which they remove so that the next run
// waits for the next sibling): one thrown in a timer callback (line 12), one a promise rejected
// with no handler (line 20). Each reads an input, so an edit reruns it.
const TASKFILE = `import { task } from 'taskgraph';
import { existsSync, rmSync } from 'node:fs';
const pkg: { info?: { version: string } } = {};
const once = (fn: () => void) => { const poll = setInterval(() => { if (existsSync('sibling.started')) { clearInterval(poll); rmSync('sibling.started'); fn(); } }, 20); };
task('sibling', {
  run: async (ctx) => { await ctx.exec('sh', ['-c', 'echo $$ >> sibling.pids; touch sibling.started; exec sleep 60']); },
});
task('timer', {
  inputs: ['edit.txt'],
  run: () =>
    new Promise<void>(() => {
      once(() => void pkg.info!.version);
    }),
});
task('rejection', {
  inputs: ['edit.txt'],
  run: () =>
    new Promise<void>(() => {
      once(() => {
        void Promise.reject(new Error('nobody caught me'));
      });
    }),
});
task('timer-run', { deps: ['sibling', 'timer'] });
task('rejection-run', { deps: ['sibling', 'rejection'] });
`;

describe('watch mode', { timeout: 120_000 }, () => {
  it.each([
    [
      'timer-run',
      "✖ timer: Taskfile.ts:12:33: Cannot read properties of undefined (reading 'version')",
    ],
    ['rejection-run', '✖ rejection: Taskfile.ts:20:29: nobody caught me'],
  ])(
    '%s: an escaped error fails that task (located), cancels its sibling and keeps watching',
    async (target, message) => {
      project = new Project({ 'Taskfile.ts': TASKFILE, 'edit.txt': '1' });
      const made = project;
      const pids = () => made.read('sibling.pids').split('\n').filter(Boolean).map(Number);
      watching = new Watching(project, [target]);
      await watching.until(IDLE);
      expect(watching.stdout).toContain(message);
      expect(watching.stdout).toContain('[sibling] cancelled');
      expect(watching.stderr).not.toContain('node:internal');
      const [first] = pids() as [number];
      await waitFor(() => !isAlive(first), TIMEOUT);

      // Still watching: an edit runs both again, and the same error fails the same way.
      project.write('edit.txt', '2');
      await watching.until(IDLE, 2);
      expect(watching.count(new RegExp(`^${message.replace(/[()]/g, '\\$&')}`))).toBe(2);
      expect(pids()).toHaveLength(2);
      const second = pids()[1] as number;
      await waitFor(() => !isAlive(second), TIMEOUT);
      expect(await watching.interrupt()).toBe(130);
    },
  );
});

describe('watch mode, a persistent task', { timeout: 120_000 }, () => {
  it('an escaped error fails it (located) and kills its processes; the watcher goes on', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
import { existsSync } from 'node:fs';
task('dev', {
  persistent: true,
  run: async (ctx) => {
    const poll = setInterval(() => { if (existsSync('dev.pid')) { clearInterval(poll); JSON.parse('{'); } }, 20);
    await ctx.exec('sh', ['-c', 'echo $$ > dev.pid; exec sleep 300']);
  },
});
task('default', { deps: ['dev'] });
`,
    });
    watching = new Watching(project);
    await watching.until(/^\[dev\] FAILED: Taskfile\.ts:6:93: Expected property name/);
    const pid = Number(project.read('dev.pid'));
    await waitFor(() => !isAlive(pid), TIMEOUT);
    expect(watching.stderr).not.toContain('node:internal');
    expect(watching.child.exitCode).toBe(null);
    expect(await watching.interrupt()).toBe(130);
  });
});

describe('watch mode with -q', { timeout: 120_000 }, () => {
  it("prints only the tasks' own output, run after run: no prefixes, progress or summary", async () => {
    project = new Project({
      'in.txt': 'v1',
      'Taskfile.ts': `import { task } from 'taskgraph';
import { readFileSync } from 'node:fs';
task('config', { inputs: ['in.txt'], run: (ctx) => ctx.log(readFileSync('in.txt', 'utf8')) });
task('broken', { inputs: ['in.txt'], run: () => { throw new Error('no config'); } });
task('both', { deps: ['config', 'broken'] });
`,
    });
    const w = new Watching(project, ['-q', '-k', 'both']);
    watching = w;
    const failures = () => w.stderr.split('✖ broken').length - 1;
    await waitFor(() => w.stdout.includes('v1') && failures() === 1, TIMEOUT);
    project.write('in.txt', 'v2');
    await waitFor(() => w.stdout.includes('v2') && failures() === 2, TIMEOUT);
    expect(await w.interrupt()).toBe(130);
    expect(w.stdout).toBe('v1\nv2\n');
    const failure = 'task: ✖ broken: Taskfile.ts:4:57: no config\n';
    expect(w.stderr).toBe(failure + failure);
  });
});

describe('watch mode, a task that starts again during a run', { timeout: 120_000 }, () => {
  it('runs its preflight check first, as a run does, and does not run when it fails', async () => {
    project = new Project({
      'record.ts': RECORD,
      'deploy.txt': 'v1',
      'Taskfile.ts': `import { readFileSync } from 'node:fs';
import { task, TaskError } from 'taskgraph';
import { record } from './record.ts';
const target = () => readFileSync('deploy.txt', 'utf8');
// Keeps the first run going, so that the edits below are acted on within it.
task('slow', { run: (ctx) => ctx.exec('sh', ['-c', 'echo $$ > slow.pid; exec sleep 300']).then(() => {}) });
task('deploy', {
  inputs: ['deploy.txt'],
  preflight: () => {
    record('check ' + target());
    if (target() === 'bad') throw new TaskError({ reason: 'reported', message: 'no credentials for bad' });
  },
  run: () => record('deploy ' + target()),
});
task('both', { deps: ['slow', 'deploy'] });
`,
    });
    const made = project;
    watching = new Watching(project, ['both']);
    await waitFor(() => existsSync(made.path('slow.pid')) && made.runs().includes('deploy v1'));
    project.write('deploy.txt', 'v2');
    await watching.until(/^deploy\.txt changed -> deploy, both$/);
    await waitFor(() => made.runs().includes('deploy v2'), TIMEOUT);
    project.write('deploy.txt', 'bad');
    await watching.until(/^\[deploy\] FAILED: no credentials for bad$/);
    expect(project.runs()).toEqual(['check v1', 'deploy v1', 'check v2', 'deploy v2', 'check bad']);
    // Still the first run, and slow still runs: no run has ended.
    expect(watching.count(IDLE)).toBe(0);
    expect(await watching.interrupt()).toBe(130);
  });
});
