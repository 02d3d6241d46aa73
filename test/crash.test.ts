/**
 * Crash safety: SIGKILL the whole `task` process group at random instants (tasks running,
 * state being written) and check that state still parses, that the next run redoes exactly the
 * unfinished work, and that every output ends up right.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { cleanEnv, Project, RECORD, TASK_BIN } from './support/project.js';

// Each task writes its output in two halves with a pause between: a kill can tear it.
const WRITER = `const [, out, ...ins] = process.argv; const fs = require('node:fs');
const text = ins.map((f) => fs.readFileSync(f, 'utf8').toUpperCase()).join('+');
fs.writeFileSync(out, text.slice(0, 3)); setTimeout(() => fs.appendFileSync(out, text.slice(3)), 30);`;

const TASKFILE = `import { task } from 'taskgraph';
import { mkdirSync } from 'node:fs';
import { record } from './record.ts';
const WRITER = ${JSON.stringify(WRITER)};
const make = (name: string, out: string, ins: string[], deps: string[] = []) =>
  task(name, {
    deps,
    inputs: ins,
    outputs: [out],
    run: async (ctx) => {
      mkdirSync('out', { recursive: true });
      await ctx.exec('node', ['-e', WRITER, out, ...ins]);
      record(name);
    },
  });
for (const i of [1, 2, 3, 4]) make('l1-' + i, 'out/l1-' + i + '.txt', ['in/' + i + '.txt']);
make('l2-a', 'out/l2-a.txt', ['out/l1-1.txt', 'out/l1-2.txt'], ['l1-1', 'l1-2']);
make('l2-b', 'out/l2-b.txt', ['out/l1-3.txt', 'out/l1-4.txt'], ['l1-3', 'l1-4']);
make('top', 'out/top.txt', ['out/l2-a.txt', 'out/l2-b.txt'], ['l2-a', 'l2-b']);
`;

function expected(inputs: string[]): Record<string, string> {
  const l1 = inputs.map((s) => s.toUpperCase());
  const l2a = `${l1[0]}+${l1[1]}`.toUpperCase();
  const l2b = `${l1[2]}+${l1[3]}`.toUpperCase();
  return {
    'l1-1.txt': l1[0] ?? '',
    'l1-2.txt': l1[1] ?? '',
    'l1-3.txt': l1[2] ?? '',
    'l1-4.txt': l1[3] ?? '',
    'l2-a.txt': l2a,
    'l2-b.txt': l2b,
    'top.txt': `${l2a}+${l2b}`,
  };
}

interface End {
  type: string;
  key: string;
  status: string;
  reason?: string;
}

describe('crash safety', () => {
  it('survives SIGKILL of the process group at random instants', async () => {
    const project = new Project({ 'Taskfile.ts': TASKFILE, 'record.ts': RECORD });
    const inputs = ['alpha', 'bravo', 'charlie', 'delta'];
    const writeInputs = () => inputs.forEach((text, i) => project.write(`in/${i + 1}.txt`, text));
    const env = { ...cleanEnv(), CI: 'true' };
    try {
      writeInputs();
      let kills = 0;
      for (let round = 0; round < 20; round++) {
        // Change one or two inputs, so there is work to interrupt.
        const index = round % 4;
        inputs[index] = `${inputs[index]?.slice(0, 5)}${round}`;
        if (round % 3 === 0) inputs[(index + 2) % 4] = `x${round}`;
        writeInputs();

        const child = execa(process.execPath, [TASK_BIN, 'top', '-j', '3'], {
          cwd: project.dir,
          env,
          extendEnv: false,
          detached: true,
          reject: false,
        });
        await new Promise((resolve) => setTimeout(resolve, 60 + Math.random() * 400));
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
          kills++;
        } catch {
          // It finished before the kill: a fine round too.
        }
        await child;
        // Task children run in their own groups; let any that outlived the kill finish.
        await new Promise((resolve) => setTimeout(resolve, 150));

        const stateDir = project.path('.task/state');
        for (const file of existsSync(stateDir)
          ? readdirSync(stateDir, { withFileTypes: true })
          : []) {
          if (file.isFile() && file.name.endsWith('.json')) {
            const text = readFileSync(project.path('.task/state', file.name), 'utf8');
            expect(() => void JSON.parse(text)).not.toThrow();
          }
        }

        const plan = await project.task(['top', '-n', '--json']);
        const wouldRun = new Map(
          plan.stdout
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as End)
            .filter((e) => e.type === 'end' && e.status === 'would-run')
            .map((e) => [e.key, e.reason ?? '']),
        );
        project.clearRuns();
        const recovery = await project.task(['top', '-j', '3']);
        expect(recovery.exitCode, recovery.stdout).toBe(0);
        const ran = new Set(project.runs());
        // Exactly the unfinished work: everything that ran was pending, and everything pending
        // for a reason of its own (not just "a dependency would run") ran.
        for (const key of ran) expect(wouldRun.has(key), `${key} reran without cause`).toBe(true);
        for (const [key, reason] of wouldRun) {
          if (!reason.startsWith('dependency '))
            expect(ran.has(key), `${key} (${reason}) did not rerun`).toBe(true);
        }
        for (const [file, content] of Object.entries(expected(inputs))) {
          expect(project.read(`out/${file}`), `out/${file} after round ${round}`).toBe(content);
        }
      }
      expect(kills).toBeGreaterThan(10);
      project.clearRuns();
      await project.task(['top']);
      expect(project.runs()).toEqual([]);
    } finally {
      project.remove();
    }
  }, 240_000);
});
