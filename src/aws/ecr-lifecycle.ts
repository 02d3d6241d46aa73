/**
 * What ECR keeps: the repository's lifecycle policy, and the mark that protects every image a
 * deploy has run from it.
 *
 * ECR evaluates rules lowest rulePriority first, and "an image that matches the tagging
 * requirements of a higher priority rule cannot be expired by a rule with a lower priority"
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lifecycle_policy_evaluation).
 * So the policy has two rules:
 *
 *   1  tagged, prefix `deployed-`, more than 9999 images   matches every image a deploy ran;
 *                                                          lower rules can never expire them
 *   2  any, more than keepLast images                      expires the rest, oldest first
 *
 * A plain "keep the last N of everything" would expire the image the running revision (or the
 * rollback target) names once N newer images were pushed, and the next scale-out or rollback
 * fails with CannotPullContainerError. Before a deploy or create changes a service, it tags each
 * image its task definitions name `deployed-<tag>` with PutImage (the same manifest, a new tag:
 * no upload), so every revision a service runs or rollback can return to (both only ever come
 * from a deploy or create) names protected images.
 */
import {
  BatchGetImageCommand,
  GetLifecyclePolicyCommand,
  PutImageCommand,
  PutLifecyclePolicyCommand,
} from '@aws-sdk/client-ecr';
import type { EcsEnvironment } from '../environment.js';
import type { AwsContext } from './clients.js';
import { awsCall, awsErrorName } from './errors.js';
import type { RenderedTaskDefinitions } from './task-definitions.js';

/** The tag prefix that protects an image from the lifecycle policy. */
export const DEPLOYED_PREFIX = 'deployed-';

/** Pure: the environment's lifecycle policy text. */
export function lifecyclePolicy(env: EcsEnvironment): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: 'never expire an image a deploy has run (rollback may return to it)',
        selection: {
          tagStatus: 'tagged',
          tagPrefixList: [DEPLOYED_PREFIX],
          countType: 'imageCountMoreThan',
          countNumber: 9999,
        },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        description: `keep the last ${env.ecr.lifecycle.keepLast} images never deployed`,
        selection: {
          tagStatus: 'any',
          countType: 'imageCountMoreThan',
          countNumber: env.ecr.lifecycle.keepLast,
        },
        action: { type: 'expire' },
      },
    ],
  });
}

/** Pure: whether two policy texts say the same (ECR may reformat the JSON it stores). */
export function samePolicy(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}

/**
 * Puts the environment's policy on `repository` unless it already has exactly that one: a policy
 * changed in the environment file, or an old one that could expire running images, is replaced.
 * Returns whether it wrote.
 */
export async function reconcileLifecyclePolicy(
  ctx: AwsContext,
  repository: string,
): Promise<boolean> {
  const wanted = lifecyclePolicy(ctx.env);
  const current = await awsCall('ecr:GetLifecyclePolicy', repository, async () => {
    try {
      const out = await ctx.clients.ecr.send(
        new GetLifecyclePolicyCommand({ repositoryName: repository }),
      );
      return out.lifecyclePolicyText;
    } catch (error) {
      if (awsErrorName(error) === 'LifecyclePolicyNotFoundException') return undefined;
      throw error;
    }
  });
  if (samePolicy(current, wanted)) return false;
  await awsCall('ecr:PutLifecyclePolicy', repository, () =>
    ctx.clients.ecr.send(
      new PutLifecyclePolicyCommand({ repositoryName: repository, lifecyclePolicyText: wanted }),
    ),
  );
  return true;
}

/** Pure: `{ repository, tag }` of an image reference in the environment's registry, else undefined. */
export function ecrImage(
  env: EcsEnvironment,
  image: string,
): { repository: string; tag: string } | undefined {
  const prefix = `${env.ecr.registry}/`;
  if (!image.startsWith(prefix)) return undefined;
  const rest = image.slice(prefix.length);
  const colon = rest.lastIndexOf(':');
  if (colon <= 0 || rest.includes('@')) return undefined;
  const repository = rest.slice(0, colon);
  const known: readonly string[] = Object.values(env.ecr.repositories);
  return known.includes(repository) ? { repository, tag: rest.slice(colon + 1) } : undefined;
}

/** Pure: every container image the rendered task definitions of `services` name. */
export function imagesOf(
  rendered: RenderedTaskDefinitions,
  services: readonly { readonly key: string }[],
): string[] {
  return services.flatMap(({ key }) =>
    (rendered[key]?.containerDefinitions ?? []).flatMap((c) => (c.image ? [c.image] : [])),
  );
}

/**
 * Tags each ECR image in `images` `deployed-<tag>` (once: an existing mark is left alone).
 * An image missing from ECR is skipped; the deploy that needs it fails on its own, by name.
 */
export async function markDeployed(ctx: AwsContext, images: readonly string[]): Promise<void> {
  const wanted = new Map<string, { repository: string; tag: string }>();
  for (const image of images) {
    const found = ecrImage(ctx.env, image);
    if (found && !found.tag.startsWith(DEPLOYED_PREFIX)) wanted.set(image, found);
  }
  for (const { repository, tag } of wanted.values()) {
    const resource = `${repository}:${tag}`;
    const got = await awsCall('ecr:BatchGetImage', resource, async () => {
      try {
        return await ctx.clients.ecr.send(
          new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] }),
        );
      } catch (error) {
        if (awsErrorName(error) === 'RepositoryNotFoundException') return undefined;
        throw error;
      }
    });
    const image = got?.images?.[0];
    if (image?.imageManifest === undefined) {
      ctx.log(`ecr ${resource}: not in ECR, so not marked ${DEPLOYED_PREFIX}${tag}`);
      continue;
    }
    const mark = `${DEPLOYED_PREFIX}${tag}`;
    await awsCall('ecr:PutImage', `${repository}:${mark}`, async () => {
      try {
        await ctx.clients.ecr.send(
          new PutImageCommand({
            repositoryName: repository,
            imageManifest: image.imageManifest,
            imageManifestMediaType: image.imageManifestMediaType,
            imageTag: mark,
          }),
        );
        ctx.log(`ecr ${repository}:${tag}: marked ${mark} (the lifecycle policy keeps it)`);
      } catch (error) {
        // Marked already: by an earlier deploy of the same image (or, immutable, a racing one).
        const name = awsErrorName(error);
        if (name !== 'ImageAlreadyExistsException' && name !== 'ImageTagAlreadyExistsException') {
          throw error;
        }
      }
    });
  }
}
