/**
 * Contract tests for the emulated ECR: the real @aws-sdk client (reached through
 * AWS_ENDPOINT_URL_ECR) against the emulator, which answers image calls from a real
 * `docker-registry`; images are pushed through the registry's HTTP API, no Docker daemon.
 */
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  PutImageCommand,
  PutLifecyclePolicyCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { manualClock } from './support/aws-emulator/clock.js';
import {
  pushImage,
  startRegistry,
  type Registry,
} from './support/aws-emulator/registry-fixture.js';
import { errorOf, pointSdkAt } from './support/aws-emulator/sdk-env.js';
import { startAwsEmulator, type AwsEmulator } from './support/aws-emulator/server.js';

let registry: Registry;
/** http://host:port: the registry fixture gives host:port, as docker wants it. */
let registryUrl: string;
let emu: AwsEmulator;
let ecr: ECRClient;

beforeAll(async () => {
  registry = await startRegistry();
  registryUrl = `http://${registry.url}`;
});

afterAll(async () => {
  await registry.stop();
});

beforeEach(async () => {
  emu = await startAwsEmulator({
    clock: manualClock({ stepSeconds: 5 }),
    registry: { url: registryUrl, password: registry.password },
  });
  pointSdkAt(emu);
  ecr = new ECRClient({});
  return async () => {
    ecr.destroy();
    vi.unstubAllEnvs();
    await emu.stop();
  };
});

describe('ECR, backed by a real registry', () => {
  test('authorization token logs in to the registry behind proxyEndpoint', async () => {
    const out = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = out.authorizationData?.[0];
    // The emulator is ECR's registry endpoint too, fronting the real registry.
    expect(data?.proxyEndpoint).toBe(emu.endpoint);
    expect(data?.expiresAt).toBeInstanceOf(Date);
    const token = Buffer.from(data?.authorizationToken ?? '', 'base64').toString();
    expect(token).toBe(`AWS:${registry.password}`);
    const v2 = await fetch(`${emu.endpoint}/v2/`, {
      headers: { authorization: `Basic ${data?.authorizationToken ?? ''}` },
    });
    expect(v2.status).toBe(200);
  });

  test('repositories: create, describe, lifecycle policy, errors', async () => {
    const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'prod/web' }));
    expect(created.repository).toMatchObject({
      repositoryName: 'prod/web',
      registryId: '123456789012',
      repositoryUri: `${new URL(emu.endpoint).host}/prod/web`,
      repositoryArn: 'arn:aws:ecr:us-east-1:123456789012:repository/prod/web',
    });
    const again = await errorOf(
      ecr.send(new CreateRepositoryCommand({ repositoryName: 'prod/web' })),
    );
    expect(again.name).toBe('RepositoryAlreadyExistsException');
    const missing = await errorOf(
      ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['nope'] })),
    );
    expect(missing.name).toBe('RepositoryNotFoundException');
    const all = await ecr.send(new DescribeRepositoriesCommand({}));
    expect(all.repositories?.map((r) => r.repositoryName)).toEqual(['prod/web']);

    const policy = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          description: 'keep the last 30 images',
          selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 30 },
          action: { type: 'expire' },
        },
      ],
    });
    const put = await ecr.send(
      new PutLifecyclePolicyCommand({ repositoryName: 'prod/web', lifecyclePolicyText: policy }),
    );
    expect(put.lifecyclePolicyText).toBe(policy);
    expect(emu.ecr.repositories.get('prod/web')?.lifecyclePolicyText).toBe(policy);
  });

  test('tag immutability on the real push path and on PutImage', async () => {
    await ecr.send(
      new CreateRepositoryCommand({ repositoryName: 'locked', imageTagMutability: 'IMMUTABLE' }),
    );
    const front = {
      url: new URL(emu.endpoint).host,
      username: 'AWS' as const,
      password: registry.password,
    };
    const first = await pushImage(front, 'locked', 'v1', 'one');
    // The same tag with other content, through the registry API as docker push does it.
    const refused = await pushImage(front, 'locked', 'v1', 'two').catch((e: unknown) => e);
    expect(String(refused)).toContain('manifest push failed: 400');
    expect(String(refused)).toContain(
      'TAG_INVALID","message":"The image tag \'v1\' already exists in the \'locked\' repository and cannot be overwritten because the repository is immutable.',
    );
    const unknown = await pushImage(front, 'never-created', 'v1').catch((e: unknown) => e);
    expect(String(unknown)).toContain('404');

    const manifest = JSON.stringify({ ...JSON.parse(first.manifest), annotations: { x: 'y' } });
    const tagTaken = await errorOf(
      ecr.send(
        new PutImageCommand({ repositoryName: 'locked', imageManifest: manifest, imageTag: 'v1' }),
      ),
    );
    expect(tagTaken.name).toBe('ImageTagAlreadyExistsException');
    const same = await errorOf(
      ecr.send(
        new PutImageCommand({
          repositoryName: 'locked',
          imageManifest: first.manifest,
          imageTag: 'v1',
        }),
      ),
    );
    expect(same.name).toBe('ImageAlreadyExistsException');
    const retag = await ecr.send(
      new PutImageCommand({
        repositoryName: 'locked',
        imageManifest: first.manifest,
        imageTag: 'v1-kept',
      }),
    );
    expect(retag.image?.imageId?.imageDigest).toBe(first.digest);
  });

  test('DescribeImages and BatchGetImage answer from the registry', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'images-test' }));
    const empty = await ecr.send(new DescribeImagesCommand({ repositoryName: 'images-test' }));
    expect(empty.imageDetails).toEqual([]);

    const pushed = await pushImage(registry, 'images-test', 'v1');
    await pushImage(registry, 'images-test', 'latest', 'v1');
    const out = await ecr.send(new DescribeImagesCommand({ repositoryName: 'images-test' }));
    expect(out.imageDetails).toHaveLength(1);
    expect(out.imageDetails?.[0]).toMatchObject({
      repositoryName: 'images-test',
      imageDigest: pushed.digest,
      imageTags: ['latest', 'v1'],
      imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    });
    expect(out.imageDetails?.[0]?.imageSizeInBytes).toBeGreaterThan(0);
    expect(out.imageDetails?.[0]?.imagePushedAt).toBeInstanceOf(Date);

    const byTag = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'images-test', imageIds: [{ imageTag: 'v1' }] }),
    );
    expect(byTag.imageDetails?.[0]?.imageDigest).toBe(pushed.digest);
    const missing = await errorOf(
      ecr.send(
        new DescribeImagesCommand({
          repositoryName: 'images-test',
          imageIds: [{ imageTag: 'v9' }],
        }),
      ),
    );
    expect(missing.name).toBe('ImageNotFoundException');

    const batch = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'images-test',
        imageIds: [{ imageTag: 'v1' }, { imageTag: 'v9' }],
      }),
    );
    expect(batch.images?.[0]).toMatchObject({
      imageId: { imageTag: 'v1', imageDigest: pushed.digest },
      imageManifest: pushed.manifest,
    });
    expect(batch.failures).toEqual([
      {
        imageId: { imageTag: 'v9' },
        failureCode: 'ImageNotFound',
        failureReason: 'Requested image not found',
      },
    ]);
  });
});
