/**
 * ENV:create and ENV:deploy against the emulator over HTTP with the real SDK: the verdicts that
 * other tools get wrong (a circuit-breaker rollback is a failure), what a no-op deploy does not
 * do, and what a failed one leaves behind.
 */
import { DescribeTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, test } from 'vitest';
import { serviceSettings } from '../../src/environment.js';
import { create } from '../../src/aws/create.js';
import { deploy, describeDeploy } from '../../src/aws/deploy.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import {
  callCount,
  createV1 as createOnV1,
  failure,
  startHarness,
  value,
  type Harness,
} from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  return () => h.stop();
});

function service(key: string) {
  const sim = h.emu.service(h.env.ecs.cluster, serviceSettings(h.env, key).name);
  if (sim === undefined) throw new Error(`no service ${key}`);
  return sim;
}

const revision = (arn: string | undefined) => arn?.split(':').at(-1);

/**
 * A context that injects `fault` once the migration has passed: the emulator applies task faults
 * to one-off tasks too, and these tests are about the services' rollout.
 */
function afterMigration(fault: () => void) {
  return h.ctx({
    log: (line) => {
      h.lines.push(line);
      if (line.startsWith('migration:') && line.endsWith('exited 0')) fault();
    },
  });
}

/** Creates the environment on v1 images, then resets the call log. */
async function createV1() {
  const created = await createOnV1(h);
  expect(created.created.map((c) => c.service)).toEqual([
    'example-staging-php-fpm',
    'example-staging-nginx',
  ]);
}

describe('create, then deploy', () => {
  test('create builds the cluster and services in an empty account; a first deploy rolls out', async () => {
    const taskDefinitions = await h.render({ phpFpm: 'v1', nginx: 'v1' });
    const created = value(await create({ ...h.ctx(), taskDefinitions }));
    expect(created.clusterCreated).toBe(true);
    expect(created.migrationTaskId).toMatch(/^[0-9a-f]{32}$/);
    const php = h.emu.ecs.services.get(
      `${h.env.ecs.cluster}/${serviceSettings(h.env, 'phpFpm').name}`,
    );
    expect(php?.sent).toMatchObject({
      launchType: 'FARGATE',
      loadBalancers: [
        {
          targetGroupArn: serviceSettings(h.env, 'phpFpm').loadBalancer?.targetGroupArn,
          containerName: 'php-fpm',
          containerPort: 9000,
        },
      ],
      networkConfiguration: {
        awsvpcConfiguration: { subnets: h.env.network.subnets, assignPublicIp: 'DISABLED' },
      },
      deploymentConfiguration: {
        minimumHealthyPercent: 100,
        maximumPercent: 200,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
    });
    expect(service('phpFpm').deployments.map((d) => d.rolloutState)).toEqual(['COMPLETED']);

    // create again: it refuses to touch what exists.
    const again = failure(await create({ ...h.ctx(), taskDefinitions }));
    expect(again.reason).toBe('services-exist');
    expect(describeAwsFailure(again)).toContain('npx task staging:deploy');

    const deployed = value(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
    );
    expect(deployed.outcome).toBe('deployed');
    expect(deployed.services.map((s) => [s.service, revision(s.from), revision(s.to)])).toEqual([
      ['example-staging-php-fpm', '1', '2'],
      ['example-staging-nginx', '1', '2'],
    ]);
    expect(deployed.migrationTaskId).toBeDefined();
    expect(describeDeploy(deployed)).toContain(
      'example-staging-php-fpm: example-staging-php-fpm:1 -> example-staging-php-fpm:2',
    );
    // php-fpm before nginx: the order comes from the environment.
    const updates = h.lines.filter((l) => l.includes(': updating to'));
    expect(updates.map((l) => l.split(':')[0])).toEqual([
      'example-staging-php-fpm',
      'example-staging-nginx',
    ]);
    // Live progress: deployment lines and service events.
    expect(
      h.lines.some((l) => /PRIMARY ecs-svc\/\d+ example-staging-php-fpm:2 IN_PROGRESS/.test(l)),
    ).toBe(true);
    expect(h.lines.some((l) => l.includes('has reached a steady state.'))).toBe(true);
  });

  test('a redeploy with nothing changed registers nothing, migrates nothing, updates nothing', async () => {
    await createV1();
    const result = value(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
    );
    expect(result.outcome).toBe('unchanged');
    expect(describeDeploy(result)).toContain('Nothing to deploy');
    expect(callCount(h.emu, 'RegisterTaskDefinition')).toBe(0);
    expect(callCount(h.emu, 'RunTask')).toBe(0);
    expect(callCount(h.emu, 'UpdateService')).toBe(0);
  });

  test('the commit is a tag on the revision a deploy registers; another commit with nothing changed registers nothing', async () => {
    await createV1();
    const commit = (revision: string) => ({
      revision,
      dirty: false,
      source: 'https://github.com/org/app.git',
    });
    const v2 = await h.render({ phpFpm: 'v2', nginx: 'v1' });
    const deployed = value(
      await deploy({ ...h.ctx(), source: commit('a'.repeat(40)), taskDefinitions: v2 }),
    );
    const arn = deployed.services[0]?.to;
    const described = await h.clients.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }),
    );
    expect(described.tags).toEqual(
      expect.arrayContaining([
        { key: 'taskgraph:git-revision', value: 'a'.repeat(40) },
        { key: 'taskgraph:git-dirty', value: 'false' },
        { key: 'taskgraph:git-source', value: 'https://github.com/org/app.git' },
      ]),
    );
    (h.emu.calls as string[]).length = 0;
    const again = value(
      await deploy({ ...h.ctx(), source: commit('b'.repeat(40)), taskDefinitions: v2 }),
    );
    expect(again.outcome).toBe('unchanged');
    expect(callCount(h.emu, 'RegisterTaskDefinition')).toBe(0);
    expect(callCount(h.emu, 'UpdateService')).toBe(0);
  });

  test('a source change rolls out only php-fpm, with one new revision', async () => {
    await createV1();
    const result = value(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v1' }) }),
    );
    expect(result.services.map((s) => [s.key, revision(s.to), s.registered])).toEqual([
      ['phpFpm', '2', true],
    ]);
    expect(callCount(h.emu, 'RegisterTaskDefinition')).toBe(1);
    expect(callCount(h.emu, 'RunTask')).toBe(1);
    expect(callCount(h.emu, 'UpdateService')).toBe(1);
    expect(revision(service('nginx').deployments[0]?.taskDefinition)).toBe('1');
    expect(h.lines.some((l) => l.includes('~ containerDefinitions[php-fpm].image'))).toBe(true);
  });
});

