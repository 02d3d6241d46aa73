import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanEnv, Project, TASK_BIN } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

const TASKFILE = `import { writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
task('a', { run: async (ctx) => { for (let i = 0; i < 5000; i++) ctx.log('a line ' + i); } });
task('b', { run: async (ctx) => { for (let i = 0; i < 5000; i++) ctx.log('b line ' + i); } });
task('both', { deps: ['a', 'b'], run: () => {} });
// Prints far more than a pipe holds, then would sit for minutes: only a stop ends it in time.
task('big', {
  run: (ctx) => ctx.exec('sh', ['-c', 'echo $$ > big.pid; i=0; while [ $i -lt 100000 ]; do echo line $i; i=$((i+1)); done; sleep 600']),
});
`;

/**
 * `task ARGS | head -N`: a real pipe whose reader closes it after `lines` lines (as head does),
 * while the run is still writing.
 */
function runIntoHead(
  args: string[],
  lines: number,
): Promise<{ code: number | null; stderr: string; read: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TASK_BIN, ...args], {
      cwd: project.dir,
      env: { ...cleanEnv(), CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let read = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      read += chunk.toString();
      if (read.split('\n').length > lines) child.stdout.destroy();
    });
    child.on('close', (code) => resolve({ code, stderr, read }));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('output piped into a reader that stops early (`| head`)', () => {
  it.each([
    [['--json', 'both'], 5],
    [['-q', 'big'], 2],
    [['big'], 2],
  ])('task %j ends quietly with 141, as a command killed by SIGPIPE', async (args, lines) => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    const result = await runIntoHead(args, lines);
    expect(result.read.split('\n').length).toBeGreaterThan(lines);
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled|at .*\(/);
    expect(result.code).toBe(141);
    if (args.includes('big')) {
      // The task's command was stopped with the run, not left printing into nothing.
      const pid = Number(project.read('big.pid'));
      expect(pid).toBeGreaterThan(0);
      expect(alive(pid)).toBe(false);
    }
  });
});
