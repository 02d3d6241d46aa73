/**
 * ECR: repositories live in the emulator, images in the real registry it fronts. Repository
 * `app` here is repository `app` in the registry, so `docker push <repositoryUri>:tag` after a
 * `docker login` with GetAuthorizationToken's password lands where DescribeImages looks.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ecrArn, type Account } from './arn.js';
import { lifecycleExpired } from './lifecycle.js';
import { AwsError, defined, epochSeconds, fail, parseInput, type Handlers } from './protocol.js';
import {
  registryBase,
  registryClient,
  registryUser,
  type Manifest,
  type RegistryAccess,
} from './registry-client.js';

export interface RepositoryRecord {
  arn: string;
  name: string;
  createdAt: number;
  /** Members as sent to CreateRepository (tag mutability, scanning, encryption), without tags. */
  sent: Record<string, unknown>;
  tags: unknown[];
  lifecyclePolicyText: string | undefined;
}

export interface EcrState {
  readonly account: Account;
  repositories: Map<string, RepositoryRecord>;
  /** When the emulator first saw each digest: the registry API does not say when it was pushed. */
  firstSeen: Map<string, number>;
}

const repositoryName = z
  .string()
  .min(2)
  .max(256)
  .regex(
    /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/,
    'invalid repository name',
  );

const imageId = z.object({ imageTag: z.string().optional(), imageDigest: z.string().optional() });

const createRepositoryInput = z
  .object({
    repositoryName,
    tags: z.array(z.unknown()).optional(),
    registryId: z.string().optional(),
  })
  .passthrough();
const describeRepositoriesInput = z
  .object({ repositoryNames: z.array(z.string()).optional() })
  .passthrough();
const putLifecyclePolicyInput = z
  .object({ repositoryName: z.string(), lifecyclePolicyText: z.string().min(100).max(30720) })
  .passthrough();
const describeImagesInput = z
  .object({
    repositoryName: z.string(),
    imageIds: z.array(imageId).optional(),
    filter: z.object({ tagStatus: z.enum(['TAGGED', 'UNTAGGED', 'ANY']).optional() }).optional(),
  })
  .passthrough();
/** https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetAuthorizationToken.html */
const getAuthorizationTokenInput = z
  .object({
    registryIds: z
      .array(z.string().regex(/^[0-9]{12}$/))
      .min(1)
      .max(10)
      .optional(),
  })
  .passthrough();
const repositoryOnlyInput = z.object({ repositoryName: z.string() }).passthrough();
/** https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html */
const putImageInput = z
  .object({
    repositoryName: z.string(),
    imageManifest: z.string().min(1).max(4194304),
    imageManifestMediaType: z.string().optional(),
    imageTag: z.string().min(1).max(300).optional(),
    imageDigest: z.string().optional(),
  })
  .passthrough();
const batchGetImageInput = z
  .object({ repositoryName: z.string(), imageIds: z.array(imageId).min(1).max(100) })
  .passthrough();

export function emptyEcrState(account: Account): EcrState {
  return { account, repositories: new Map(), firstSeen: new Map() };
}