describe('failed deploys', () => {
  test('failing health checks: the circuit breaker rolls back, and that is a failure', async () => {
    await createV1();
    const ctx = afterMigration(() =>
      h.emu.faults.failHealthCheck({ image: 'staging_example_php_fpm:bad' }),
    );
    const result = failure(
      await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'bad', nginx: 'v1' }) }),
    );
    expect(result.reason).toBe('rollout-failed');
    if (result.reason !== 'rollout-failed') return;
    expect(result.failures[0]).toMatchObject({
      service: 'example-staging-php-fpm',
      cause: 'circuit-breaker',
    });
    expect(result.failures[0]?.stoppedTasks[0]?.stoppedReason).toBe(
      'Task failed container health checks',
    );
    expect(result.restored).toEqual([
      {
        service: 'example-staging-php-fpm',
        key: 'php-fpm',
        restored: {
          how: 'ecs-rolled-back',
          taskDefinition: expect.stringMatching(/php-fpm:1$/) as unknown,
        },
      },
    ]);
    const text = describeAwsFailure(result);
    expect(text).toContain('ECS deployment circuit breaker');
    expect(text).toContain('failed container health checks');
    expect(
      service('phpFpm').deployments.map((d) => [revision(d.taskDefinition), d.rolloutState]),
    ).toEqual([['1', 'COMPLETED']]);
    // nginx was never touched: its stage comes after php-fpm's.
    expect(callCount(h.emu, 'UpdateService')).toBe(1);
  });

  test('a rollout past the timeout is rolled back by us and reported', async () => {
    await createV1();
    const ctx = afterMigration(() =>
      h.emu.faults.neverStart({ image: 'staging_example_php_fpm:stuck' }),
    );
    const result = failure(
      await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'stuck', nginx: 'v1' }) }),
    );
    expect(result.reason).toBe('rollout-failed');
    if (result.reason !== 'rollout-failed') return;
    expect(result.failures[0]?.cause).toBe('timeout');
    expect(result.failures[0]?.reason).toMatch(/not finished after 900 s/);
    expect(result.restored[0]?.restored).toMatchObject({ how: 'updated-back' });
    expect(revision(service('phpFpm').deployments[0]?.taskDefinition)).toBe('1');
    expect(service('phpFpm').deployments).toHaveLength(1);
  });

  test('a migration that exits 1 stops the deploy before any service changes', async () => {
    await createV1();
    h.emu.faults.exitCode({ image: 'staging_example_php_fpm:v2' }, 1);
    const result = failure(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
    );
    expect(result).toMatchObject({
      reason: 'migration-failed',
      stoppedReason: 'Essential container in task exited',
      containers: [{ name: 'php-fpm', exitCode: 1 }],
    });
    expect(describeAwsFailure(result)).toContain('No service was changed');
    expect(callCount(h.emu, 'UpdateService')).toBe(0);
    const run = [...h.emu.ecs.tasks.values()].at(-1);
    expect(run?.sent['overrides']).toEqual({
      containerOverrides: [{ name: 'php-fpm', command: ['php', 'artisan', 'migrate', '--force'] }],
    });
  });

  test('a failing smoke check returns every updated service to its previous revision', async () => {
    await createV1();
    h.smokeStatus = 503;
    const result = failure(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
    );
    expect(result.reason).toBe('smoke-check-failed');
    expect(describeAwsFailure(result)).toContain('HTTP 503');
    expect(revision(service('phpFpm').deployments[0]?.taskDefinition)).toBe('1');
    expect(revision(service('nginx').deployments[0]?.taskDefinition)).toBe('1');
  });

  test('a deploy missing its services names them and ENV:create', async () => {
    const result = failure(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
    );
    expect(result.reason).toBe('cluster-missing');
    expect(describeAwsFailure(result)).toContain('npx task staging:create');
  });
});

