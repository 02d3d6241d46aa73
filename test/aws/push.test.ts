/**
 * ENV:push against the emulated ECR, which answers image calls from a real registry. Docker is a
 * stand-in that does what the CLI does with the same inputs (push uploads through the registry
 * API with the credentials it finds in DOCKER_CONFIG's config.json), so these run without a
 * daemon; test/docker/aws-push.test.ts repeats the core case with the real CLI.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { BatchGetImageCommand } from '@aws-sdk/client-ecr';
import { describePush, push, type PushDocker, type PushOptions } from '../../src/aws/ecr.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { imageConfig, imageId, pushImage } from '../support/aws-emulator/registry-fixture.js';
import { callCount, failure, registryHarness, value } from './harness.js';

const world = registryHarness();

/** What the docker stand-in was asked to do, with no secret in it. */
interface DockerLog {
  calls: string[];
  configDirs: string[];
}

function fakeDocker(log: DockerLog, overrides: Partial<PushDocker> = {}): PushDocker {
  return {
    async tag(source, target) {
      log.calls.push(`tag ${source} ${target}`);
    },
    async push(ref, { configDir }) {
      log.calls.push(`push ${ref}`);
      if (!log.configDirs.includes(configDir)) log.configDirs.push(configDir);
      const config = JSON.parse(await readFile(path.join(configDir, 'config.json'), 'utf8')) as {
        auths: Record<string, { auth: string }>;
      };
      const [host = '', ...rest] = ref.split('/');
      const [repository = '', tag = ''] = rest.join('/').split(':');
      const [username = '', password = ''] = Buffer.from(config.auths[host]?.auth ?? '', 'base64')
        .toString()
        .split(':');
      await pushImage({ url: host, username: username as 'AWS', password }, repository, tag);
    },
    // Each local `<name>:<tag>` is the tiny image pushImage makes for the tag.
    imageInspect: (ref) => Promise.resolve({ id: imageId(ref.split(':').at(-1) ?? '') }),
    ...overrides,
  };
}

/** ECR's registry endpoint: the emulator, which fronts the real registry. */
const front = () => new URL(world.h.emu.endpoint).host;

/** Another run pushing `content` as `repository:tag` through ECR's front, just before us. */
const otherRun = (
  repository: string,
  tag: string,
  content: string,
  labels: Record<string, string> = {},
) => pushImage({ ...world.registry, url: front() }, repository, tag, content, labels);

/** The full fingerprint our build of `tag` has (the tag is its first 12 hex in real use). */
const fingerprintOf = (tag: string) => `${tag}-inputs`;

/** Machine B's build of `tag`: the same inputs as machine A's, other bytes. */
const builtHere = (tag: string) =>
  imageId(`machine B's build of ${tag}`, { 'taskgraph.fingerprint': fingerprintOf(tag) });

function options(docker: PushDocker, tags: { phpFpm: string; nginx: string }): PushOptions {
  return {
    ...world.h.ctx(),
    docker,
    images: {
      phpFpm: {
        source: `prod_example_php_fpm:${tags.phpFpm}`,
        tag: tags.phpFpm,
        fingerprint: fingerprintOf(tags.phpFpm),
      },
      nginx: {
        source: `prod_example_nginx:${tags.nginx}`,
        tag: tags.nginx,
        fingerprint: fingerprintOf(tags.nginx),
      },
    },
  };
}

