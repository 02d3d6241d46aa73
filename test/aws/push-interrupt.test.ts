/**
 * Ctrl-C during `docker push`: a real `task` process running ENV:push's library code is sent
 * SIGINT while the push hangs, and the throwaway DOCKER_CONFIG holding the ECR token must be gone
 * when it exits. `docker` is a shim on PATH (tag succeeds, push hangs), so no daemon is needed;
 * ECR is the emulator, backed by a real registry for the token.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import staging from '../../environments/staging.js';
import { startAwsEmulator, type AwsEmulator } from '../support/aws-emulator/server.js';
import { startRegistry, type Registry } from '../support/aws-emulator/registry-fixture.js';
import { Project, REPO } from '../support/project.js';
import { waitFor } from '../support/wait.js';

let registry: Registry;
let emu: AwsEmulator;
let project: Project | undefined;

beforeAll(async () => {
  registry = await startRegistry();
  emu = await startAwsEmulator({
    region: staging.aws.region,
    accountId: staging.aws.accountId,
    registry: { url: registry.url, password: registry.password },
  });
});

afterAll(async () => {
  project?.remove();
  await emu?.stop();
  await registry?.stop();
});

// The pipeline's library code as the repository's own tasks reach it: by path, not as package API.
const SRC = path.join(REPO, 'src');

const TASKFILE = `import { readFileSync } from 'node:fs';
import { task, TaskError } from 'taskgraph';
import { push } from '${SRC}/aws/ecr.ts';
import { describeAwsFailure } from '${SRC}/aws/errors.ts';
import { createAwsClients, destroyAwsClients, systemClock } from '${SRC}/aws/clients.ts';
import { createDocker } from '${SRC}/docker/docker.ts';

task('push', {
  run: async (ctx) => {
    const env = JSON.parse(readFileSync('env.json', 'utf8'));
    const clients = createAwsClients(env);
    try {
      const result = await push({
        env, clients, clock: systemClock, log: (line) => ctx.log(line), signal: ctx.signal,
        docker: createDocker({ cwd: ctx.root, signal: ctx.signal, onOutput: (l) => ctx.log(l) }),
        images: { phpFpm: { source: 'php:1', tag: 't1' }, nginx: { source: 'nginx:1', tag: 't1' } },
      });
      if (!result.ok) throw new TaskError({ reason: 'reported', message: describeAwsFailure(result.failure) });
    } finally {
      destroyAwsClients(clients);
    }
  },
});
`;

test('Ctrl-C during docker push removes the throwaway DOCKER_CONFIG before the process exits', async () => {
  project = new Project({ 'Taskfile.ts': TASKFILE, 'env.json': JSON.stringify(staging) });
  // The AWS SDK, which the sources import, from the repository's install.
  await symlink(path.join(REPO, 'node_modules'), project.path('node_modules'));
  const bin = project.path('bin');
  const tmp = project.path('tmp');
  await mkdir(bin);
  await mkdir(tmp);
  // The shim records what its DOCKER_CONFIG holds and where it is, then hangs in push. Each file
  // appears whole (written under a temporary name, then renamed), and config-dir last: `echo >`
  // creates the file before writing it, so a test waiting for it to exist could read it empty.
  const seenConfig = project.path('seen-config.json');
  const configDirFile = project.path('config-dir');
  await writeFile(
    path.join(bin, 'docker'),
    `#!/bin/sh
case "$1" in
  push) cp "$DOCKER_CONFIG/config.json" '${seenConfig}.'$$ && mv '${seenConfig}.'$$ '${seenConfig}'
        echo "$DOCKER_CONFIG" > '${configDirFile}.'$$ && mv '${configDirFile}.'$$ '${configDirFile}'
        exec sleep 60 ;;
  *) exit 0 ;;
esac
`,
  );
  await chmod(path.join(bin, 'docker'), 0o755);
  const child = project.spawn(['push'], {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    TMPDIR: tmp,
    AWS_ENDPOINT_URL_ECS: emu.endpoint,
    AWS_ENDPOINT_URL_ECR: emu.endpoint,
    AWS_ENDPOINT_URL_STS: emu.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDINTERRUPT',
    AWS_SECRET_ACCESS_KEY: 'interrupt-secret',
    AWS_REGION: staging.aws.region,
  });
  await waitFor(() => existsSync(configDirFile), 20_000);
  const configDir = (await readFile(configDirFile, 'utf8')).trim();
  expect(configDir.startsWith(tmp)).toBe(true);
  expect(existsSync(path.join(configDir, 'config.json'))).toBe(true);
  const seen = JSON.parse(await readFile(seenConfig, 'utf8')) as unknown;
  // The credential docker reads is ours, as the token came: base64 of AWS:password.
  expect(seen).toEqual({
    auths: {
      [new URL(emu.endpoint).host]: {
        auth: Buffer.from(`AWS:${registry.password}`).toString('base64'),
      },
    },
  });

  child.kill('SIGINT');
  const result = await child;
  expect(result.exitCode).toBe(130);
  expect(existsSync(configDir)).toBe(false);
  expect(await readdir(tmp)).toEqual([]);
  expect(`${String(result.stdout)}${String(result.stderr)}`).not.toContain(registry.password);
}, 60_000);