describe('AWS trouble', () => {
  test('throttling on DescribeServices is retried by the SDK and the deploy succeeds', async () => {
    await createV1();
    h.emu.faults.throttle('DescribeServices', 2);
    const result = value(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v1' }) }),
    );
    expect(result.outcome).toBe('deployed');
    expect(h.emu.calls.filter((c) => c === 'DescribeServices').length).toBeGreaterThan(2);
  });

  test('AccessDenied on UpdateService says which action on which resource', async () => {
    await createV1();
    h.emu.faults.accessDenied('UpdateService');
    const result = failure(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v1' }) }),
    );
    expect(result).toMatchObject({
      reason: 'update-refused',
      refused: { reason: 'access-denied', action: 'ecs:UpdateService' },
    });
    expect(describeAwsFailure(result)).toMatch(
      /may not perform ecs:UpdateService on \*.*IAM policy/,
    );
  });

  test('an update refused in a later stage returns the earlier stage to its old revision', async () => {
    await createV1();
    const ctx = h.ctx({
      log: (line) => {
        h.lines.push(line);
        if (/^example-staging-php-fpm: deployment \S+ completed$/.test(line)) {
          h.emu.faults.accessDenied('UpdateService', 1);
        }
      },
    });
    const result = failure(
      await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
    );
    expect(result).toMatchObject({
      reason: 'update-refused',
      service: 'example-staging-nginx',
      refused: { reason: 'access-denied', action: 'ecs:UpdateService' },
    });
    expect(h.lines).toContain(
      'example-staging-php-fpm: updating it back to arn:aws:ecs:eu-west-1:123456789012:task-definition/example-staging-php-fpm:1',
    );
    expect(
      service('phpFpm').deployments.map((d) => [revision(d.taskDefinition), d.rolloutState]),
    ).toEqual([['1', 'COMPLETED']]);
  });

  test('a deployment someone else started is not raced, unless forced', async () => {
    await createV1();
    await h.clients.ecs.send(
      new UpdateServiceCommand({
        cluster: h.env.ecs.cluster,
        service: serviceSettings(h.env, 'nginx').name,
        forceNewDeployment: true,
      }),
    );
    const taskDefinitions = await h.render({ phpFpm: 'v2', nginx: 'v1' });
    const refused = failure(await deploy({ ...h.ctx(), taskDefinitions }));
    expect(refused).toMatchObject({
      reason: 'deploy-in-progress',
      service: 'example-staging-nginx',
    });
    expect(describeAwsFailure(refused)).toContain('npx task staging:status');
    expect(callCount(h.emu, 'RegisterTaskDefinition')).toBe(0);
    expect(value(await deploy({ ...h.ctx(), taskDefinitions, force: true })).outcome).toBe(
      'deployed',
    );
  });

  test('Ctrl-C while waiting stops waiting, not the rollout, and says how to follow it', async () => {
    await createV1();
    const controller = new AbortController();
    const ctx = h.ctx({
      signal: controller.signal,
      log: (line) => {
        h.lines.push(line);
        if (line.includes('deployment') && line.includes('started')) controller.abort();
      },
    });
    const result = failure(
      await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v1' }) }),
    );
    expect(result.reason).toBe('interrupted');
    const text = describeAwsFailure(result);
    expect(text).toMatch(/example-staging-php-fpm: deployment ecs-svc\/\d+/);
    expect(text).toContain('npx task staging:status');
    // The rollout carries on in ECS.
    expect(service('phpFpm').deployments[0]?.rolloutState).toBe('IN_PROGRESS');
  });
});
