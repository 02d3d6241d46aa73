import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { Project, REPO } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

const TASKFILE = `import { task } from 'taskgraph';
import { sourceRevision } from ${JSON.stringify(`${REPO}/tasks/source-revision.ts`)};
task('labels', { run: async (ctx) => ctx.log(JSON.stringify(await sourceRevision(ctx))) });
`;

function labelsWith(origin: string): Promise<Record<string, unknown>> {
  const git = (...args: string[]) => execaSync('git', args, { cwd: project.dir });
  git('remote', 'set-url', 'origin', origin);
  return project.task(['-q', 'labels']).then((result) => {
    expect(result.exitCode).toBe(0);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  });
}

describe('the commit a deploy records', () => {
  it('carries the origin only when it is a remote URL, without credentials, query or fragment; never a local path', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    // The packages tasks/docker.ts's sources import (execa, zod), from the repository's install.
    symlinkSync(join(REPO, 'node_modules'), project.path('node_modules'));
    const git = (...args: string[]) => execaSync('git', args, { cwd: project.dir });
    git('init', '-q');
    git(
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@example.com',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'x',
    );
    git('remote', 'add', 'origin', '/home/someone/src/app');
    const source = 'source';
    expect((await labelsWith('/home/someone/src/app'))[source]).toBeUndefined();
    expect((await labelsWith('../app'))[source]).toBeUndefined();
    expect((await labelsWith('file:///home/someone/src/app'))[source]).toBeUndefined();
    expect((await labelsWith('https://bot:s3cret@github.com/org/app.git'))[source]).toBe(
      'https://github.com/org/app.git',
    );
    expect(
      (await labelsWith('https://github.com/org/app.git?access_token=s3cret#frag'))[source],
    ).toBe('https://github.com/org/app.git');
    expect((await labelsWith('git@github.com:org/app.git?access_token=s3cret'))[source]).toBe(
      'ssh://github.com/org/app.git',
    );
    const recorded = await labelsWith('git@github.com:org/app.git');
    expect(recorded['revision']).toMatch(/^[0-9a-f]{40}$/);
    expect(recorded['dirty']).toBe(false);
    expect((await labelsWith('git@github.com:org/app.git'))[source]).toBe(
      'ssh://github.com/org/app.git',
    );
  });
});
