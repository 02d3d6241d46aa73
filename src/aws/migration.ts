/**
 * The environment's one-off migration (`php artisan migrate --force`): RunTask with the migrating
 * service's task definition that is about to roll out and a command override, then wait until it
 * stops. It runs before any service changes, so a failed migration leaves the services exactly as
 * they were.
 *
 *   RunTask ─ failures (no capacity, placement) ─> migration-not-started, nothing ran
 *     └ task ─> poll DescribeTasks ─ STOPPED ─> verdict on the command's container only
 *                 │ timeout / Ctrl-C ─> StopTask, so a rerun never runs two migrations at once
 *
 * Only the container the command ran in is judged: when it exits, ECS stops every other
 * container with SIGTERM, so a sidecar's 143 says nothing about the migration
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html).
 * A task that never started has no exit code; its stopCode (TaskFailedToStart...) and
 * stoppedReason say why (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
 */
import {
  DescribeTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { backoffDelay } from './backoff.js';
import type { AwsContext } from './clients.js';
import { AwsFailure, awsCall, describeAwsFailure } from './errors.js';

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

/** Pure: the container the command runs in: the first essential one (ECS's default), else the first. */
export function migrationContainer(taskDefinition: TaskDefinition): string {
  const containers = taskDefinition.containerDefinitions ?? [];
  return (containers.find((c) => c.essential !== false) ?? containers[0])?.name ?? '';
}

export type MigrationVerdict =
  | { readonly passed: true }
  | {
      readonly passed: false;
      readonly exitCode: number | undefined;
      readonly stopCode: string | undefined;
      readonly stoppedReason: string;
    };

/** Pure: a stopped task passed when the command's container exited 0; sidecars do not count. */
export function migrationVerdict(task: Task, container: string): MigrationVerdict {
  const ran = (task.containers ?? []).find((c) => c.name === container);
  if (ran?.exitCode === 0) return { passed: true };
  return {
    passed: false,
    exitCode: ran?.exitCode,
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason ?? ran?.reason ?? '(no reason given)',
  };
}

export type MigrationOutcome = { readonly taskId: string } | { readonly interrupted: string };

/**
 * StopTask; undefined when ECS accepted it, else why not. Never throws: it runs on the way out of
 * a failure or an interrupt, which must still be reported.
 */
async function stopMigration(
  ctx: AwsContext,
  taskArn: string,
  reason: string,
): Promise<string | undefined> {
  try {
    await awsCall('ecs:StopTask', taskArn, () =>
      ctx.clients.ecs.send(
        new StopTaskCommand({ cluster: ctx.env.ecs.cluster, task: taskArn, reason }),
      ),
    );
    ctx.log(
      `migration: asked ECS to stop task ${taskArn.split('/').at(-1) ?? taskArn} (${reason})`,
    );
    return undefined;
  } catch (error) {
    if (error instanceof AwsFailure) return describeAwsFailure(error.failure);
    return error instanceof Error ? error.message : String(error);
  }
}

export async function runMigration(
  ctx: AwsContext,
  taskDefinition: TaskDefinition,
  options: { readonly launchType: 'FARGATE' | 'EC2' },
): Promise<MigrationOutcome> {
  const { env } = ctx;
  const cluster = env.ecs.cluster;
  const arn = taskDefinition.taskDefinitionArn ?? '';
  const revision = arn.split('/').at(-1) ?? arn;
  const container = migrationContainer(taskDefinition);
  const command = env.deploy.migrate.command;
  ctx.log(`migration: running \`${command.join(' ')}\` in ${container} of ${revision}`);
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
    // RunTask succeeds with `failures` when ECS cannot place the task (capacity, placement):
    // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html
    throw new AwsFailure({
      reason: 'migration-not-started',
      environment: env.name,
      cluster,
      taskDefinition: arn,
      failures: (run.failures ?? []).map((f) => ({
        reason: f.reason ?? '(no reason given)',
        ...(f.detail === undefined ? {} : { detail: f.detail }),
        ...(f.arn === undefined ? {} : { arn: f.arn }),
      })),
    });
  }
  const taskId = taskArn.split('/').at(-1) ?? taskArn;
  const started = ctx.clock.now();
  const timeoutMs = env.deploy.rolloutTimeoutSeconds * 1000;
  let lastStatus = '';
  for (let attempt = 0; ; attempt++) {
    if (ctx.signal?.aborted === true) {
      await stopMigration(ctx, taskArn, 'taskgraph: deploy interrupted (Ctrl-C)');
      return { interrupted: taskId };
    }
    const out = await awsCall('ecs:DescribeTasks', `${cluster}/${taskId}`, () =>
      ctx.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] })),
    );
    const task = out.tasks?.[0];
    if (task?.lastStatus !== lastStatus) {
      lastStatus = task?.lastStatus ?? 'MISSING';
      ctx.log(`migration: task ${taskId} ${lastStatus}`);
    }
    if (task?.lastStatus === 'STOPPED') {
      const verdict = migrationVerdict(task, container);
      if (verdict.passed) {
        ctx.log(`migration: task ${taskId}: ${container} exited 0`);
        return { taskId };
      }
      throw new AwsFailure({
        reason: 'migration-failed',
        environment: env.name,
        taskId,
        container,
        exitCode: verdict.exitCode,
        stopCode: verdict.stopCode,
        stoppedReason: verdict.stoppedReason,
        containers: (task.containers ?? []).map((c) => ({
          name: c.name ?? '',
          exitCode: c.exitCode,
          ...(c.reason === undefined ? {} : { reason: c.reason }),
        })),
      });
    }
    if (ctx.clock.now() - started >= timeoutMs) {
      const seconds = env.deploy.rolloutTimeoutSeconds;
      const stopFailed = await stopMigration(
        ctx,
        taskArn,
        `taskgraph: migration timed out after ${seconds} s`,
      );
      throw new AwsFailure({
        reason: 'migration-timeout',
        environment: env.name,
        cluster,
        taskId,
        seconds,
        ...(stopFailed === undefined ? {} : { stopFailed }),
      });
    }
    await ctx.clock.sleep(backoffDelay(attempt), ctx.signal);
  }
}
