/**
 * Contract tests for the emulated ECS: the real @aws-sdk client and its waiters against the
 * emulator, reached the way a user reaches any endpoint (AWS_ENDPOINT_URL_ECS). Time is a
 * manual clock that moves 5 s per request. ECR: aws-emulator-ecr.test.ts.
 */
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTaskDefinitionsCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  UpdateServiceCommand,
  waitForServicesStable,
  waitUntilServicesStable,
  waitUntilTasksStopped,
  type Service,
} from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { manualClock } from './support/aws-emulator/clock.js';
import { errorOf, pointSdkAt } from './support/aws-emulator/sdk-env.js';
import { startAwsEmulator, type AwsEmulator } from './support/aws-emulator/server.js';

const waiter = { maxWaitTime: 20, minDelay: 0.01, maxDelay: 0.02 };
const cluster = 'main';

let emu: AwsEmulator;
let ecs: ECSClient;

beforeEach(async () => {
  emu = await startAwsEmulator({ clock: manualClock({ stepSeconds: 5 }) });
  pointSdkAt(emu);
  // No endpoint option: the SDK finds the emulator through the environment, as for a user.
  ecs = new ECSClient({});
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  return async () => {
    ecs.destroy();
    vi.unstubAllEnvs();
    await emu.stop();
  };
});

async function register(family: string, image: string): Promise<string> {
  const out = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [{ name: 'app', image, essential: true }],
    }),
  );
  return out.taskDefinition?.taskDefinitionArn ?? '';
}

async function describe1(service: string): Promise<Service> {
  const out = await ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  const found = out.services?.[0];
  if (!found) throw new Error(`service ${service} missing`);
  return found;
}

/** A service whose first deployment has completed, with the circuit breaker as given. */
async function stableService(name: string, taskDefinition: string, rollback = true) {
  await ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: name,
      taskDefinition,
      desiredCount: 2,
      launchType: 'FARGATE',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-1'],
          securityGroups: ['sg-1'],
          assignPublicIp: 'DISABLED',
        },
      },
      loadBalancers: [
        {
          targetGroupArn: 'arn:aws:elasticloadbalancing:tg/web',
          containerName: 'app',
          containerPort: 80,
        },
      ],
      deploymentConfiguration: {
        maximumPercent: 200,
        minimumHealthyPercent: 100,
        deploymentCircuitBreaker: { enable: true, rollback },
      },
    }),
  );
  await waitUntilServicesStable({ client: ecs, ...waiter }, { cluster, services: [name] });
  // The waiter only compares counts (as against ECS): it can return while new tasks are still
  // RUNNING but not yet healthy. A rollback needs a COMPLETED deployment to return to.
  await untilSettled(name);
}

/** Polls until one deployment is left and its rollout has ended; returns the service. */
async function untilSettled(name: string): Promise<Service> {
  for (let i = 0; i < 50; i++) {
    const service = await describe1(name);
    const [primary, ...others] = service.deployments ?? [];
    if (others.length === 0 && primary?.rolloutState !== 'IN_PROGRESS') return service;
  }
  throw new Error(`service ${name} did not settle`);
}

