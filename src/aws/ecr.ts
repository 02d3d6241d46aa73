/**
 * `ENV:push`: every image the environment runs, into its ECR repository, pushing only the tags
 * the registry does not already have.
 *
 *   for each image: repository exists? ─ no ─> CreateRepository (scan on push, tag immutability)
 *                                             + lifecycle policy (src/aws/ecr-lifecycle.ts)
 *                   exists ─> lifecycle policy reconciled
 *                   BatchGetImage(tag) ─ our image (same config) ─> skip
 *                                      ─ another digest, same taskgraph.fingerprint label
 *                                        (built elsewhere from the same inputs) ─> skip, use it
 *                                      ─ other inputs, or no label ─> image-tag-conflict
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
import { FINGERPRINT_LABEL, remoteLabels, type RegistryEndpoint } from './ecr-image-config.js';
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
  /** The full fingerprint of the inputs that built it (the tag is its first 12 hex). */
  readonly fingerprint: string;
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
  /**
   * `built-elsewhere`: ECR already held an image with another digest under the tag, built from the
   * same inputs (its fingerprint label is ours); deploys run that one, named by `remoteDigest`.
   */
  readonly outcome: 'pushed' | 'present' | 'built-elsewhere';
  readonly repositoryCreated: boolean;
  /** The manifest digest ECR holds under the tag, when it was there before this push. */
  readonly remoteDigest?: string | undefined;
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

async function authorization(ctx: AwsContext): Promise<RegistryEndpoint & Credentials> {
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
    endpoint: data.proxyEndpoint,
  };
}

interface Credentials {
  readonly token: string;
  readonly password: string;
  readonly host: string;
}

/** What ECR holds under our tag, compared with our image. */
type Comparison =
  | { readonly kind: 'absent' }
  | { readonly kind: 'same' }
  | { readonly kind: 'built-elsewhere'; readonly digest: string };

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
      comparison: Comparison;
    }[] = [];
    const localId = async (image: LocalImage) =>
      (await options.docker?.imageInspect(image.source))?.id;
    // Asked for once, and only when needed: to push, or to read a remote image's labels.
    let token: Promise<RegistryEndpoint & Credentials> | undefined;
    const registryAccess = () => (token ??= authorization(ctx));
    /**
     * ECR's image under the tag: ours, or built elsewhere from the same inputs (another digest
     * whose fingerprint label is ours). Anything else throws image-tag-conflict.
     */
    const compare = async (
      repository: string,
      image: LocalImage,
      when: string,
    ): Promise<Comparison> => {
      const remote = await registryImage(ctx, repository, image.tag);
      if (remote === undefined) return { kind: 'absent' };
      const local = await localId(image);
      if (sameImage(remote, local)) return { kind: 'same' };
      const labels =
        remote.config === undefined
          ? ({ ok: false, why: 'it has no single config' } as const)
          : await remoteLabels(await registryAccess(), repository, remote.config);
      const remoteFingerprint = labels.ok ? labels.labels[FINGERPRINT_LABEL] : undefined;
      if (remoteFingerprint === image.fingerprint) {
        return { kind: 'built-elsewhere', digest: remote.digest };
      }
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
        fingerprint: image.fingerprint,
        remoteInputs: labels.ok
          ? remoteFingerprint === undefined
            ? { kind: 'unlabelled' }
            : { kind: 'other', fingerprint: remoteFingerprint }
          : { kind: 'unreadable', why: labels.why },
      });
    };
    const found = (repository: string, tag: string, comparison: Comparison) => {
      if (comparison.kind === 'built-elsewhere') {
        ctx.log(
          `ecr ${repository}:${tag}: already in the registry as ${comparison.digest}, built elsewhere from the same inputs (same taskgraph.fingerprint); deploys run that image, not pushed`,
        );
      }
    };
    for (const key of IMAGE_KEYS) {
      const repository = env.ecr.repositories[key];
      const image = options.images[key];
      const created = await ensureRepository(ctx, repository);
      const comparison = created
        ? ({ kind: 'absent' } as const)
        : await compare(repository, image, 'before pushing');
      if (comparison.kind === 'same') {
        ctx.log(`ecr ${repository}:${image.tag}: already in the registry (same image), not pushed`);
      }
      found(repository, image.tag, comparison);
      planned.push({ key, repository, image, created, comparison });
    }
    const missing = planned.filter((p) => p.comparison.kind === 'absent');
    if (missing.length > 0) {
      const docker = options.docker;
      if (docker === undefined)
        throw new AwsFailure({ reason: 'no-docker', environment: env.name });
      const auth = await registryAccess();
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
            const raced = await compare(item.repository, item.image, 'when our push was refused');
            if (raced.kind === 'same') {
              ctx.log(
                `ecr ${item.repository}:${item.image.tag}: pushed meanwhile by another run (same image)`,
              );
            }
            found(item.repository, item.image.tag, raced);
            if (raced.kind === 'absent') throw error;
            item.comparison = raced;
            continue;
          }
          // Checked by content, not by the tag alone: what ECR now holds must be what we pushed.
          const after = await compare(item.repository, item.image, 'after our push');
          if (after.kind === 'absent') {
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
      outcome:
        p.comparison.kind === 'absent'
          ? ('pushed' as const)
          : p.comparison.kind === 'same'
            ? ('present' as const)
            : ('built-elsewhere' as const),
      repositoryCreated: p.created,
      remoteDigest: p.comparison.kind === 'built-elsewhere' ? p.comparison.digest : undefined,
    }));
  });
}

export function describePush(images: readonly PushedImage[]): string {
  return images
    .map(
      (i) =>
        `${i.repository}:${i.tag}: ${pushOutcome(i)}${i.repositoryCreated ? ' (repository created)' : ''}`,
    )
    .join('\n');
}

function pushOutcome(image: PushedImage): string {
  switch (image.outcome) {
    case 'pushed':
      return 'pushed';
    case 'present':
      return 'already in the registry';
    case 'built-elsewhere':
      return `already in the registry as ${image.remoteDigest ?? 'another digest'}, built elsewhere from the same inputs; deploys run that image`;
  }
}
