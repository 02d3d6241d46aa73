/**
 * `ENV:push`: every image the environment runs, into its ECR repository, pushing only the tags
 * the registry does not already have.
 *
 *   for each image: repository exists? ─ no ─> CreateRepository (scan on push, tag immutability)
 *                                             + lifecycle policy (src/aws/ecr-lifecycle.ts)
 *                   exists ─> lifecycle policy reconciled
 *                   DescribeImages(tag) ─ present ─> skip
 *   anything missing? ─> GetAuthorizationToken ─> config.json with the token in a throwaway
 *                        DOCKER_CONFIG ─> tag + push each ─> remove DOCKER_CONFIG
 *
 * The registry is the token's proxyEndpoint, not a setting. The token (base64 of `AWS:password`)
 * goes into the throwaway config.json and nowhere else: not argv, not a log line, not an error,
 * not a credential helper (see src/docker/registry-auth.ts for why there is no `docker login`).
 */
import {
  CreateRepositoryCommand,
  BatchGetImageCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { withRegistryAuth } from '../docker/registry-auth.js';
import { IMAGE_KEYS, type ImageKey } from '../environment.js';
import { requireAccount } from './account.js';
import { reconcileLifecyclePolicy } from './ecr-lifecycle.js';
import type { AwsContext } from './clients.js';
import { AwsFailure, awsCall, awsErrorName, runCommand, type Result } from './errors.js';

/** The docker operations a push needs; src/docker's adapter satisfies it. */
export interface PushDocker {
  tag(source: string, target: string): Promise<void>;
  push(ref: string, options: { configDir: string }): Promise<unknown>;
  /** The local image's id (the sha256 of its config), or undefined when there is none. */
  imageInspect(ref: string): Promise<{ readonly id: string } | undefined>;
}

/** A local image to push: `source` (e.g. `prod_example_php_fpm:0123456789ab`) as `tag`. */
export interface LocalImage {
  readonly source: string;
  readonly tag: string;
}

export interface PushOptions extends AwsContext {
  readonly docker?: PushDocker;
  readonly images: Readonly<Record<ImageKey, LocalImage>>;
  /** Parent of the throwaway DOCKER_CONFIG folder; default the OS temp dir. */
  readonly tmpDir?: string;
}

export interface PushedImage {
  readonly key: ImageKey;
  readonly repository: string;
  readonly tag: string;
  readonly outcome: 'pushed' | 'present';
  readonly repositoryCreated: boolean;
}

/** Pure: `AWS:<password>` from an ECR authorization token. */
export function decodeAuthorizationToken(token: string): { username: string; password: string } {
  const decoded = Buffer.from(token, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Pure: `host[:port]` of a proxyEndpoint such as `https://123.dkr.ecr.eu-west-1.amazonaws.com`. */
export function registryHost(proxyEndpoint: string): string {
  return proxyEndpoint.replace(/^[a-z]+:\/\//, '').replace(/\/+$/, '');
}

/** Pure: replaces every occurrence of each secret in `text`. */
export function redact(text: string, ...secrets: readonly (string | undefined)[]): string {
  return secrets.reduce<string>(
    (out, secret) => (secret === undefined || secret === '' ? out : out.split(secret).join('***')),
    text,
  );
}

async function ensureRepository(ctx: AwsContext, repository: string): Promise<boolean> {
  const { env } = ctx;
  const exists = await awsCall('ecr:DescribeRepositories', repository, async () => {
    try {
      await ctx.clients.ecr.send(
        new DescribeRepositoriesCommand({ repositoryNames: [repository] }),
      );
      return true;
    } catch (error) {
      if (awsErrorName(error) === 'RepositoryNotFoundException') return false;
      throw error;
    }
  });
  if (exists) {
    if (await reconcileLifecyclePolicy(ctx, repository)) {
      ctx.log(`ecr ${repository}: lifecycle policy updated to environments/${env.name}.ts's`);
    }
    return false;
  }
  await awsCall('ecr:CreateRepository', repository, async () => {
    try {
      await ctx.clients.ecr.send(
        new CreateRepositoryCommand({
          repositoryName: repository,
          imageScanningConfiguration: { scanOnPush: env.ecr.scanOnPush },
          imageTagMutability: env.ecr.tagImmutability ? 'IMMUTABLE' : 'MUTABLE',
          tags: [{ Key: 'taskgraph:environment', Value: env.name }],
        }),
      );
    } catch (error) {
      // Another run created it between our two calls: the same outcome.
      if (awsErrorName(error) !== 'RepositoryAlreadyExistsException') throw error;
    }
  });
  await reconcileLifecyclePolicy(ctx, repository);
  ctx.log(
    `ecr ${repository}: created (scan on push ${env.ecr.scanOnPush ? 'on' : 'off'}, tags ${env.ecr.tagImmutability ? 'immutable' : 'mutable'}, keep last ${env.ecr.lifecycle.keepLast})`,
  );
  return true;
}

/**
 * What ECR holds under `repository:tag`: its manifest digest and, for a single-platform image,
 * the config digest, which is the local image's id for the same image (a push never changes the
 * config blob). Undefined when the tag is not there.
 */
async function registryImage(
  ctx: AwsContext,
  repository: string,
  tag: string,
): Promise<{ digest: string; config: string | undefined } | undefined> {
  const out = await awsCall('ecr:BatchGetImage', `${repository}:${tag}`, () =>
    ctx.clients.ecr.send(
      new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] }),
    ),
  );
  const image = out.images?.[0];
  if (image?.imageManifest === undefined) return undefined;
  const manifest = JSON.parse(image.imageManifest) as { config?: { digest?: string } };
  return { digest: image.imageId?.imageDigest ?? '', config: manifest.config?.digest };
}

/**
 * Pure: whether ECR's image under our tag is our local image. An image index (several platforms)
 * has no single config to compare, and a missing local image cannot be compared: both count as
 * the same, as the tag (a content hash) says.
 */
export function sameImage(
  remote: { config: string | undefined },
  localId: string | undefined,
): boolean {
  return remote.config === undefined || localId === undefined || remote.config === localId;
}

async function authorization(ctx: AwsContext) {
  // Without registryIds ECR answers for "the default registry" of whoever the credentials are
  // (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetAuthorizationToken.html).
  // The SDK marks the member deprecated because it does not narrow the token's permissions; we
  // pass it for the proxyEndpoint, which must be the environment's registry and no other.
  const out = await awsCall('ecr:GetAuthorizationToken', ctx.env.ecr.registry, () =>
    ctx.clients.ecr.send(
      new GetAuthorizationTokenCommand({ registryIds: [ctx.env.aws.accountId] }),
    ),
  );
  const data = out.authorizationData?.[0];
  if (data?.authorizationToken === undefined || data.proxyEndpoint === undefined) {
    throw new AwsFailure({ reason: 'no-registry-token', environment: ctx.env.name });
  }
  return {
    token: data.authorizationToken,
    password: decodeAuthorizationToken(data.authorizationToken).password,
    host: registryHost(data.proxyEndpoint),
  };
}

async function dockerStep<T>(
  step: 'tag' | 'push',
  ref: string,
  secrets: { readonly token: string; readonly password: string },
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const detail = redact(
      error instanceof Error ? error.message : String(error),
      secrets.token,
      secrets.password,
    );
    throw new AwsFailure({ reason: 'docker-failed', step, ref, detail });
  }
}

