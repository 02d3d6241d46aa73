import { afterEach, describe, expect, it } from 'vitest';
import { Project } from './support/project.js';
import { isAlive, waitFor } from './support/wait.js';

let project: Project;
afterEach(() => project.remove());

// `sibling` runs a process that would sleep for a minute; `timer` and `rejection` each lose an
// error once that process has started: one thrown in a timer callback (line 11), one a promise
// rejected with no handler (line 18).
const TASKFILE = `import { task } from 'taskgraph';
import { existsSync } from 'node:fs';
const pkg: { info?: { version: string } } = {};
const once = (fn: () => void) => { const poll = setInterval(() => { if (existsSync('sibling.pid')) { clearInterval(poll); fn(); } }, 20); };
task('sibling', {
  run: async (ctx) => { await ctx.exec('sh', ['-c', 'echo $$ > sibling.pid; exec sleep 60']); },
});
task('timer', {
  run: () =>
    new Promise<void>(() => {
      once(() => void pkg.info!.version);
    }),
});
task('rejection', {
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

describe('an error that escapes a task', () => {
  it.each([
    [
      'timer-run',
      "✖ timer: Taskfile.ts:11:33: Cannot read properties of undefined (reading 'version')",
    ],
    ['rejection-run', '✖ rejection: Taskfile.ts:18:29: nobody caught me'],
  ])(
    '%s: fails that task with a located message, stops the run and leaves no process behind',
    async (target, message) => {
      project = new Project({ 'Taskfile.ts': TASKFILE });
      const result = await project.task([target]);
      expect(result.exitCode).toBe(1);
      expect(result.stdout).toContain(message);
      expect(result.stdout).toContain('[sibling] cancelled');
      expect(result.stdout).toMatch(/1 failed, 1 skipped, 1 cancelled/);
      expect(result.stderr).not.toContain('node:internal');
      const pid = Number(project.read('sibling.pid'));
      await waitFor(() => !isAlive(pid), 5_000);
    },
  );
});
