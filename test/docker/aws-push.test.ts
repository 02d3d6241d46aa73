/**
 * ENV:push with the real docker CLI (src/docker's adapter) into the emulated ECR, whose images
 * live in a real registry: login with the password on stdin into a throwaway DOCKER_CONFIG, tag,
 * push, and nothing of the password left anywhere afterwards.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { push, type PushDocker } from '../../src/aws/ecr.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { createDocker } from '../../src/docker/docker.js';
import { startHarness, type Harness } from '../aws/harness.js';
import { startRegistry, type Registry } from '../support/aws-emulator/registry-fixture.js';
import { requireDocker } from '../support/docker-available.js';

const dockerReady = await requireDocker({ commands: ['docker-registry', 'htpasswd'] });

describe.skipIf(!dockerReady)('push with the real docker CLI', () => {
  const run = randomBytes(4).toString('hex');
  const local = {
    phpFpm: `taskgraph-aws-push-php:${run}`,
    nginx: `taskgraph-aws-push-nginx:${run}`,
  };
  const dockerOutput: string[] = [];
  const docker = createDocker({ cwd: process.cwd(), onOutput: (line) => dockerOutput.push(line) });
  const created: string[] = [];
  let registry: Registry;
  let h: Harness;

  beforeAll(async () => {
    registry = await startRegistry();
    h = await startHarness({ registry: { url: registry.url, password: registry.password } });
    for (const ref of Object.values(local)) {
      await docker.tag('debian:bookworm-slim', ref);
      created.push(ref);
    }
  });

  afterAll(async () => {
    await docker.rmi(created);
    await h?.stop();
    await registry?.stop();
  });

  test('pushes each image once, through a DOCKER_CONFIG that is gone afterwards', async () => {
    const configDirs: string[] = [];
    const recording: PushDocker = {
      tag: async (source, target) => {
        created.push(target);
        await docker.tag(source, target);
      },
      push: (ref, options) => docker.push(ref, options),
      login: async (options) => {
        configDirs.push(options.configDir);
        await docker.login(options);
      },
    };
    const images = {
      phpFpm: { source: local.phpFpm, tag: run },
      nginx: { source: local.nginx, tag: run },
    };
    const first = await push({ ...h.ctx(), docker: recording, images });
    if (!first.ok) throw new Error(describeAwsFailure(first.failure));
    expect(first.value.map((i) => i.outcome)).toEqual(['pushed', 'pushed']);
    const tags = await fetch(`http://${registry.url}/v2/staging_example_php_fpm/tags/list`, {
      headers: {
        authorization: `Basic ${Buffer.from(`AWS:${registry.password}`).toString('base64')}`,
      },
    }).then((r) => r.json() as Promise<{ tags: string[] }>);
    expect(tags.tags).toEqual([run]);

    expect(configDirs).toHaveLength(1);
    expect(existsSync(configDirs[0] ?? '')).toBe(false);
    const everything = [...h.lines, ...dockerOutput].join('\n');
    expect(everything).not.toContain(registry.password);
    const userConfig = path.join(homedir(), '.docker', 'config.json');
    if (existsSync(userConfig)) {
      expect(await readFile(userConfig, 'utf8')).not.toContain(registry.url);
    }

    const second = await push({ ...h.ctx(), docker: recording, images });
    expect(second.ok && second.value.map((i) => i.outcome)).toEqual(['present', 'present']);
    expect(configDirs).toHaveLength(1);
  });
});