export async function push(options: PushOptions): Promise<Result<PushedImage[]>> {
  return runCommand(async () => {
    const ctx = options;
    const { env } = ctx;
    await requireAccount(ctx);
    const planned: {
      key: ImageKey;
      repository: string;
      image: LocalImage;
      created: boolean;
      present: boolean;
    }[] = [];
    const localId = async (image: LocalImage) =>
      (await options.docker?.imageInspect(image.source))?.id;
    /** Throws image-tag-conflict unless ECR's image under the tag is ours. */
    const requireSame = async (repository: string, image: LocalImage, when: string) => {
      const remote = await registryImage(ctx, repository, image.tag);
      if (remote === undefined) return false;
      const local = await localId(image);
      if (sameImage(remote, local)) return true;
      throw new AwsFailure({
        reason: 'image-tag-conflict',
        environment: env.name,
        repository,
        tag: image.tag,
        source: image.source,
        local: local ?? '',
        remote: remote.config ?? remote.digest,
        immutable: env.ecr.tagImmutability,
        when,
      });
    };
    for (const key of IMAGE_KEYS) {
      const repository = env.ecr.repositories[key];
      const image = options.images[key];
      const created = await ensureRepository(ctx, repository);
      const present = !created && (await requireSame(repository, image, 'before pushing'));
      if (present) {
        ctx.log(`ecr ${repository}:${image.tag}: already in the registry (same image), not pushed`);
      }
      planned.push({ key, repository, image, created, present });
    }
    const missing = planned.filter((p) => !p.present);
    if (missing.length > 0) {
      const docker = options.docker;
      if (docker === undefined)
        throw new AwsFailure({ reason: 'no-docker', environment: env.name });
      const auth = await authorization(ctx);
      const registryAuth = { registry: auth.host, auth: auth.token };
      await withRegistryAuth(registryAuth, options, async (configDir) => {
        ctx.log(
          `ecr: credentials for ${auth.host} in a throwaway DOCKER_CONFIG (no credential helper)`,
        );
        for (const item of missing) {
          const target = `${auth.host}/${item.repository}:${item.image.tag}`;
          await dockerStep('tag', item.image.source, auth, () =>
            docker.tag(item.image.source, target),
          );
          ctx.log(`ecr: pushing ${target}`);
          try {
            await dockerStep('push', target, auth, () => docker.push(target, { configDir }));
          } catch (error) {
            // Refused, e.g. an immutable tag another run pushed meanwhile: fine if it holds this
            // very image, a conflict that says so if it holds another.
            if (await requireSame(item.repository, item.image, 'when our push was refused')) {
              ctx.log(
                `ecr ${item.repository}:${item.image.tag}: pushed meanwhile by another run (same image)`,
              );
              item.present = true;
              continue;
            }
            throw error;
          }
          // Checked by content, not by the tag alone: what ECR now holds must be what we pushed.
          if (!(await requireSame(item.repository, item.image, 'after our push'))) {
            throw new AwsFailure({
              reason: 'docker-failed',
              step: 'push',
              ref: target,
              detail: 'docker reported success, but ECR has no image under the tag',
            });
          }
        }
      });
    }
    return planned.map((p) => ({
      key: p.key,
      repository: p.repository,
      tag: p.image.tag,
      outcome: p.present ? ('present' as const) : ('pushed' as const),
      repositoryCreated: p.created,
    }));
  });
}

export function describePush(images: readonly PushedImage[]): string {
  return images
    .map(
      (i) =>
        `${i.repository}:${i.tag}: ${i.outcome === 'pushed' ? 'pushed' : 'already in the registry'}${i.repositoryCreated ? ' (repository created)' : ''}`,
    )
    .join('\n');
}
