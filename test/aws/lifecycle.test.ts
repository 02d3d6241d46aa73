/**
 * The ECR lifecycle policy against ECR's documented evaluation (the emulator's preview): an image
 * a deploy ran is never expired, however many newer images are pushed; a repository that already
 * exists gets its policy reconciled; deploys mark their images before any service runs them.
 */
import {
  DescribeImagesCommand,
  GetLifecyclePolicyPreviewCommand,
  PutLifecyclePolicyCommand,
} from '@aws-sdk/client-ecr';
import { expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { push, type PushDocker } from '../../src/aws/ecr.js';
import type { EcsEnvironment } from '../../src/environment.js';
import { imageId, pushImage } from '../support/aws-emulator/registry-fixture.js';
import { registryHarness, value } from './harness.js';

const world = registryHarness();

const PHP = 'staging_example_php_fpm';

/** A docker that pushes a small image per tag straight to the registry, as the CLI would. */
const docker: PushDocker = {
  tag: () => Promise.resolve(),
  push: async (ref) => {
    const [, repository = '', tag = ''] = /\/([^:]+):(.+)$/.exec(ref) ?? [];
    await pushImage(world.registry, repository, tag);
  },
  // Sources are `<name>:<tag>`, and each tag's image is the tiny one pushImage makes for it.
  imageInspect: (ref) => Promise.resolve({ id: imageId(ref.split(':').at(-1) ?? '') }),
};

/** Pushes `tag` of both images through ENV:push, then lets time pass so pushes are ordered. */
async function pushTag(env: EcsEnvironment, tag: string) {
  value(
    await push({
      ...world.h.ctx({ env }),
      docker,
      images: {
        phpFpm: { source: `php:${tag}`, tag, fingerprint: tag },
        nginx: { source: `nginx:${tag}`, tag, fingerprint: tag },
      },
    }),
  );
  await world.h.clients.ecr.send(new DescribeImagesCommand({ repositoryName: PHP }));
  world.h.emuClock.advance(3600);
}

async function expiredTags(): Promise<string[]> {
  const preview = await world.h.clients.ecr.send(
    new GetLifecyclePolicyPreviewCommand({ repositoryName: PHP }),
  );
  return (preview.previewResults ?? []).flatMap((r) => r.imageTags ?? []).sort();
}

test('an image a deploy ran is never expired; an existing repository gets the policy', async () => {
  const env: EcsEnvironment = {
    ...world.h.env,
    ecr: { ...world.h.env.ecr, lifecycle: { keepLast: 2 } },
  };
  await pushTag(env, 't1');
  value(
    await create({
      ...world.h.ctx({ env }),
      taskDefinitions: await world.h.render({ phpFpm: 't1', nginx: 't1' }),
    }),
  );
  expect(world.h.lines).toContain(
    `ecr ${PHP}:t1: marked deployed-t1 (the lifecycle policy keeps it)`,
  );
  for (const tag of ['t2', 't3', 't4']) await pushTag(env, tag);

  // The policy this repository had before: keep the last 2 images of any kind. It would expire
  // t1, which the running services still name: their next task could not pull it.
  await world.h.clients.ecr.send(
    new PutLifecyclePolicyCommand({
      repositoryName: PHP,
      lifecyclePolicyText: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: 'keep the last 2 images',
            selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 },
            action: { type: 'expire' },
          },
        ],
      }),
    }),
  );
  expect(await expiredTags()).toEqual(['deployed-t1', 't1', 't2']);

  // The next push reconciles the existing repository's policy.
  world.h.lines.length = 0;
  await pushTag(env, 't5');
  expect(world.h.lines).toContain(
    `ecr ${PHP}: lifecycle policy updated to environments/staging.ts's`,
  );
  // t5, t4 are the newest two; t3 and t2 go; t1, deployed, stays however old.
  expect(await expiredTags()).toEqual(['t2', 't3']);
});
