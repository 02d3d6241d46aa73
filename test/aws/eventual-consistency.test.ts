/**
 * What ECS documents and the deploy must survive: reads that lag writes (the API is eventually
 * consistent) and transient errors that outlast the SDK's own retries, in the middle of a long
 * rollout. Each test runs against the emulator taught that behaviour.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { deploy } from '../../src/aws/deploy.js';
import {
  isTransient,
  rolloutVerdict,
  type DeploymentSnapshot,
  type ServiceSnapshot,
} from '../../src/aws/rollout.js';
import { serviceSettings } from '../../src/environment.js';
import {
  createV1,
  failure,
  startHarness,
  value,
  type Harness,
  type HarnessOptions,
} from './harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function start(options: HarnessOptions = {}): Promise<Harness> {
  h = await startHarness(options);
  return h;
}

function revisionOf(world: Harness, key: string): string | undefined {
  const sim = world.emu.service(world.env.ecs.cluster, serviceSettings(world.env, key).name);
  return sim?.deployments
    .map((d) => `${d.taskDefinition.split(':').at(-1) ?? ''} ${d.rolloutState}`)
    .join(', ');
}

describe('reads that lag writes', () => {
  test('a deploy whose own deployment is not visible yet is in progress, not rolled back', async () => {
    // Every write stays invisible to DescribeServices for up to 30 simulated seconds.
    const world = await start({ readLag: { seed: 7, maxSeconds: 30 } });
    value(
      await create({
        ...world.ctx(),
        taskDefinitions: await world.render({ phpFpm: 'v1', nginx: 'v1' }),
      }),
    );
    const deployed = value(
      await deploy({
        ...world.ctx(),
        taskDefinitions: await world.render({ phpFpm: 'v2', nginx: 'v2' }),
      }),
    );
    expect(deployed.services.map((s) => s.to.split(':').at(-1))).toEqual(['2', '2']);
    expect(world.lines.filter((line) => /updating it back|FAILED/.test(line))).toEqual([]);
    expect(revisionOf(world, 'phpFpm')).toBe('2 COMPLETED');
    expect(revisionOf(world, 'nginx')).toBe('2 COMPLETED');
  });

  const deployment = (over: Partial<DeploymentSnapshot>): DeploymentSnapshot => ({
    id: 'ecs-svc/1',
    status: 'PRIMARY',
    taskDefinition: 'arn:aws:ecs:eu-west-1:1:task-definition/web:1',
    desiredCount: 1,
    pendingCount: 0,
    runningCount: 1,
    failedTasks: 0,
    rolloutState: 'COMPLETED',
    rolloutStateReason: undefined,
    createdAt: 1_000,
    ...over,
  });
  const snapshot = (deployments: DeploymentSnapshot[]): ServiceSnapshot => ({
    name: 'web',
    status: 'ACTIVE',
    taskDefinition: deployments[0]?.taskDefinition ?? '',
    desiredCount: 1,
    runningCount: 1,
    pendingCount: 0,
    deployments,
    events: [],
    deploymentConfiguration: undefined,
  });
  const ours = {
    deploymentId: 'ecs-svc/2',
    taskDefinition: 'arn:aws:ecs:eu-west-1:1:task-definition/web:2',
    createdAt: 5_000,
  };
  const at = (elapsedMs: number) => ({ elapsedMs, timeoutMs: 900_000, graceMs: 60_000 });

  test('the verdict: unseen is in progress for the grace period; only a newer PRIMARY replaces ours', () => {
    const stale = snapshot([deployment({})]);
    expect(rolloutVerdict(stale, ours, at(0))).toEqual({ state: 'in-progress' });
    expect(rolloutVerdict(undefined, ours, at(0))).toEqual({ state: 'in-progress' });
    expect(rolloutVerdict(stale, ours, at(61_000))).toMatchObject({
      state: 'failed',
      cause: 'not-visible',
    });
    const rollback = deployment({
      id: 'ecs-svc/3',
      createdAt: 9_000,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: 'ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.',
    });
    expect(rolloutVerdict(snapshot([rollback]), ours, at(0))).toMatchObject({
      cause: 'rolled-back',
    });
    const someoneElse = deployment({
      id: 'ecs-svc/4',
      createdAt: 9_000,
      rolloutState: 'IN_PROGRESS',
    });
    expect(rolloutVerdict(snapshot([someoneElse]), ours, at(0))).toMatchObject({
      cause: 'superseded',
    });
  });
});

describe('transient errors while watching', () => {
  /**
   * Staging created on v1, and a context whose deploy meets DescribeServices answering 500 for
   * `seconds` simulated seconds, from the moment php-fpm's rollout starts.
   */
  async function outageFromRolloutStart(seconds: (world: Harness) => number) {
    const world = await start();
    await createV1(world);
    const ctx = world.ctx({
      log: (line) => {
        world.lines.push(line);
        if (/php-fpm: deployment \S+ started/.test(line)) {
          const until = world.emuClock.now() + seconds(world) * 1000;
          world.emu.faults.outage('DescribeServices', 'server-error', until);
        }
      },
    });
    return { world, ctx };
  }

  test('an outage of DescribeServices longer than the SDK retries is waited out', async () => {
    const { world, ctx } = await outageFromRolloutStart(() => 120);
    const deployed = value(
      await deploy({ ...ctx, taskDefinitions: await world.render({ phpFpm: 'v2', nginx: 'v1' }) }),
    );
    expect(deployed.services.map((s) => s.service)).toEqual(['example-staging-php-fpm']);
    expect(world.lines.some((line) => line.includes('could not read the rollout'))).toBe(true);
    expect(revisionOf(world, 'phpFpm')).toBe('2 COMPLETED');
  });

  test('an outage past the rollout timeout ends it as a timeout that names the error', async () => {
    const { world, ctx } = await outageFromRolloutStart(
      (world) => world.env.deploy.rolloutTimeoutSeconds + 60,
    );
    const failed = failure(
      await deploy({ ...ctx, taskDefinitions: await world.render({ phpFpm: 'v2', nginx: 'v1' }) }),
    );
    expect(failed).toMatchObject({
      reason: 'rollout-failed',
      failures: [
        {
          cause: 'timeout',
          reason: expect.stringContaining('DescribeServices kept failing') as unknown,
        },
      ],
    });
  });

  test('transient means throttling, unreachable or a 5xx; not access denied', () => {
    expect(isTransient({ reason: 'throttled', action: 'a', resource: 'r', attempts: 3 })).toBe(
      true,
    );
    expect(isTransient({ reason: 'unreachable', action: 'a', detail: 'ECONNRESET' })).toBe(true);
    expect(
      isTransient({
        reason: 'aws-error',
        action: 'a',
        resource: 'r',
        code: 'ServerException',
        detail: '',
      }),
    ).toBe(true);
    expect(isTransient({ reason: 'access-denied', action: 'a', resource: 'r', detail: '' })).toBe(
      false,
    );
  });
});
