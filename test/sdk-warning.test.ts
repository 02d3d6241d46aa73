import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Project, REPO } from './support/project.js';

let project: Project;
afterEach(() => project.remove());

// Two tasks that each make real AWS SDK clients (the SDK warns when a client is made; no request).
const TASKFILE = `import { task } from 'taskgraph';
import { STSClient } from '@aws-sdk/client-sts';
import { ECSClient } from '@aws-sdk/client-ecs';
task('sts', { run: (ctx) => { new STSClient({ region: 'eu-west-1' }).destroy(); ctx.log('sts made'); } });
task('ecs', { deps: ['sts'], run: (ctx) => { new ECSClient({ region: 'eu-west-1' }).destroy(); ctx.log('ecs made'); } });
`;

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

describe("the AWS SDK's Node version warning", () => {
  it('is one line of ours per run on Node < 22, none with -q, never the SDK block', async () => {
    project = new Project({ 'Taskfile.ts': TASKFILE });
    symlinkSync(join(REPO, 'node_modules'), project.path('node_modules'));

    const run = await project.task(['ecs']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('ecs made');
    expect(run.stderr).not.toMatch(/NodeVersionSupportWarning|\(node:\d+\)|a\.co\//);
    const notes = run.stderr.split('\n').filter((line) => line.startsWith('task: note:'));
    // The SDK warns below its next required major (22 as of this SDK): a figure of Node's, not ours.
    expect(notes).toEqual(
      NODE_MAJOR < 22
        ? [
            `task: note: the AWS SDK's releases from January 2027 need Node 22 or later; this is Node ${process.version} (README: Runtimes)`,
          ]
        : [],
    );

    const quiet = await project.task(['-q', 'ecs', '--force']);
    expect(quiet.exitCode).toBe(0);
    expect(quiet.stdout).toBe('sts made\necs made');
    expect(quiet.stderr).toBe('');
  });
});
