/**
 * The environment's one-off migration (`php artisan migrate --force`): RunTask with the migrating
 * service's task definition that is about to roll out and a command override, then wait until it stops and
 * require every container to have exited 0. It runs before any service changes, so a failed
 * migration leaves the services exactly as they were.
 */
import {
  DescribeTasksCommand,
  RunTaskCommand,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { backoffDelay } from './backoff.js';
import type { AwsContext } from './clients.js';
import { AwsFailure, awsCall } from './errors.js';

/** What RunTask and CreateService both need to place a task in the environment's network. */
export function networkConfiguration(ctx: Pick<AwsContext, 'env'>) {
  const { network } = ctx.env;
  return {
    awsvpcConfiguration: {
      subnets: [...network.subnets],
      securityGroups: [...network.securityGroups],
      assignPublicIp: network.assignPublicIp ? ('ENABLED' as const) : ('DISABLED' as const),
    },
  };
}

/** Pure: a stopped task passed when it has containers and each exited 0. */
export function migrationPassed(task: Task): boolean {
  const containers = task.containers ?? [];
  return containers.length > 0 && containers.every((c) => c.exitCode === 0);
}

export type MigrationOutcome = { readonly taskId: string } | { readonly interrupted: string };

export async function runMigration(
  ctx: AwsContext,
  taskDefinition: TaskDefinition,
  options: { readonly launchType: 'FARGATE' | 'EC2' },
): Promise<MigrationOutcome> {
  const { env } = ctx;
  const cluster = env.ecs.cluster;
  const arn = taskDefinition.taskDefinitionArn ?? '';
  const container = taskDefinition.containerDefinitions?.[0]?.name ?? '';
  const command = env.deploy.migrate.command;
  ctx.log(
    `migration: running \`${command.join(' ')}\` in ${container} of ${arn.split('/').at(-1) ?? arn}`,
  );
  const run = await awsCall('ecs:RunTask', `${cluster}/${arn}`, () =>
    ctx.clients.ecs.send(
      new RunTaskCommand({
        cluster,
        taskDefinition: arn,
        count: 1,
        launchType: options.launchType,
        networkConfiguration: networkConfiguration(ctx),
        startedBy: 'taskgraph-migrate',
        overrides: { containerOverrides: [{ name: container, command: [...command] }] },
      }),
    ),
  );
  const taskArn = run.tasks?.[0]?.taskArn;
  if (taskArn === undefined) {
    const why = run.failures?.map((f) =>
      `${f.arn ?? ''} ${f.reason ?? ''} ${f.detail ?? ''}`.trim(),
    );
    throw new AwsFailure({
      reason: 'migration-failed',
      environment: env.name,
      taskId: '(not started)',
      stoppedReason: `RunTask started no task: ${why?.join('; ') || 'no reason given'}`,
      containers: [],
    });
  }
  const taskId = taskArn.split('/').at(-1) ?? taskArn;
  const started = ctx.clock.now();
  const timeoutMs = env.deploy.rolloutTimeoutSeconds * 1000;
  let lastStatus = '';
  for (let attempt = 0; ; attempt++) {
    if (ctx.signal?.aborted === true) return { interrupted: taskId };
    const out = await awsCall('ecs:DescribeTasks', `${cluster}/${taskId}`, () =>
      ctx.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] })),
    );
    const task = out.tasks?.[0];
    if (task?.lastStatus !== lastStatus) {
      lastStatus = task?.lastStatus ?? 'MISSING';
      ctx.log(`migration: task ${taskId} ${lastStatus}`);
    }
    if (task?.lastStatus === 'STOPPED') {
      if (migrationPassed(task)) {
        ctx.log(`migration: task ${taskId} exited 0`);
        return { taskId };
      }
      throw new AwsFailure({
        reason: 'migration-failed',
        environment: env.name,
        taskId,
        stoppedReason: task.stoppedReason ?? '(no reason given)',
        containers: (task.containers ?? []).map((c) => ({
          name: c.name ?? '',
          exitCode: c.exitCode,
          ...(c.reason === undefined ? {} : { reason: c.reason }),
        })),
      });
    }
    if (ctx.clock.now() - started >= timeoutMs) {
      throw new AwsFailure({
        reason: 'migration-timeout',
        environment: env.name,
        taskId,
        seconds: env.deploy.rolloutTimeoutSeconds,
      });
    }
    await ctx.clock.sleep(backoffDelay(attempt), ctx.signal);
  }
}
