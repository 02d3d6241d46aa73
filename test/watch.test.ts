// Watch mode against the real CLI and real files: every wait is on a line the watcher prints (or a
// file a task writes), never a fixed sleep, so a loaded machine only makes the tests slower.
import { existsSync, writeFileSync } from 'node:fs';
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

const CHAIN = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
import { record } from './record.ts';
mkdirSync('out', { recursive: true });
task('a', {
  inputs: ['src/**'],
  outputs: ['out/a.txt'],
  run: () => {
    record('a');
    writeFileSync('out/a.txt', readFileSync('src/a.txt', 'utf8') + '!');
  },
});
// b reads a's output: a rerunning must not make b (or a) run a second time.
task('b', {
  deps: ['a'],
  inputs: ['out/a.txt'],
  outputs: ['out/b.txt'],
  run: () => {
    record('b');
    writeFileSync('out/b.txt', readFileSync('out/a.txt', 'utf8').toUpperCase());
  },
});
task('other', {
  inputs: ['other.txt'],
  outputs: ['out/other.txt'],
  run: () => {
    record('other');
    writeFileSync('out/other.txt', readFileSync('other.txt'));
  },
});
// gen writes into the folder it reads: its own output must never count as a change. (It is a
// target of its own: the fingerprint counts gen/made.txt as an input, so any run including gen
// reruns it.)
task('gen', {
  inputs: ['gen/**'],
  outputs: ['gen/made.txt'],
  run: () => {
    record('gen');
    writeFileSync('gen/made.txt', String(Date.now()));
  },
});
task('default', { deps: ['b', 'other'] });
`;

function chainProject(): Project {
  return new Project({
    'Taskfile.ts': CHAIN,
    'record.ts': RECORD,
    'src/a.txt': 'one',
    'other.txt': 'other',
    'gen/seed.txt': 'seed',
  });
}

describe('watch mode', { timeout: 120_000 }, () => {
  it('reruns what a change makes stale, in order, saying so first; no lock while idle', async () => {
    project = chainProject();
    watching = new Watching(project, ['default', 'gen']);
    await watching.until(IDLE);
    expect(project.runs().sort()).toEqual(['a', 'b', 'gen', 'other']);
    expect(existsSync(project.path('.task', 'lock'))).toBe(false);

    project.clearRuns();
    project.write('src/a.txt', 'two');
    await watching.until(/^src\/a\.txt changed -> a, b, default$/);
    await watching.until(IDLE, 2);
    expect(project.runs()).toEqual(['a', 'b']);
    expect(project.read('out/b.txt')).toBe('TWO!');
    const lines = watching.lines();
    const said = lines.findIndex((line) => line.startsWith('src/a.txt changed'));
    expect(lines.slice(said + 1).find((line) => line.endsWith('started'))).toBe('[a] started');
    expect(existsSync(project.path('.task', 'lock'))).toBe(false);

    // A save that changes nothing reruns nothing: the next change is the only one reported.
    project.write('src/a.txt', 'two');
    project.write('other.txt', 'changed');
    await watching.until(/^other\.txt changed -> other, default$/);
    await watching.until(IDLE, 3);
    expect(watching.count(/ changed -> /)).toBe(2);
    expect(project.runs()).toEqual(['a', 'b', 'other']);
  });

  it('never loops: outputs written by a run do not trigger another', async () => {
    project = chainProject();
    watching = new Watching(project, ['default', 'gen']);
    await watching.until(IDLE);
    project.clearRuns();

    project.write('gen/seed.txt', 'new seed');
    await watching.until(/^gen\/seed\.txt changed -> gen$/);
    await watching.until(IDLE, 2);
    project.write('src/a.txt', 'three');
    await watching.until(/^src\/a\.txt changed -> a, b, default$/);
    await watching.until(IDLE, 3);

    // A marker change after both reruns: once it is reported, every event the reruns' own writes
    // caused (gen/made.txt, out/a.txt, out/b.txt) has been seen and dropped.
    project.write('other.txt', 'marker');
    await watching.until(/^other\.txt changed -> other, default$/);
    await watching.until(IDLE, 4);
    expect(watching.count(/ changed -> /)).toBe(3);
    expect(project.runs()).toEqual(['gen', 'a', 'b', 'other']);
  });

  it('coalesces a burst of writes into one rerun', async () => {
    project = chainProject();
    // A debounce long enough that the burst below fits in it even on a busy machine.
    watching = new Watching(project, ['--debounce', '1000']);
    await watching.until(IDLE);
    project.clearRuns();

    const started = Date.now();
    for (let i = 0; i < 30; i++) writeFileSync(project.path('src', `file${i}.txt`), String(i));
    project.write('src/a.txt', 'burst');
    // The burst must be shorter than the debounce for the test to mean anything.
    expect(Date.now() - started).toBeLessThan(1000);
    await watching.until(
      /^src\/a\.txt, src\/file0\.txt and 29 more files changed -> a, b, default$/,
    );
    await watching.until(IDLE, 2);

    project.write('other.txt', 'marker');
    await watching.until(/^other\.txt changed -> other, default$/);
    await watching.until(IDLE, 3);
    expect(watching.count(/ changed -> /)).toBe(2);
    expect(project.runs()).toEqual(['a', 'b', 'other']);
  });

  it('a change during a run kills the running task it affects, then reruns it', async () => {
    project = new Project({
      'record.ts': RECORD,
      'slow.txt': '0',
      'Taskfile.ts': `import { writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
import { record } from './record.ts';
task('slow', {
  inputs: ['slow.txt'],
  outputs: ['slow.out'],
  run: async (ctx) => {
    record('slow');
    // slow.txt is read before the pid is written: the test edits it as soon as it sees the pid.
    await ctx.exec('sh', ['-c', 's=$(cat slow.txt); echo $$ > slow.pid; exec sleep "$s"']);
    writeFileSync('slow.out', 'done');
  },
});
task('default', { deps: ['slow'] });
`,
    });
    watching = new Watching(project);
    await watching.until(IDLE);
    const first = project.read('slow.pid');

    project.write('slow.txt', '300');
    await watching.until(/^slow\.txt changed -> slow, default$/);
    await waitFor(() => project!.read('slow.pid') !== first, TIMEOUT);
    const sleeping = Number(project.read('slow.pid'));
    expect(isAlive(sleeping)).toBe(true);

    // Not '0' again: that would match the first run's record, and slow would be up to date.
    project.write('slow.txt', '0.01');
    await watching.until(/^slow\.txt changed -> slow, default \(cancelling slow\)$/);
    await waitFor(() => !isAlive(sleeping), TIMEOUT);
    await watching.until(/^\[slow\] cancelled$/);
    await watching.until(/^\[slow\] done in /, 2);
    // The rerun happened within that run: one idle line after it, not one per attempt.
    await watching.until(IDLE, 2);
    expect(project.runs()).toEqual(['slow', 'slow', 'slow']);
    expect(project.read('slow.out')).toBe('done');
  });

  // The scenario: both <- fast (in/*.txt) and slow (a 30 s process). A change reruns what
  // it makes stale at once, in the first run or a later one, while unrelated tasks keep running.
  const FAST_AND_SLOW = `import { readFileSync, writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
import { record } from './record.ts';
task('fast', {
  inputs: ['in/*.txt'],
  outputs: ['fast.out'],
  run: () => {
    record('fast');
    writeFileSync('fast.out', readFileSync('in/a.txt', 'utf8'));
  },
});
task('slow', {
  inputs: ['slow.txt'],
  outputs: ['slow.out'],
  run: async (ctx) => {
    record('slow');
    // slow.txt is read before the pid is written (see the test above).
    await ctx.exec('sh', ['-c', 's="$(cat slow.txt)"; echo $$ >> slow.pids; exec sleep "$s"']);
    writeFileSync('slow.out', 'done');
  },
});
task('both', {
  deps: ['fast', 'slow'],
  outputs: ['both.out'],
  run: () => {
    record('both');
    writeFileSync('both.out', 'both');
  },
});
`;

  function fastAndSlow(slow: string): { project: Project; pids: () => number[] } {
    const made = new Project({
      'record.ts': RECORD,
      'Taskfile.ts': FAST_AND_SLOW,
      'in/a.txt': 'a1',
      'slow.txt': slow,
    });
    const pids = () =>
      (existsSync(made.path('slow.pids')) ? made.read('slow.pids') : '')
        .split('\n')
        .filter(Boolean)
        .map(Number);
    return { project: made, pids };
  }

  /** Edits in/a.txt while slow's process runs: fast reruns and that process lives on. */
  async function editFastWhileSlowRuns(w: Watching, p: Project, sleeping: number, times: number) {
    p.write('in/a.txt', `a${times + 1}`);
    await w.until(/^in\/a\.txt changed -> fast, both$/, times);
    await waitFor(() => p.read('fast.out') === `a${times + 1}`, TIMEOUT);
    await w.until(/^\[fast\] done in /, times + 1);
    expect(isAlive(sleeping)).toBe(true);
    expect(p.runs()).not.toContain('both');
  }

  /** Edits slow's own input: its process is killed and slow starts again; returns the new pid. */
  async function restartSlow(w: Watching, made: ReturnType<typeof fastAndSlow>, sleeping: number) {
    const before = made.pids().length;
    made.project.write('slow.txt', '31');
    await w.until(/^slow\.txt changed -> slow, both \(cancelling slow\)$/);
    await waitFor(() => !isAlive(sleeping), TIMEOUT);
    await waitFor(() => made.pids().length === before + 1, TIMEOUT);
    const restarted = made.pids()[before] as number;
    expect(isAlive(restarted)).toBe(true);
    return restarted;
  }

  it('a change during the first run reruns what it affects at once; the unrelated task runs on', async () => {
    const made = fastAndSlow('30');
    project = made.project;
    watching = new Watching(project, ['both']);
    await waitFor(() => made.pids().length === 1, TIMEOUT);
    const [first] = made.pids() as [number];
    await editFastWhileSlowRuns(watching, project, first, 1);
    expect(project.runs().filter((r) => r === 'fast')).toHaveLength(2);
    // Still the first run: no run has ended, so the watcher never went idle.
    expect(watching.count(IDLE)).toBe(0);

    // slow's own input: its process is killed and slow starts again; fast is left alone.
    const second = await restartSlow(watching, made, first);
    expect(project.runs().filter((r) => r === 'fast')).toHaveLength(2);

    // Ctrl-C: exit 130, and nothing left running.
    expect(await watching.interrupt()).toBe(130);
    expect(isAlive(second)).toBe(false);
    expect(project.runs()).not.toContain('both');
  });

  it('a change during a later run reruns what it affects at once, even a task not in that run', async () => {
    const made = fastAndSlow('0');
    project = made.project;
    watching = new Watching(project, ['both']);
    await watching.until(IDLE);
    expect(project.runs().sort()).toEqual(['both', 'fast', 'slow']);
    project.clearRuns();

    // A second run, for slow and both only; fast joins it when its input changes.
    project.write('slow.txt', '30');
    await watching.until(/^slow\.txt changed -> slow, both$/);
    await waitFor(() => made.pids().length === 2, TIMEOUT);
    const sleeping = made.pids()[1] as number;
    await editFastWhileSlowRuns(watching, project, sleeping, 1);
    expect(project.runs()).toEqual(['slow', 'fast']);
    expect(watching.count(IDLE)).toBe(1);

    const restarted = await restartSlow(watching, made, sleeping);
    expect(await watching.interrupt()).toBe(130);
    expect(isAlive(restarted)).toBe(false);
  });

  it('a persistent task runs in the background and restarts only when its inputs change', async () => {
    project = new Project({
      'record.ts': RECORD,
      'dev.txt': 'v1',
      'other.txt': 'v1',
      'client.txt': 'v1',
      'Taskfile.ts': `import { readFileSync, writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
import { record } from './record.ts';
task('dev', {
  persistent: true,
  inputs: ['dev.txt'],
  run: (ctx) => ctx.exec('sh', ['-c', 'echo $$ >> dev.pids; exec sleep 300']).then(() => {}),
});
// Depends on the running server: up to date while it runs with the same fingerprint.
task('client', {
  deps: ['dev'],
  inputs: ['client.txt'],
  outputs: ['client.out'],
  run: () => {
    record('client');
    writeFileSync('client.out', readFileSync('client.txt'));
  },
});
task('other', {
  inputs: ['other.txt'],
  outputs: ['other.out'],
  run: () => {
    record('other');
    writeFileSync('other.out', readFileSync('other.txt'));
  },
});
task('default', { deps: ['client', 'other'] });
`,
    });
    const pids = () =>
      (existsSync(project!.path('dev.pids')) ? project!.read('dev.pids') : '')
        .split('\n')
        .filter(Boolean)
        .map(Number);
    watching = new Watching(project);
    // The run finishes (dependents did not wait for dev to exit) while dev keeps running.
    await watching.until(IDLE);
    await waitFor(() => pids().length === 1, TIMEOUT);
    const [first] = pids() as [number];
    expect(isAlive(first)).toBe(true);

    project.write('other.txt', 'v2');
    await watching.until(/^other\.txt changed -> other, default$/);
    await watching.until(IDLE, 2);
    expect(pids()).toEqual([first]);
    expect(isAlive(first)).toBe(true);
    // The server kept running, so its dependent saw the same dependency and did not rerun.
    expect(project.runs().sort()).toEqual(['client', 'other', 'other']);

    project.write('dev.txt', 'v2');
    await watching.until(/^dev\.txt changed -> dev, client, default$/);
    await watching.until(IDLE, 3);
    await waitFor(() => pids().length === 2, TIMEOUT);
    const second = pids()[1] as number;
    await waitFor(() => !isAlive(first), TIMEOUT);
    expect(isAlive(second)).toBe(true);
    expect(watching.count(/^\[dev\] cancelled$/)).toBe(1);
  });

  it('Ctrl-C exits 130 once the persistent task it started is gone', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';
task('dev', {
  persistent: true,
  run: (ctx) => ctx.exec('sh', ['-c', 'echo $$ > dev.pid; exec sleep 300']).then(() => {}),
});
task('default', { deps: ['dev'] });
`,
    });
    watching = new Watching(project);
    await watching.until(IDLE);
    await waitFor(() => existsSync(project!.path('dev.pid')), TIMEOUT);
    const pid = Number(project.read('dev.pid'));
    expect(isAlive(pid)).toBe(true);
    expect(await watching.interrupt()).toBe(130);
    expect(isAlive(pid)).toBe(false);
  });

  it('reloads the graph when the Taskfile changes: a new task runs', async () => {
    const taskfile = (extra: string, deps: string) => `import { writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
import { record } from './record.ts';
import './a.ts';
${extra}
task('default', { deps: [${deps}] });
`;
    project = new Project({
      'record.ts': RECORD,
      'a.txt': 'a',
      // In a module of its own: a task's definition is its module (and what that imports).
      'a.ts': `import { writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
import { record } from './record.ts';
task('a', { inputs: ['a.txt'], outputs: ['a.out'], run: () => { record('a'); writeFileSync('a.out', 'a'); } });
`,
      'Taskfile.ts': taskfile('', "'a'"),
    });
    watching = new Watching(project);
    await watching.until(IDLE);
    project.clearRuns();

    project.write(
      'Taskfile.ts',
      taskfile(
        "task('b', { outputs: ['b.out'], run: () => { record('b'); writeFileSync('b.out', 'b'); } });",
        "'a', 'b'",
      ),
    );
    await watching.until(/^Taskfile\.ts changed -> reloading the Taskfile$/);
    await waitFor(() => existsSync(project!.path('b.out')), TIMEOUT);
    await watching.until(IDLE, 2);
    // a's definition did not change: its fingerprint still matches, so only b ran.
    expect(project.runs()).toEqual(['b']);
  });

  it('a Taskfile that no longer loads prints the error and keeps watching', async () => {
    project = new Project({
      'Taskfile.ts': `import { task } from 'taskgraph';\ntask('default', { run: () => {} });\n`,
    });
    watching = new Watching(project);
    await watching.until(IDLE);

    project.write(
      'Taskfile.ts',
      `import { task } from 'taskgraph';\ntask('default', { run: ( });\n`,
    );
    await watching.until(/^task: .*Taskfile\.ts:2:\d+: /, 1, 'stderr');
    await watching.until(/still watching: fix it and save to reload/, 1, 'stderr');

    project.write(
      'Taskfile.ts',
      `import { writeFileSync } from 'node:fs';\nimport { task } from 'taskgraph';\n` +
        `task('default', { outputs: ['fixed.out'], run: () => writeFileSync('fixed.out', 'ok') });\n`,
    );
    await waitFor(() => existsSync(project!.path('fixed.out')), TIMEOUT);
    await watching.until(IDLE, 2);
  });
});
