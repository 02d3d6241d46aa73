/**
 * Nothing left running, whatever ends a run: process.exit() in a task or a Taskfile, SIGHUP, a
 * task that ignores its signal, and a .task/ this user cannot write.
 */
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cleanEnv, Project, TASK_BIN } from './support/project.js';
import { waitFor } from './support/wait.js';

let project: Project;
afterEach(() => project.remove());

/** Whether pid is a live process: a zombie (killed, not yet reaped) counts as gone. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A task body that starts a grandchild (sleep, in the task's process group) and notes its pid. */
const START_CHILD = (file: string) =>
  `void ctx.exec('sh', ['-c', 'sleep 30 & echo $! > pid.tmp && mv pid.tmp ${file}; wait']).catch(() => {});
  while (!existsSync('${file}')) await new Promise((r) => setTimeout(r, 20));`;

describe('nothing left running', () => {
  it('process.exit() in a run fails that task (exit 1, named) and kills its processes', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
import { existsSync } from 'node:fs';
task('quit', { run: async (ctx) => {
  ${START_CHILD('child.pid')}
  process.exit(0);
} });
`,
    });
    const result = await project.task(['quit']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain(
      '✖ quit: called process.exit(0), which would end every task at once; throw an Error to fail a task',
    );
    await waitFor(() => !running(Number(project.read('child.pid'))));
  });

  it('process.exit() while the Taskfile loads is a Taskfile error (exit 2)', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';\ntask('a');\nprocess.exit(3);\n`,
    });
    const result = await project.task(['a']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('Taskfile.ts failed to load: called process.exit(3)');
  });

  it('SIGHUP (a closed terminal) stops the run like SIGTERM: the children are gone', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
task('long', { run: (ctx) => ctx.exec('sh', ['-c', 'sleep 30 & echo $! > pid.tmp && mv pid.tmp child.pid; wait']) });
`,
    });
    const child = project.spawn(['long']);
    await waitFor(() => existsSync(project.path('child.pid')));
    const grandchild = Number(project.read('child.pid'));
    expect(running(grandchild)).toBe(true);
    child.kill('SIGHUP');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(String(result.stdout)).toContain('[long] cancelled');
    await waitFor(() => !running(grandchild));
  });

  it('a task ignoring its signal: Ctrl-C says what it waits for, a second one exits 130 with the summary', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
import { existsSync, writeFileSync } from 'node:fs';
task('stubborn', { run: async () => {
  writeFileSync('started', '');
  await new Promise((resolve) => setTimeout(resolve, 60_000));
} });
task('child', { run: async (ctx) => {
  ${START_CHILD('child.pid')}
  await new Promise((resolve) => setTimeout(resolve, 60_000));
} });
task('both', { deps: ['stubborn', 'child'] });
`,
    });
    const child = project.spawn(['both', '-j', '2']);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(
      () => existsSync(project.path('started')) && existsSync(project.path('child.pid')),
    );
    const grandchild = Number(project.read('child.pid'));
    child.kill('SIGINT');
    await waitFor(() => stderr.includes('(Ctrl-C again to force)'), 2000);
    expect(stderr).toMatch(
      /stopping: waiting for (stubborn, child|child, stubborn) \(Ctrl-C again/,
    );
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    const stdout = String(result.stdout);
    expect(stdout).toContain('[stubborn] cancelled');
    expect(stdout).toMatch(/Interrupted: 0 ran, 0 up to date, \d skipped, 2 cancelled/);
    await waitFor(() => !running(grandchild));
  });
});

describe('a .task/ this user cannot write', () => {
  const TASKFILE = `import { task } from 'taskgraph';
task('a', { inputs: ['in.txt'], run: () => {} });
`;

  /** Runs task without write access to .task/: as nobody when we are root, else after chmod. */
  async function runLockedOut(args: string[]) {
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chmodSync(project.dir, 0o777);
    else chmodSync(project.path('.task'), 0o555);
    const command = asRoot
      ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath]
      : [process.execPath];
    const [file, ...rest] = command as [string, ...string[]];
    const result = await execa(file, [...rest, TASK_BIN, ...args], {
      cwd: project.dir,
      env: { ...cleanEnv(), CI: 'true' },
      extendEnv: false,
      reject: false,
    });
    const who = asRoot ? 'root' : (process.env.USER ?? '');
    return { ...result, stderr: String(result.stderr), owner: who };
  }

  it('one line naming the path, its owner and the fix, never an EACCES stack', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'in.txt': 'x' });
    expect((await project.task(['a'])).exitCode).toBe(0); // .task/ now exists, ours
    project.write('in.txt', 'changed');
    const result = await runLockedOut(['a']);
    expect(result.exitCode).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`cannot write ${project.path('.task')}`);
    expect(lines[0]).toContain(`it belongs to ${result.owner}`);
    expect(lines[0]).toMatch(/Fix: `sudo chown -R \S+ .*\.task`/);
    expect(result.stderr).not.toMatch(/EACCES|\n\s+at /);
  });

  it('the same when loading the Taskfile is what needs to write (its bundle is stale)', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'in.txt': 'x' });
    expect((await project.task(['a'])).exitCode).toBe(0);
    project.write('Taskfile.ts', `${TASKFILE}task('b');\n`);
    const result = await runLockedOut(['-T', '--all']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(`it belongs to ${result.owner}`);
    expect(result.stderr).not.toMatch(/EACCES|\n\s+at /);
  });

  it("a failing path deep inside .task/cache still names the project's .task/ in the fix", async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'in.txt': 'x' });
    expect((await project.task(['a'])).exitCode).toBe(0);
    // Without its manifest the loader rewrites the same bundle-…/ folder: the write that fails is
    // a temp file in there (.taskfile.mjs.….tmp), whose name also contains ".task".
    rmSync(project.path('.task/cache/taskfile.json'));
    const bundles = readdirSync(project.path('.task/cache')).filter((name) =>
      name.startsWith('bundle-'),
    );
    expect(bundles).toHaveLength(1);
    const bundleDir = project.path(`.task/cache/${bundles[0]}`);
    // As nobody the root-owned folder is already closed; as a plain user, close it as well.
    if (process.getuid?.() !== 0) chmodSync(bundleDir, 0o555);
    try {
      const result = await runLockedOut(['a']);
      expect(result.exitCode).toBe(2);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`cannot write ${bundleDir}/`);
      const fix = /Fix: `sudo chown -R \S+ (\S+)`/.exec(lines[0] ?? '');
      expect(fix?.[1]).toBe(project.path('.task'));
      expect(lines[0]).toContain(`\`sudo rm -rf ${project.path('.task')}\``);
    } finally {
      chmodSync(bundleDir, 0o755);
    }
  });

  it('a file where .task/ belongs names the file and how to fix it', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE, 'in.txt': 'x' });
    writeFileSync(project.path('.task'), 'not a folder');
    const result = await project.task(['a']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim()).toMatch(
      new RegExp(
        `cannot write under ${project.path('.task')} .*a file where a folder belongs. Fix: \`rm `,
      ),
    );
    expect(result.stderr).not.toMatch(/ENOTDIR|\n\s+at /);
  });
});