describe('ECS', () => {
  test('the SDK reaches the emulator through AWS_ENDPOINT_URL_ECS', async () => {
    const out = await ecs.send(new DescribeClustersCommand({ clusters: [cluster, 'nope'] }));
    expect(out.clusters?.[0]).toMatchObject({ clusterName: cluster, status: 'ACTIVE' });
    expect(out.failures).toEqual([
      { arn: expect.stringContaining(':cluster/nope') as unknown, reason: 'MISSING' },
    ]);
    expect(emu.calls).toEqual(['CreateCluster', 'DescribeClusters']);
  });

  test('services deserialize with the members waiters and deploy code read', async () => {
    const v1 = await register('web', 'registry/web:1');
    await stableService('web', v1);
    const service = await describe1('web');
    expect(service).toMatchObject({
      serviceName: 'web',
      status: 'ACTIVE',
      desiredCount: 2,
      runningCount: 2,
      pendingCount: 0,
      taskDefinition: v1,
      launchType: 'FARGATE',
      loadBalancers: [{ containerName: 'app', containerPort: 80 }],
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ['subnet-1'], assignPublicIp: 'DISABLED' },
      },
      deploymentConfiguration: {
        maximumPercent: 200,
        minimumHealthyPercent: 100,
        deploymentCircuitBreaker: { enable: true, rollback: true },
      },
    });
    expect(service.createdAt).toBeInstanceOf(Date);
    const [deployment] = service.deployments ?? [];
    expect(deployment).toMatchObject({
      status: 'PRIMARY',
      taskDefinition: v1,
      desiredCount: 2,
      runningCount: 2,
      pendingCount: 0,
      failedTasks: 0,
      rolloutState: 'COMPLETED',
      launchType: 'FARGATE',
    });
    expect(deployment?.id).toMatch(/^ecs-svc\/\d{19}$/);
    expect(deployment?.rolloutStateReason).toBe(`ECS deployment ${deployment?.id} completed.`);
    expect(deployment?.createdAt).toBeInstanceOf(Date);
    expect(deployment?.updatedAt).toBeInstanceOf(Date);
    expect(service.events?.[0]?.message).toBe('(service web) has reached a steady state.');
    expect(service.events?.[0]?.createdAt).toBeInstanceOf(Date);
  });

  test('a rolling update adds a PRIMARY, keeps the old ACTIVE, then completes', async () => {
    const v1 = await register('web', 'registry/web:1');
    const v2 = await register('web', 'registry/web:2');
    await stableService('web', v1);
    const updated = await ecs.send(
      new UpdateServiceCommand({ cluster, service: 'web', taskDefinition: v2 }),
    );
    expect(
      updated.service?.deployments?.map((d) => [d.status, d.taskDefinition, d.rolloutState]),
    ).toEqual([
      ['PRIMARY', v2, 'IN_PROGRESS'],
      ['ACTIVE', v1, 'COMPLETED'],
    ]);

    await waitUntilServicesStable({ client: ecs, ...waiter }, { cluster, services: ['web'] });
    const service = await describe1('web');
    expect(service.deployments?.map((d) => [d.status, d.taskDefinition, d.rolloutState])).toEqual([
      ['PRIMARY', v2, 'COMPLETED'],
    ]);
    const messages =
      service.events?.map((e) => (e.message ?? '').replace(/\(task \w+\)/g, '(task *)')) ?? [];
    expect(messages.slice(0, 4)).toEqual([
      '(service web) has reached a steady state.',
      `(service web) (deployment ${service.deployments?.[0]?.id}) deployment completed.`,
      '(service web) has stopped 2 running tasks: (task *) (task *).',
      '(service web) has started 2 tasks: (task *) (task *).',
    ]);
  });

  test('DescribeServices reports a missing service in failures, not as an error', async () => {
    const out = await ecs.send(new DescribeServicesCommand({ cluster, services: ['ghost'] }));
    expect(out.services).toEqual([]);
    expect(out.failures).toEqual([
      { arn: `arn:aws:ecs:us-east-1:123456789012:service/${cluster}/ghost`, reason: 'MISSING' },
    ]);
    // ...which the SDK's waiter treats as a failure, not something to wait for.
    const result = await waitForServicesStable(
      { client: ecs, ...waiter },
      { cluster, services: ['ghost'] },
    );
    expect(result.state).toBe('FAILURE');
  });

  test('modelled errors arrive as e.name with status 400', async () => {
    const v1 = await register('web', 'registry/web:1');
    const cases: [Promise<unknown>, string][] = [
      [
        ecs.send(new UpdateServiceCommand({ cluster, service: 'ghost', desiredCount: 1 })),
        'ServiceNotFoundException',
      ],
      [
        ecs.send(new DescribeServicesCommand({ cluster: 'nope', services: ['web'] })),
        'ClusterNotFoundException',
      ],
      [
        ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: 'nope:7' })),
        'ClientException',
      ],
      [
        ecs.send(
          new CreateServiceCommand({
            cluster,
            serviceName: 'web',
            taskDefinition: 'nope',
            desiredCount: 1,
          }),
        ),
        'InvalidParameterException',
      ],
    ];
    for (const [call, name] of cases) {
      const e = await errorOf(call);
      expect(e.name).toBe(name);
      expect(e.$metadata?.httpStatusCode).toBe(400);
    }
    await ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: 'web',
        taskDefinition: v1,
        desiredCount: 1,
      }),
    );
    const duplicate = await errorOf(
      ecs.send(
        new CreateServiceCommand({
          cluster,
          serviceName: 'web',
          taskDefinition: v1,
          desiredCount: 1,
        }),
      ),
    );
    expect([duplicate.name, duplicate.message]).toEqual([
      'InvalidParameterException',
      'Creation of service was not idempotent.',
    ]);
  });

  test('a throttled call is retried by the SDK and succeeds', async () => {
    emu.faults.throttle('DescribeClusters', 2);
    const out = await ecs.send(new DescribeClustersCommand({ clusters: [cluster] }));
    expect(out.clusters?.[0]?.clusterName).toBe(cluster);
    expect(out.$metadata.attempts).toBe(3);
    expect(emu.calls.filter((c) => c === 'DescribeClusters')).toHaveLength(3);
  });

  test('throttling past the retry budget surfaces as ThrottlingException', async () => {
    emu.faults.throttle('DescribeClusters', 3);
    const e = await errorOf(ecs.send(new DescribeClustersCommand({ clusters: [cluster] })));
    expect(e.name).toBe('ThrottlingException');
  });

  test('a server error is retried; AccessDenied on one action is not', async () => {
    emu.faults.serverError('DescribeClusters', 1).accessDenied('UpdateService');
    const out = await ecs.send(new DescribeClustersCommand({ clusters: [cluster] }));
    expect(out.$metadata.attempts).toBe(2);
    const e = await errorOf(
      ecs.send(new UpdateServiceCommand({ cluster, service: 'web', desiredCount: 1 })),
    );
    expect(e.name).toBe('AccessDeniedException');
    expect(e.message).toContain('ecs:UpdateService');
    expect(emu.calls.filter((c) => c === 'UpdateService')).toHaveLength(1);
  });

  test('circuit breaker with rollback returns to the last completed task definition', async () => {
    const v1 = await register('web', 'registry/web:1');
    const v2 = await register('web', 'registry/web:2');
    await stableService('web', v1);
    emu.faults.failToStart({ image: 'web:2' });
    await ecs.send(new UpdateServiceCommand({ cluster, service: 'web', taskDefinition: v2 }));

    const seen: string[] = [];
    for (let i = 0; i < 40; i++) {
      const s = await describe1('web');
      for (const d of s.deployments ?? []) {
        if (d.rolloutState === 'FAILED') seen.push(`${d.taskDefinition} ${d.rolloutStateReason}`);
      }
      if (s.deployments?.length === 1 && s.deployments[0]?.rolloutState === 'COMPLETED') break;
    }
    expect(seen[0]).toBe(`${v2} ECS deployment circuit breaker: tasks failed to start.`);
    const service = await describe1('web');
    expect(service.deployments?.map((d) => [d.status, d.taskDefinition, d.rolloutState])).toEqual([
      ['PRIMARY', v1, 'COMPLETED'],
    ]);
    expect(service.taskDefinition).toBe(v1);
    expect(service.events?.map((e) => e.message)).toContainEqual(
      expect.stringMatching(
        /^\(service web\) \(deployment ecs-svc\/\d+\) deployment failed: tasks failed to start\.$/,
      ),
    );
  });

  test('a rollout that never finishes stays IN_PROGRESS and the waiter times out', async () => {
    const v1 = await register('web', 'registry/web:1');
    const v2 = await register('web', 'registry/web:2');
    await stableService('web', v1);
    emu.faults.neverStart({ family: 'web', revision: 2 });
    await ecs.send(new UpdateServiceCommand({ cluster, service: 'web', taskDefinition: v2 }));
    const result = await waitForServicesStable(
      { client: ecs, maxWaitTime: 1, minDelay: 0.01, maxDelay: 0.02 },
      { cluster, services: ['web'] },
    );
    expect(result.state).toBe('TIMEOUT');
    const service = await describe1('web');
    expect(
      service.deployments?.map((d) => [d.status, d.rolloutState, d.pendingCount, d.runningCount]),
    ).toEqual([
      ['PRIMARY', 'IN_PROGRESS', 2, 0],
      ['ACTIVE', 'COMPLETED', 0, 2],
    ]);
  });

  test('RunTask tasks run, stop with an exit code, and show their overrides', async () => {
    const migrate = await register('migrate', 'registry/app:1');
    emu.faults.exitCode({ family: 'migrate' }, 3);
    const overrides = {
      containerOverrides: [{ name: 'app', command: ['php', 'artisan', 'migrate'] }],
    };
    const run = await ecs.send(
      new RunTaskCommand({
        cluster,
        taskDefinition: 'migrate',
        launchType: 'FARGATE',
        overrides,
        startedBy: 'deploy',
      }),
    );
    const taskArn = run.tasks?.[0]?.taskArn ?? '';
    expect(run.tasks?.[0]).toMatchObject({
      lastStatus: 'PENDING',
      desiredStatus: 'RUNNING',
      taskDefinitionArn: migrate,
    });

    await waitUntilTasksStopped({ client: ecs, ...waiter }, { cluster, tasks: [taskArn] });
    const out = await ecs.send(
      new DescribeTasksCommand({ cluster, tasks: [taskArn, 'f'.repeat(32)] }),
    );
    expect(out.tasks?.[0]).toMatchObject({
      taskArn,
      taskDefinitionArn: migrate,
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedReason: 'Essential container in task exited',
      startedBy: 'deploy',
      overrides,
      containers: [{ name: 'app', exitCode: 3, lastStatus: 'STOPPED' }],
    });
    expect(out.tasks?.[0]?.stoppedAt).toBeInstanceOf(Date);
    expect(out.failures).toEqual([
      { arn: expect.stringContaining('f'.repeat(32)) as unknown, reason: 'MISSING' },
    ]);
  });

  test('task definitions: revisions, listing and deregistration', async () => {
    for (const tag of ['1', '2', '3']) await register('web', `registry/web:${tag}`);
    await register('worker', 'registry/worker:1');
    const listed = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: 'web', sort: 'DESC' }),
    );
    expect(listed.taskDefinitionArns?.map((a) => a.split('/')[1])).toEqual([
      'web:3',
      'web:2',
      'web:1',
    ]);

    const gone = await ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: 'web:3' }));
    expect(gone.taskDefinition?.status).toBe('INACTIVE');
    const latest = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: 'web', include: ['TAGS'] }),
    );
    expect(latest.taskDefinition).toMatchObject({ family: 'web', revision: 2, status: 'ACTIVE' });
    expect(latest.taskDefinition?.containerDefinitions?.[0]?.image).toBe('registry/web:2');
    expect(latest.taskDefinition?.registeredAt).toBeInstanceOf(Date);
    const inactive = await ecs.send(
      new ListTaskDefinitionsCommand({ familyPrefix: 'web', status: 'INACTIVE' }),
    );
    expect(inactive.taskDefinitionArns?.map((a) => a.split('/')[1])).toEqual(['web:3']);
  });
});
