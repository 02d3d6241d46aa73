/**
 * What a failed rollout's report shows: the service's events and stopped tasks of this deploy,
 * however much of the service's history DescribeServices still lists, and even when ECS's
 * rollback has already removed our deployment from the list by the time we look.
 */
import { beforeEach, expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { deploy } from '../../src/aws/deploy.js';
import {
  serviceSettings,
  validateEnvironment,
  type EcsEnvironment,
} from '../../src/environment.js';
import { webOnly } from '../support/worker-environment.js';
import { failure, startHarness, value, type Harness } from './harness.js';

/** php-fpm runs 3 tasks: a rollout that fails them all at once and is rolled back says little. */
function threePhpFpmTasks(env: EcsEnvironment): EcsEnvironment {
  const { name, ...raw } = webOnly(env);
  const phpFpm = raw.services['phpFpm'];
  if (phpFpm === undefined) throw new Error('staging declares no phpFpm');
  const next = validateEnvironment(
    { ...raw, services: { ...raw.services, phpFpm: { ...phpFpm, desiredCount: 3 } } },
    `environments/${name}.ts`,
    name,
  );
  if (next.kind !== 'ecs') throw new Error('expected an ECS environment');
  return next;
}

let h: Harness;

beforeEach(async () => {
  h = await startHarness({ environment: threePhpFpmTasks });
  value(
    await create({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
  );
  return () => h.stop();
});

test("ECS's rollback completing between two polls: the report lists only events since our deployment", async () => {
  const phpFpm = serviceSettings(h.env, 'phpFpm').name;
  let deployedAt: number | undefined;
  let jumped = false;
  const ctx = h.ctx({
    log: (line) => {
      h.lines.push(line);
      if (line.startsWith('migration:') && line.endsWith('exited 0')) {
        h.emu.faults.failToStart({ image: 'staging_example_php_fpm:v2' });
      }
      if (new RegExp(`^${phpFpm}: deployment \\S+ started$`).test(line)) {
        deployedAt = h.emuClock.now();
      }
      // The first poll sees our deployment in progress. Before the next one, ECS's circuit
      // breaker fails it, rolls back and completes the rollback, which drops our deployment
      // from the list: the next poll sees only the rollback, COMPLETED.
      if (!jumped && new RegExp(`^${phpFpm}: PRIMARY \\S+ \\S+:2 IN_PROGRESS`).test(line)) {
        jumped = true;
        h.emuClock.advance(600);
      }
    },
  });
  const result = failure(
    await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
  );
  expect(jumped).toBe(true);
  expect(result).toMatchObject({
    reason: 'rollout-failed',
    failures: [{ service: phpFpm, cause: 'rolled-back' }],
    restored: [
      { service: phpFpm, restored: { how: 'ecs-rolled-back' } },
      { restored: { how: 'unchanged' } },
    ],
  });
  if (result.reason !== 'rollout-failed' || deployedAt === undefined) return;
  const since = deployedAt;
  // What ECS said since our UpdateService, oldest first: few enough that the report's eight
  // would reach back into the service's earlier history if it did not stop at our deploy.
  const ours = (h.emu.service(h.env.ecs.cluster, phpFpm)?.events ?? [])
    .filter((e) => e.createdAt >= since)
    .map((e) => e.message)
    .reverse();
  expect(ours.length).toBeLessThan(8);
  expect(ours[0]).toMatch(/has started 3 tasks/);
  expect(result.failures[0]?.events).toEqual(ours);
  expect(result.failures[0]?.stoppedTasks).toHaveLength(3);
});
