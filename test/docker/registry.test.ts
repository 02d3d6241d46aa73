import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocker, type Docker } from '../../src/docker/docker.js';
import { DockerFailure } from '../../src/docker/errors.js';
import { registryImageOutput } from '../../src/docker/image-output.js';
import { requireDocker } from '../support/docker-available.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

const dockerReady = await requireDocker({ commands: ['docker-registry', 'htpasswd'] });

const MANIFEST_TYPES =
  'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';

describe.skipIf(!dockerReady)('test registry', () => {
  const run = randomBytes(4).toString('hex');
  const label = { 'taskgraph.test': `registry-${run}` };
  let registry: TestRegistry;
  let dir: string;
  let docker: Docker;
  let ref: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'taskgraph-registry-test-'));
    registry = await startRegistry({ dir });
    docker = createDocker({ cwd: dir });
    // A one-file image FROM scratch: the smallest thing a registry will store, and unique per run.
    await writeFile(path.join(dir, 'hello.txt'), `hello ${run}\n`);
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /\n');
    ref = `${registry.url}/taskgraph-test/tiny:${run}`;
    await docker.build({ file: 'Dockerfile', context: '.', tags: [ref], labels: label });
  });

  afterAll(async () => {
    await docker?.rmi([ref]);
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers /v2/ with 401 until credentials are given', async () => {
    expect((await fetch(`http://${registry.url}/v2/`)).status).toBe(401);
    const authorized = await fetch(`http://${registry.url}/v2/`, {
      headers: { Authorization: basicAuth(registry.username, registry.password) },
    });
    expect(authorized.status).toBe(200);
  });

  it('takes a docker login on stdin and a push, and serves the manifest', async () => {
    const configDir = path.join(dir, 'docker-config');
    await docker.login({
      registry: registry.url,
      username: registry.username,
      password: registry.password,
      configDir,
    });
    // The credentials went to the throwaway config, not the user's ~/.docker.
    const config = JSON.parse(await readFile(path.join(configDir, 'config.json'), 'utf8')) as {
      auths: Record<string, unknown>;
    };
    expect(Object.keys(config.auths)).toContain(registry.url);

    const { digest } = await docker.push(ref, { configDir });
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const response = await fetch(`http://${registry.url}/v2/taskgraph-test/tiny/manifests/${run}`, {
      method: 'HEAD',
      headers: { Authorization: basicAuth('AWS', registry.password), Accept: MANIFEST_TYPES },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(digest);

    const output = registryImageOutput({
      registry: registry.url,
      repository: 'taskgraph-test/tiny',
      tag: run,
      username: registry.username,
      password: registry.password,
    });
    expect(output.id).toBe(`registry-image:${registry.url}/taskgraph-test/tiny:${run}`);
    expect(await output.digest()).toBe(digest);
  });

  it('reports a missing tag as no digest', async () => {
    const output = registryImageOutput({
      registry: registry.url,
      repository: 'taskgraph-test/tiny',
      tag: `missing-${run}`,
      username: 'AWS',
      password: registry.password,
    });
    expect(await output.digest()).toBeUndefined();
  });

  it('reports bad credentials as a registry error, not as a missing image', async () => {
    const output = registryImageOutput({
      registry: registry.url,
      repository: 'taskgraph-test/tiny',
      tag: run,
      username: 'AWS',
      password: 'wrong',
    });
    const failure = await Promise.resolve(output.digest()).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(DockerFailure);
    expect((failure as DockerFailure).error).toMatchObject({
      reason: 'registry-error',
      status: 401,
    });
  });

  it('rejects a wrong password at login', async () => {
    const configDir = path.join(dir, 'docker-config-wrong');
    const wrong = `not-the-password-${run}`;
    const failure = await docker
      .login({ registry: registry.url, username: 'AWS', password: wrong, configDir })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(DockerFailure);
    expect((failure as DockerFailure).error).toMatchObject({
      reason: 'login-failed',
      registry: registry.url,
    });
    expect((failure as DockerFailure).message).not.toContain(wrong);
  });

  it('removes its scratch directory on stop', async () => {
    const scratchDirs = async () =>
      (await readdir(dir)).filter((name) => name.startsWith('taskgraph-registry-'));
    const other = await startRegistry({ dir });
    const before = await scratchDirs();
    await other.stop();
    expect((await scratchDirs()).length).toBe(before.length - 1);
    await expect(fetch(`http://${other.url}/v2/`)).rejects.toThrow();
    await expect(stat(dir)).resolves.toBeDefined();
  });
});

function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
