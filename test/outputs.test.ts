import { afterEach, describe, expect, it } from 'vitest';
import { Project, RECORD } from './support/project.js';

// `image` stands for a Docker image: its digest (an image id) is whatever id.txt says, and a
// rebuild on another machine gives the same content another id.
const taskfile = (machineLocal: boolean) => `import { readFileSync, writeFileSync } from 'node:fs';
import { task } from 'taskgraph';
import { record } from './record.ts';
task('image', {
  inputs: ['app.txt'],
  outputs: [{ id: 'image:app', machineLocal: ${machineLocal}, digest: async () => readFileSync('id.txt', 'utf8') }],
  run: () => record('image'),
});
task('tag', {
  deps: ['image'],
  outputs: ['tag.txt'],
  run: (ctx) => { record('tag'); writeFileSync('tag.txt', ctx.deps['image']?.fingerprint ?? ''); },
});
`;

let project: Project;
afterEach(() => project.remove());

describe('output kinds', () => {
  it('a machine-local digest decides its own task but stays out of dependents', async () => {
    project = new Project({
      'Taskfile.ts': taskfile(true),
      'record.ts': RECORD,
      'app.txt': 'v1',
      'id.txt': 'sha256:aaa',
    });
    expect((await project.task(['tag'])).exitCode).toBe(0);
    project.clearRuns();
    // The same content rebuilt elsewhere: another id. The image task reruns (its output changed),
    // the dependent does not, and would derive the same tag.
    project.write('id.txt', 'sha256:bbb');
    await project.task(['tag']);
    expect(project.runs()).toEqual(['image']);
  });

  it("a portable digest is part of dependents' fingerprints", async () => {
    project = new Project({
      'Taskfile.ts': taskfile(false),
      'record.ts': RECORD,
      'app.txt': 'v1',
      'id.txt': 'sha256:aaa',
    });
    await project.task(['tag']);
    project.clearRuns();
    project.write('id.txt', 'sha256:bbb');
    await project.task(['tag']);
    expect(project.runs()).toEqual(['image', 'tag']);
  });

  it('an output whose digest cannot be read makes the task run, not the check crash', async () => {
    project = new Project({
      'record.ts': RECORD,
      'Taskfile.ts': `import { task } from 'taskgraph';
import { record } from './record.ts';
task('probe', {
  outputs: [{ id: 'service:down', digest: async () => { throw new Error('service unreachable'); } }],
  run: () => { record('probe'); throw new Error('service unreachable: start it first'); },
});
`,
    });
    const result = await project.task(['probe']);
    expect(result.exitCode).toBe(1);
    expect(project.runs()).toEqual(['probe']);
    expect(result.stdout).toContain(
      '[probe] FAILED: Taskfile.ts:5:39: service unreachable: start it first',
    );
  });
});
