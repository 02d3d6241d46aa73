/**
 * What makes the base image shareable between machines: the vendor archive is byte-identical for
 * the same lock wherever it is built, and a base image found in the cache registry is pulled
 * instead of running composer and a build. Real registry (docker-registry, htpasswd auth), real
 * `docker login` into a throwaway DOCKER_CONFIG, which is all the pipeline uses for credentials.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker } from '../support/docker-available.js';
import { startRegistry } from '../support/registry.js';
import type { TestRegistry } from '../support/registry.js';
import { Clone, imageId, removeTags, started, statuses, taggedBy } from './support/clone.js';

const dockerReady = await requireDocker({ commands: ['docker-registry', 'htpasswd'] });

describe.skipIf(!dockerReady)('sharing the dependency tree', () => {
  let clone: Clone;
  let devImage: string;

  beforeAll(async () => {
    clone = await Clone.create();
    await clone.isolateImages();
    const dev = await clone.task(['images:dev-php-fpm']);
    expect(dev.exitCode, dev.text).toBe(0);
    devImage = taggedBy(dev, 'images:dev-php-fpm');
  });

  afterAll(async () => {
    await clone?.remove();
  });

  it('makes the same vendor archive in two copies made at different times', async () => {
    const first = await clone.task(['vendor:archive']);
    expect(first.exitCode, first.text).toBe(0);

    const other = await Clone.create();
    try {
      await other.isolateImages();
      // Far from the first copy's mtimes, so the archive cannot be identical by luck of timing.
      const past = new Date('2001-09-09T01:46:40Z');
      for (const entry of await readdir(other.path('example'), { recursive: true })) {
        await utimes(other.path('example', entry), past, past);
      }
      const second = await other.task(['vendor:archive']);
      expect(second.exitCode, second.text).toBe(0);
      expect(statuses(second)['vendor:install']).toBe('ran');

      const mtime = async (c: Clone) => (await stat(c.path('example/composer.lock'))).mtimeMs;
      expect(await mtime(other)).not.toBe(await mtime(clone));
      const vendorTime = async (c: Clone) =>
        (await stat(c.path('example/vendor/autoload.php'))).mtimeMs;
      expect(await vendorTime(other)).not.toBe(await vendorTime(clone));
      expect(await sha256(other.path('build/base/vendor.tar'))).toBe(
        await sha256(clone.path('build/base/vendor.tar')),
      );
    } finally {
      await other.remove();
    }
  });

  describe('with a cache registry', () => {
    let registry: TestRegistry;
    let dockerConfig: string;
    let env: Record<string, string>;

    beforeAll(async () => {
      registry = await startRegistry();
      dockerConfig = await mkdtemp(path.join(tmpdir(), 'taskgraph-docker-config-'));
      await execa(
        'docker',
        ['--config', dockerConfig, 'login', registry.url, '-u', 'AWS', '--password-stdin'],
        { input: registry.password },
      );
      env = { DOCKER_CONFIG: dockerConfig, TASKGRAPH_CACHE_REGISTRY: `${registry.url}/cache` };
    });

    afterAll(async () => {
      await registry?.stop();
      if (dockerConfig !== undefined) await rm(dockerConfig, { recursive: true, force: true });
    });

    it('pulls the base image instead of running composer when it is only in the registry', async () => {
      const build = await clone.task(['images:build'], env);
      expect(build.exitCode, build.text).toBe(0);
      expect(statuses(build)['base:rebuild']).toBe('ran');
      expect(build.text).not.toContain('could not push');
      const base = taggedBy(build, 'base:rebuild');
      const cached = `${registry.url}/cache/${base}`;
      clone.own(cached);
      expect(await registryTags(registry, 'cache/base_prod_example_php_fpm')).toContain(
        base.split(':')[1],
      );
      const baseId = await imageId(base);
      const prod = taggedBy(build, 'images:build');
      const prodCached = `${registry.url}/cache/${prod}`;
      clone.own(prodCached);
      const prodId = await imageId(prod);

      // This machine now looks like a fresh one: none of the three images is here.
      const local = [devImage, base, prod];
      await removeTags([...local, cached, prodCached]);
      for (const ref of local) expect(await imageId(ref), ref).toBeUndefined();

      const run = await clone.task(['base:rebuild'], env);
      expect(run.exitCode, run.text).toBe(0);
      expect(statuses(run)).toEqual({ 'images:dev-php-fpm': 'ran', 'base:rebuild': 'ran' });
      expect(started(run)).not.toContain('vendor:install');
      expect(run.text).not.toMatch(/Installing dependencies|Step \d+\/\d+ : ADD build\/vendor/);
      expect(run.text).toContain(`pulled ${cached}`);
      // The very image that was pushed: same config digest, so the same image id.
      expect(await imageId(base)).toBe(baseId);

      // The production image too: the other machine's digest, not a rebuild of its own bytes.
      const prodRun = await clone.task(['images:build'], env);
      expect(prodRun.exitCode, prodRun.text).toBe(0);
      expect(statuses(prodRun)['images:build']).toBe('ran');
      expect(prodRun.text).toContain(`pulled ${prodCached}`);
      expect(await imageId(prod)).toBe(prodId);
    });
  });
});

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

async function registryTags(registry: TestRegistry, repository: string): Promise<string[]> {
  const response = await fetch(`http://${registry.url}/v2/${repository}/tags/list`, {
    headers: {
      Authorization: `Basic ${Buffer.from(`AWS:${registry.password}`).toString('base64')}`,
    },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { tags: string[] }).tags;
}