export function ecrHandlers(
  state: EcrState,
  registry: RegistryAccess | undefined,
  now: () => number,
  /** The emulator's own endpoint, which fronts the registry (registry-front.ts). */
  front: () => string = () => (registry ? registryBase(registry) : ''),
): Handlers {
  const { accountId } = state.account;
  const client = registry ? registryClient(registry) : undefined;
  const requireRegistry = () =>
    client ?? fail('ServerException', 'the emulator was started without a registry');
  const host = () =>
    registry ? new URL(front()).host : `${accountId}.dkr.ecr.${state.account.region}.amazonaws.com`;
  const requireRepository = (name: string) =>
    state.repositories.get(name) ??
    fail(
      'RepositoryNotFoundException',
      `The repository with name '${name}' does not exist in the registry with id '${accountId}'`,
    );
  const render = (r: RepositoryRecord) => ({
    imageTagMutability: 'MUTABLE',
    imageScanningConfiguration: { scanOnPush: false },
    encryptionConfiguration: { encryptionType: 'AES256' },
    ...r.sent,
    repositoryArn: r.arn,
    registryId: accountId,
    repositoryName: r.name,
    repositoryUri: `${host()}/${r.name}`,
    createdAt: epochSeconds(r.createdAt),
  });

  /** Every tagged image of a repository, by digest. */
  async function images(
    repository: string,
  ): Promise<Map<string, { manifest: Manifest; tags: string[] }>> {
    const registryClient = requireRegistry();
    const byDigest = new Map<string, { manifest: Manifest; tags: string[] }>();
    for (const tag of (await registryClient.tags(repository)).sort()) {
      const manifest = await registryClient.manifest(repository, tag);
      if (!manifest) continue;
      const entry = byDigest.get(manifest.digest) ?? { manifest, tags: [] };
      entry.tags.push(tag);
      byDigest.set(manifest.digest, entry);
      if (!state.firstSeen.has(manifest.digest)) state.firstSeen.set(manifest.digest, now());
    }
    return byDigest;
  }

  return {
    GetAuthorizationToken(raw) {
      const input = parseInput(getAuthorizationTokenInput, raw);
      if (!registry) return fail('ServerException', 'the emulator was started without a registry');
      // One entry per registry asked for; another account's registry is a real ECR host that no
      // test reaches, so pushing there fails loudly instead of landing in our registry.
      return {
        authorizationData: (input.registryIds ?? [accountId]).map((id) => ({
          authorizationToken: Buffer.from(`${registryUser}:${registry.password}`).toString(
            'base64',
          ),
          expiresAt: epochSeconds(now() + 12 * 3600 * 1000),
          proxyEndpoint:
            id === accountId
              ? front()
              : `https://${id}.dkr.ecr.${state.account.region}.amazonaws.com`,
        })),
      };
    },

    CreateRepository(raw) {
      const {
        repositoryName: name,
        tags,
        registryId: _r,
        ...sent
      } = parseInput(createRepositoryInput, raw);
      if (state.repositories.has(name)) {
        return fail(
          'RepositoryAlreadyExistsException',
          `The repository with name '${name}' already exists in the registry with id '${accountId}'`,
        );
      }
      const record: RepositoryRecord = {
        arn: ecrArn(state.account, `repository/${name}`),
        name,
        createdAt: now(),
        sent,
        tags: tags ?? [],
        lifecyclePolicyText: undefined,
      };
      state.repositories.set(name, record);
      return { repository: render(record) };
    },

    DescribeRepositories(raw) {
      const input = parseInput(describeRepositoriesInput, raw);
      const records = input.repositoryNames
        ? input.repositoryNames.map(requireRepository)
        : [...state.repositories.values()].sort((a, b) => a.name.localeCompare(b.name));
      return { repositories: records.map(render) };
    },

    PutLifecyclePolicy(raw) {
      const input = parseInput(putLifecyclePolicyInput, raw);
      const record = requireRepository(input.repositoryName);
      let rules: unknown;
      try {
        rules = (JSON.parse(input.lifecyclePolicyText) as { rules?: unknown }).rules;
      } catch {
        rules = undefined;
      }
      if (!Array.isArray(rules)) {
        return fail(
          'InvalidParameterException',
          "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: object has missing required properties ([\"rules\"])'",
        );
      }
      // "A rule with a tagStatus value of any must have the highest value for rulePriority"
      // (https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html).
      const typed = rules as { rulePriority?: number; selection?: { tagStatus?: string } }[];
      const last = Math.max(...typed.map((r) => r.rulePriority ?? 0));
      if (typed.some((r) => r.selection?.tagStatus === 'any' && r.rulePriority !== last)) {
        return fail(
          'LifecyclePolicyValidationException',
          "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: a rule with tagStatus any must have the highest rulePriority'",
        );
      }
      record.lifecyclePolicyText = input.lifecyclePolicyText;
      return {
        registryId: accountId,
        repositoryName: record.name,
        lifecyclePolicyText: input.lifecyclePolicyText,
      };
    },

    GetLifecyclePolicy(raw) {
      const record = requireRepository(parseInput(repositoryOnlyInput, raw).repositoryName);
      if (record.lifecyclePolicyText === undefined) {
        return fail(
          'LifecyclePolicyNotFoundException',
          `Lifecycle policy does not exist for the repository with name '${record.name}' in the registry with id '${accountId}'`,
        );
      }
      return {
        registryId: accountId,
        repositoryName: record.name,
        lifecyclePolicyText: record.lifecyclePolicyText,
      };
    },

    /**
     * What the repository's policy would expire now, evaluated as ECR documents (lifecycle.ts).
     * ECR's preview is asynchronous; this one is complete when asked.
     */
    async GetLifecyclePolicyPreview(raw) {
      const record = requireRepository(parseInput(repositoryOnlyInput, raw).repositoryName);
      if (record.lifecyclePolicyText === undefined) {
        return fail('LifecyclePolicyPreviewNotFoundException', 'No lifecycle policy preview');
      }
      const all = [...(await images(record.name)).values()];
      const expired = new Set(
        lifecycleExpired(
          record.lifecyclePolicyText,
          all.map(({ manifest, tags }) => ({
            digest: manifest.digest,
            tags,
            pushedAt: state.firstSeen.get(manifest.digest) ?? now(),
          })),
          now(),
        ),
      );
      return {
        registryId: accountId,
        repositoryName: record.name,
        lifecyclePolicyText: record.lifecyclePolicyText,
        status: 'COMPLETE',
        previewResults: all
          .filter(({ manifest }) => expired.has(manifest.digest))
          .map(({ manifest, tags }) => ({
            imageTags: tags,
            imageDigest: manifest.digest,
            imagePushedAt: epochSeconds(state.firstSeen.get(manifest.digest) ?? now()),
            action: { type: 'EXPIRE' },
          })),
      };
    },

    /**
     * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImage.html: a tag that
     * exists with this very manifest is ImageAlreadyExistsException; a tag that exists with
     * another one, in an IMMUTABLE repository, is ImageTagAlreadyExistsException.
     */
    async PutImage(raw) {
      const input = parseInput(putImageInput, raw);
      const record = requireRepository(input.repositoryName);
      const registryClient = requireRegistry();
      const digest = `sha256:${createHash('sha256').update(input.imageManifest).digest('hex')}`;
      if (input.imageDigest !== undefined && input.imageDigest !== digest) {
        return fail(
          'ImageDigestDoesNotMatchException',
          'The image digest does not match the manifest.',
        );
      }
      if (input.imageTag !== undefined) {
        const existing = await registryClient.manifest(record.name, input.imageTag);
        if (existing?.digest === digest) {
          return fail(
            'ImageAlreadyExistsException',
            `Image with digest '${digest}' and tag '${input.imageTag}' already exists in the repository with name '${record.name}' in registry with id '${accountId}'`,
          );
        }
        if (existing && record.sent['imageTagMutability'] === 'IMMUTABLE') {
          return fail(
            'ImageTagAlreadyExistsException',
            `The image tag '${input.imageTag}' already exists in the '${record.name}' repository and cannot be overwritten because the repository is immutable.`,
          );
        }
      }
      const mediaType =
        input.imageManifestMediaType ??
        ((JSON.parse(input.imageManifest) as { mediaType?: string }).mediaType ||
          'application/vnd.docker.distribution.manifest.v2+json');
      await registryClient.putManifest(
        record.name,
        input.imageTag ?? digest,
        input.imageManifest,
        mediaType,
      );
      if (!state.firstSeen.has(digest)) state.firstSeen.set(digest, now());
      return {
        image: defined({
          registryId: accountId,
          repositoryName: record.name,
          imageId: defined({ imageDigest: digest, imageTag: input.imageTag }),
          imageManifest: input.imageManifest,
          imageManifestMediaType: mediaType,
        }),
      };
    },

    async DescribeImages(raw) {
      const input = parseInput(describeImagesInput, raw);
      const repository = requireRepository(input.repositoryName).name;
      const all = await images(repository);
      let selected = [...all.values()];
      if (input.imageIds) {
        selected = input.imageIds.map((id) => {
          const hit = [...all.values()].find(
            (i) =>
              (id.imageDigest === undefined || i.manifest.digest === id.imageDigest) &&
              (id.imageTag === undefined || i.tags.includes(id.imageTag)),
          );
          if (hit && (id.imageDigest ?? id.imageTag) !== undefined) return hit;
          throw new AwsError(
            'ImageNotFoundException',
            `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repository}' in the registry with id '${accountId}'`,
          );
        });
      } else if (input.filter?.tagStatus === 'UNTAGGED') {
        selected = [];
      }
      return {
        imageDetails: selected.map(({ manifest, tags }) =>
          defined({
            registryId: accountId,
            repositoryName: repository,
            imageDigest: manifest.digest,
            imageTags: tags,
            imageSizeInBytes: manifest.size,
            imagePushedAt: epochSeconds(state.firstSeen.get(manifest.digest) ?? now()),
            imageManifestMediaType: manifest.mediaType,
            artifactMediaType: manifest.artifactMediaType,
          }),
        ),
      };
    },

    async BatchGetImage(raw) {
      const input = parseInput(batchGetImageInput, raw);
      const repository = requireRepository(input.repositoryName).name;
      // Without a registry there are no images: every id is not found, as in an empty repository.
      const registryClient = client ?? {
        manifest: () => Promise.resolve(undefined),
      };
      const found = [];
      const failures = [];
      for (const id of input.imageIds) {
        const reference = id.imageDigest ?? id.imageTag;
        const manifest = reference
          ? await registryClient.manifest(repository, reference)
          : undefined;
        const byTag =
          manifest && id.imageDigest && id.imageTag
            ? await registryClient.manifest(repository, id.imageTag)
            : manifest;
        if (!manifest) {
          failures.push({
            imageId: id,
            failureCode: 'ImageNotFound',
            failureReason: 'Requested image not found',
          });
        } else if (byTag?.digest !== manifest.digest) {
          failures.push({
            imageId: id,
            failureCode: 'ImageTagDoesNotMatchDigest',
            failureReason: 'Invalid image tag for the given digest',
          });
        } else {
          found.push({
            registryId: accountId,
            repositoryName: repository,
            imageId: defined({ imageDigest: manifest.digest, imageTag: id.imageTag }),
            imageManifest: manifest.body,
            imageManifestMediaType: manifest.mediaType,
          });
        }
      }
      return { images: found, failures };
    },
  };
}
