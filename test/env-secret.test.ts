import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Project, RECORD } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('declared env values in .task/', () => {
  it('are stored as a keyed hash under a per-checkout key (mode 0600), never a plain sha256', async () => {
    project = new Project({
      'record.ts': RECORD,
      'in.txt': 'x',
      'Taskfile.ts': `import { task } from 'taskgraph';
import { record } from './record.ts';
task('deploy', { env: ['TOKEN'], inputs: ['in.txt'], run: () => record('deploy') });
`,
    });
    const secret = 'hunter2';
    expect((await project.task(['deploy'], { TOKEN: secret })).exitCode).toBe(0);
    expect((await project.task(['deploy'], { TOKEN: secret })).stdout).toContain('up to date');
    expect((await project.task(['deploy'], { TOKEN: 'other' })).exitCode).toBe(0);
    expect(project.runs()).toEqual(['deploy', 'deploy']);

    const plain = createHash('sha256').update(secret).digest('hex');
    const other = createHash('sha256').update('other').digest('hex');
    for (const file of filesUnder(project.path('.task'))) {
      const text = readFileSync(file, 'latin1');
      expect(text).not.toContain(plain);
      expect(text).not.toContain(other);
      expect(text).not.toContain(secret);
    }
    const detail = filesUnder(project.path('.task/state/detail'))[0] as string;
    expect(readFileSync(detail, 'utf8')).toMatch(/"TOKEN":"hmac:[0-9a-f]{64}"/);
    expect(statSync(project.path('.task/env-key')).mode & 0o777).toBe(0o600);
  });
});
