/**
 * verify's image check against the emulator's ECR, which answers from a real registry
 * (docker-registry on loopback, images pushed through its HTTP API, no Docker daemon): an image
 * the rendered task definitions name is found by tag and reported with its digest, or missing.
 */
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { verify } from '../../src/aws/verify.js';
import { pushImage } from '../support/aws-emulator/registry-fixture.js';
import { seedPrerequisites } from '../support/deploy-prerequisites.js';
import { failure, registryHarness, value } from './harness.js';

const world = registryHarness();

test('an image in ECR is ok with its digest; one that is not is named with the fix', async () => {
  const { h, registry } = world;
  seedPrerequisites(h.emu, h.env);
  const taskDefinitions = await h.render({ phpFpm: 'v1', nginx: 'v1' });
  value(await create({ ...h.ctx(), taskDefinitions }));
  for (const repositoryName of Object.values(h.env.ecr.repositories)) {
    await h.clients.ecr.send(new CreateRepositoryCommand({ repositoryName }));
  }
  const pushed = await pushImage(registry, h.env.ecr.repositories.phpFpm, 'v1');
  const result = failure(await verify({ ...h.ctx(), taskDefinitions }));
  if (result.reason !== 'verify-failed') throw new Error(result.reason);
  const images = result.findings.filter((f) => f.what.startsWith('image '));
  expect(
    images.map((f) => [f.what.split('/').at(-1), f.ok, f.ok ? f.note : f.problem.reason]),
  ).toEqual([
    [`${h.env.ecr.repositories.phpFpm}:v1`, true, pushed.digest],
    [`${h.env.ecr.repositories.nginx}:v1`, false, 'image-missing'],
  ]);
  expect(describeAwsFailure(result).split('\n')).toContain(
    `  FAIL  ${h.env.ecr.registry}/${h.env.ecr.repositories.nginx}:v1 is not in ECR (no such tag in ${h.env.ecr.repositories.nginx}): push it with \`npx task staging:push\`.`,
  );
});