describe('push', () => {
  test('creates repositories as the environment says, then pushes only missing tags', async () => {
    const log: DockerLog = { calls: [], configDirs: [] };
    const first = value(await push(options(fakeDocker(log), { phpFpm: 'a1', nginx: 'b1' })));
    expect(first.map((i) => [i.repository, i.outcome, i.repositoryCreated])).toEqual([
      ['staging_example_php_fpm', 'pushed', true],
      ['staging_example_nginx', 'pushed', true],
    ]);
    const repo = world.h.emu.ecr.repositories.get('staging_example_php_fpm');
    expect(repo?.sent).toMatchObject({
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: 'IMMUTABLE',
    });
    expect(JSON.parse(repo?.lifecyclePolicyText ?? '{}')).toMatchObject({
      rules: [
        { rulePriority: 1, selection: { tagStatus: 'tagged', tagPrefixList: ['deployed-'] } },
        { rulePriority: 2, selection: { tagStatus: 'any', countNumber: 20 } },
      ],
    });
    // The registry is the token's proxyEndpoint (the emulator's ECR front), not a setting.
    expect(log.calls).toEqual([
      `tag prod_example_php_fpm:a1 ${front()}/staging_example_php_fpm:a1`,
      `push ${front()}/staging_example_php_fpm:a1`,
      `tag prod_example_nginx:b1 ${front()}/staging_example_nginx:b1`,
      `push ${front()}/staging_example_nginx:b1`,
    ]);

    const again: DockerLog = { calls: [], configDirs: [] };
    const second = value(await push(options(fakeDocker(again), { phpFpm: 'a1', nginx: 'b1' })));
    expect(second.map((i) => i.outcome)).toEqual(['present', 'present']);
    expect(again.calls).toEqual([]);
    expect(callCount(world.h.emu, 'GetAuthorizationToken')).toBe(1);
    // The token is asked for the environment's registry, not the credentials' default one.
    expect(
      world.h.emu.requests.find((r) => r.operation === 'GetAuthorizationToken')?.input,
    ).toEqual({
      registryIds: [world.h.env.aws.accountId],
    });

    const source: DockerLog = { calls: [], configDirs: [] };
    value(await push(options(fakeDocker(source), { phpFpm: 'a2', nginx: 'b1' })));
    expect(source.calls.filter((c) => c.startsWith('push'))).toEqual([
      `push ${front()}/staging_example_php_fpm:a2`,
    ]);
  });

  test('the password never reaches a log line, an error or a file left behind', async () => {
    const log: DockerLog = { calls: [], configDirs: [] };
    value(await push(options(fakeDocker(log), { phpFpm: 'p1', nginx: 'n1' })));
    expect(log.configDirs).toHaveLength(1);
    expect(existsSync(log.configDirs[0] ?? '')).toBe(false);
    expect(world.h.lines.join('\n')).not.toContain(world.registry.password);

    const failing = fakeDocker(log, {
      async push(_ref, { configDir }) {
        // A docker that echoes what it read (a debug log, say) must not carry the secret out.
        const config = await readFile(path.join(configDir, 'config.json'), 'utf8');
        throw new Error(`push refused with ${config} for password ${world.registry.password}`);
      },
    });
    const result = await push(options(failing, { phpFpm: 'p2', nginx: 'n1' }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = describeAwsFailure(result.failure);
    expect(text).toContain('docker push');
    expect(text).not.toContain(world.registry.password);
    expect(JSON.stringify(result.failure)).not.toContain(world.registry.password);
    const token = Buffer.from(`AWS:${world.registry.password}`).toString('base64');
    expect(text).not.toContain(token);
    expect(text).toContain('push refused');
    expect(world.h.lines.join('\n')).not.toContain(world.registry.password);
  });

  test('the same image pushed meanwhile by another run: ECR refuses ours, and that is fine', async () => {
    const log: DockerLog = { calls: [], configDirs: [] };
    const plain = fakeDocker(log);
    const racing = fakeDocker(log, {
      async push(ref, pushOptions) {
        const [, repository = '', tag = ''] = /\/([^:]+):(.+)$/.exec(ref) ?? [];
        await otherRun(repository, tag, tag);
        // Ours now meets ECR's immutability on the real push path (the emulator's front).
        await plain.push(ref, pushOptions);
      },
    });
    const result = value(await push(options(racing, { phpFpm: 'r1', nginx: 'r1' })));
    expect(result.map((i) => i.outcome)).toEqual(['present', 'present']);
    expect(world.h.lines).toContain(
      'ecr staging_example_php_fpm:r1: pushed meanwhile by another run (same image)',
    );
  });

  test('another image under our immutable tag is an error that says so, not "already there"', async () => {
    const log: DockerLog = { calls: [], configDirs: [] };
    const plain = fakeDocker(log);
    const racing = fakeDocker(log, {
      async push(ref, pushOptions) {
        const [, repository = '', tag = ''] = /\/([^:]+):(.+)$/.exec(ref) ?? [];
        await otherRun(repository, tag, 'different bytes');
        await plain.push(ref, pushOptions);
      },
    });
    const raced = failure(await push(options(racing, { phpFpm: 'c1', nginx: 'c1' })));
    expect(raced).toMatchObject({
      reason: 'image-tag-conflict',
      repository: 'staging_example_php_fpm',
      tag: 'c1',
      local: imageId('c1'),
      remote: imageId('different bytes'),
      when: 'when our push was refused',
    });
    expect(describeAwsFailure(raced)).toContain(
      "ECR's staging_example_php_fpm:c1 holds a different image",
    );
    expect(describeAwsFailure(raced)).toContain('immutable tags, so this push cannot replace it');

    // Found before pushing too: a tag in ECR is compared by content, not taken on trust.
    await otherRun('staging_example_nginx', 'c2', 'not ours');
    const before = failure(await push(options(fakeDocker(log), { phpFpm: 'c1', nginx: 'c2' })));
    expect(before).toMatchObject({ reason: 'image-tag-conflict', when: 'before pushing' });
  });

  test('an image built elsewhere from the same inputs is already there: no second push, its digest is used', async () => {
    const log: DockerLog = { calls: [], configDirs: [] };
    value(await push(options(fakeDocker(log), { phpFpm: 'e0', nginx: 'e0' })));
    // Machine A built and pushed e1; machine B built the same inputs into other bytes (layer
    // mtimes, build timestamps), so only the fingerprint label says they are the same image.
    const machineA = {
      phpFpm: await otherRun('staging_example_php_fpm', 'e1', "machine A's build", {
        'taskgraph.fingerprint': fingerprintOf('e1'),
      }),
      nginx: await otherRun('staging_example_nginx', 'e1', "machine A's build", {
        'taskgraph.fingerprint': fingerprintOf('e1'),
      }),
    };
    const machineB: DockerLog = { calls: [], configDirs: [] };
    const docker = fakeDocker(machineB, {
      imageInspect: (ref) => Promise.resolve({ id: builtHere(ref.split(':').at(-1) ?? '') }),
    });
    const pushed = value(await push(options(docker, { phpFpm: 'e1', nginx: 'e1' })));
    expect(pushed).toMatchObject([
      { outcome: 'built-elsewhere', remoteDigest: machineA.phpFpm.digest },
      { outcome: 'built-elsewhere', remoteDigest: machineA.nginx.digest },
    ]);
    expect(machineB.calls).toEqual([]);
    // ECR still holds machine A's image under the tag: what the deploy's `repo:e1` resolves to.
    const held = await world.h.clients.ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'staging_example_php_fpm',
        imageIds: [{ imageTag: 'e1' }],
      }),
    );
    expect(held.images?.map((i) => i.imageId?.imageDigest)).toEqual([machineA.phpFpm.digest]);
    expect(describePush(pushed)).toContain(
      `staging_example_php_fpm:e1: already in the registry as ${machineA.phpFpm.digest}, built elsewhere from the same inputs; deploys run that image`,
    );
  });

  test("ECR's endpoint sends a blob GET to a pre-signed URL on another origin, which refuses the registry token", async () => {
    const log: DockerLog = { calls: [], configDirs: [] };
    value(await push(options(fakeDocker(log), { phpFpm: 'h0', nginx: 'h0' })));
    const config = imageId('h0');
    const token = Buffer.from(`AWS:${world.registry.password}`).toString('base64');
    const blob = `http://${front()}/v2/staging_example_php_fpm/blobs/${config}`;
    const redirect = await fetch(blob, {
      headers: { authorization: `Basic ${token}` },
      redirect: 'manual',
    });
    expect(redirect.status).toBe(307);
    const location = new URL(redirect.headers.get('location') ?? '');
    expect(location.origin).not.toBe(new URL(blob).origin);
    const carried = await fetch(location, { headers: { authorization: `Basic ${token}` } });
    expect([carried.status, await carried.text()]).toEqual([
      400,
      expect.stringContaining('Only one auth mechanism allowed'),
    ]);
    // As a client follows it (fetch drops Authorization on the way to another origin).
    const followed = await fetch(blob, { headers: { authorization: `Basic ${token}` } });
    expect(followed.status).toBe(200);
    expect(Buffer.from(await followed.arrayBuffer()).toString()).toBe(imageConfig('h0').toString());
  });

  test('a remote image under our tag from other inputs, or with no fingerprint label, is still the conflict', async () => {
    const log: DockerLog = { calls: [], configDirs: [] };
    value(await push(options(fakeDocker(log), { phpFpm: 'g0', nginx: 'g0' })));
    await otherRun('staging_example_php_fpm', 'g1', 'other inputs', {
      'taskgraph.fingerprint': 'someone-elses-inputs',
    });
    // g0 is the image pushed above; g1 and g2 are this machine's builds.
    const docker = fakeDocker(log, {
      imageInspect: (ref) => {
        const tag = ref.split(':').at(-1) ?? '';
        return Promise.resolve({ id: tag === 'g0' ? imageId(tag) : builtHere(tag) });
      },
    });
    const other = failure(await push(options(docker, { phpFpm: 'g1', nginx: 'g0' })));
    expect(other).toMatchObject({
      reason: 'image-tag-conflict',
      repository: 'staging_example_php_fpm',
      tag: 'g1',
      when: 'before pushing',
      remoteInputs: { kind: 'other', fingerprint: 'someone-elses-inputs' },
    });
    expect(describeAwsFailure(other)).toContain(
      `its taskgraph.fingerprint is someone-elses-inputs, ours ${fingerprintOf('g1')}`,
    );

    await otherRun('staging_example_nginx', 'g2', 'pushed by hand');
    const unlabelled = failure(await push(options(docker, { phpFpm: 'g0', nginx: 'g2' })));
    expect(unlabelled).toMatchObject({
      reason: 'image-tag-conflict',
      repository: 'staging_example_nginx',
      remoteInputs: { kind: 'unlabelled' },
    });
    expect(describeAwsFailure(unlabelled)).toContain('carries no taskgraph.fingerprint label');
    expect(log.calls.filter((c) => c.includes(':g1') || c.includes(':g2'))).toEqual([]);
  });

  test('without docker, a push that has something to push says so', async () => {
    const { docker: _docker, ...withoutDocker } = options(
      fakeDocker({ calls: [], configDirs: [] }),
      { phpFpm: 'x', nginx: 'y' },
    );
    const result = await push(withoutDocker);
    expect(result.ok ? '' : describeAwsFailure(result.failure)).toContain('needs Docker');
  });
});
