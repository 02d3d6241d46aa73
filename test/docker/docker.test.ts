import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocker, type Docker } from '../../src/docker/docker.js';
import { DockerFailure, type DockerError } from '../../src/docker/errors.js';
import { dockerImageOutput } from '../../src/docker/image-output.js';
import { requireDocker } from '../support/docker-available.js';

const dockerReady = await requireDocker();

// setup.sh seeds this tag on machines without Docker Hub; everything here builds on it.
const BASE = 'debian:bookworm-slim';

async function failureOf(promise: Promise<unknown>): Promise<DockerError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof DockerFailure))
    throw new Error(`expected a DockerFailure, got ${String(error)}`);
  return error.error;
}

describe.skipIf(!dockerReady)('docker adapter', () => {
  const run = randomBytes(4).toString('hex');
  const labels = { 'taskgraph.test': `docker-${run}` };
  const image = `taskgraph-test/adapter:${run}`;
  let dir: string;
  let docker: Docker;
  let output: string[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'taskgraph-docker-test-'));
    output = [];
    docker = createDocker({ cwd: dir, onOutput: (line) => output.push(line) });
  });

  afterAll(async () => {
    if (docker !== undefined) {
      const containers = await docker.ps({ labels });
      await docker.rm(containers.map((container) => container.id));
      await docker.rmi([image, `${image}-retagged`]);
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('reports client and server versions', async () => {
    const version = await docker.version();
    expect(version.server).toMatch(/^\d+\.\d+/);
    expect(version.apiVersion).toMatch(/^1\.\d+$/);
  });

  it('builds with the classic builder, streams its steps and returns the image id', async () => {
    await writeFile(
      path.join(dir, 'Dockerfile'),
      `FROM ${BASE}\nARG GREETING\nRUN echo "$GREETING" > /greeting\nCMD ["cat", "/greeting"]\n`,
    );
    const { imageId } = await docker.build({
      file: 'Dockerfile',
      context: '.',
      tags: [image],
      buildArgs: { GREETING: `hello ${run}` },
      labels: { ...labels, 'org.example.commit': 'abc123' },
    });

    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(output.some((line) => /^Step 3\/\d+ : RUN echo/.test(line))).toBe(true);
    const info = await docker.imageInspect(image);
    expect(info?.id).toBe(imageId);
    expect(info?.repoTags).toContain(image);
    expect(info?.labels['org.example.commit']).toBe('abc123');
    expect((await docker.run({ image, labels })).stdout).toEqual([`hello ${run}`]);
  });

  it('names the failing step of a broken build', async () => {
    await writeFile(
      path.join(dir, 'Broken.Dockerfile'),
      `FROM ${BASE}\nRUN echo fine\nRUN echo "about to fail" && exit 3\nRUN echo never\n`,
    );
    const error = await failureOf(
      docker.build({ file: 'Broken.Dockerfile', context: '.', labels }),
    );

    expect(error).toMatchObject({
      reason: 'build-failed',
      dockerfile: 'Broken.Dockerfile',
      // 5, not 4: the classic builder adds a LABEL step for --label.
      step: { number: 3, total: 5, instruction: 'RUN echo "about to fail" && exit 3' },
    });
    expect(error.reason === 'build-failed' && error.lastLines.join('\n')).toMatch(/about to fail/);
    expect(error.reason === 'build-failed' && error.lastLines.join('\n')).toMatch(
      /non-zero code: 3/,
    );
  });

  it('reports a missing image as undefined from inspect and as data from tag and run', async () => {
    const missing = `taskgraph-test/missing:${run}`;
    expect(await docker.imageInspect(missing)).toBeUndefined();
    expect(await failureOf(docker.tag(missing, `${missing}-2`))).toEqual({
      reason: 'image-not-found',
      ref: missing,
    });
    expect(await failureOf(docker.run({ image: missing, pull: 'never', labels }))).toEqual({
      reason: 'image-not-found',
      ref: missing,
    });
  });

  it('passes container env values without putting them in argv', async () => {
    const secret = `s3cret-${run}`;
    const { stdout } = await docker.run({
      image: BASE,
      command: ['sh', '-c', 'echo "seen: $APP_SECRET"'],
      env: { APP_SECRET: secret },
      labels,
    });
    expect(stdout).toEqual([`seen: ${secret}`]);

    // docker exits 125 before starting anything; the error carries the argv it ran.
    const error = await failureOf(
      docker.run({ image: BASE, network: `no-such-network-${run}`, env: { APP_SECRET: secret } }),
    );
    expect(error.reason).toBe('command-failed');
    const argv = error.reason === 'command-failed' ? error.command : [];
    expect(argv).toContain('APP_SECRET');
    expect(argv.join(' ')).not.toContain(secret);
  });

  it('lists labelled containers and removes them, ignoring ids already gone', async () => {
    const { containerId } = await docker.runDetached({
      image: BASE,
      command: ['sleep', '60'],
      labels,
    });
    const container = (await docker.ps({ labels })).find((found) => found.id === containerId);
    expect(container).toMatchObject({ image: BASE, state: 'running', labels });

    await docker.rm([containerId, `taskgraph-test-no-such-container-${run}`]);
    expect((await docker.ps({ labels })).map((found) => found.id)).not.toContain(containerId);
  });

  it('turns a failing container into data with its exit code and last lines', async () => {
    const error = await failureOf(
      docker.run({ image: BASE, command: ['sh', '-c', 'echo migrating; exit 7'], labels }),
    );
    expect(error).toEqual({
      reason: 'container-failed',
      image: BASE,
      exitCode: 7,
      lastLines: ['migrating'],
    });
  });

  it('tracks a tag as an output whose digest is the image id', async () => {
    const retagged = `${image}-retagged`;
    const outputOf = dockerImageOutput(docker, retagged);
    expect(outputOf.id).toBe(`docker-image:${retagged}`);
    expect(await outputOf.digest()).toBeUndefined();
    await docker.tag(image, retagged);
    expect(await outputOf.digest()).toBe((await docker.imageInspect(image))?.id);
    await docker.rmi([retagged]);
    expect(await outputOf.digest()).toBeUndefined();
  });

  it('stops a running command when the signal aborts', async () => {
    const controller = new AbortController();
    const aborting = createDocker({ cwd: dir, signal: controller.signal });
    const started = Date.now();
    const name = `taskgraph-test-abort-${run}`;
    const running = aborting.run({ image: BASE, command: ['sleep', '300'], name, labels });
    setTimeout(() => controller.abort(new Error('stop requested')), 1_000);
    await expect(running).rejects.toThrow('stop requested');
    expect(Date.now() - started).toBeLessThan(30_000);
    // The container went with the client, instead of sleeping on in the background.
    expect((await docker.ps({ labels })).map((container) => container.name)).not.toContain(name);
  });

  it('reports an unreachable daemon and a missing CLI as data', async () => {
    const unreachable = createDocker({
      cwd: dir,
      env: { DOCKER_HOST: `unix://${path.join(dir, 'no-such.sock')}` },
    });
    const down = await failureOf(unreachable.version());
    expect(down.reason).toBe('daemon-down');

    const noCli = createDocker({ cwd: dir, env: { PATH: path.join(dir, 'empty-bin') } });
    expect(await failureOf(noCli.version())).toEqual({ reason: 'docker-missing' });
  });
});
