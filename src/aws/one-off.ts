/**
 * `ENV:run -- CMD...` and `ENV:artisan -- ARGS...`: one command as a one-off ECS task, with a
 * service's current task definition and network configuration, its output streamed from
 * CloudWatch Logs while it runs, ending with the container's exit code.
 *
 *   DescribeServices ─> RunTask (command override: an argv array, never a shell string)
 *     ─> poll DescribeTasks + FilterLogEvents on the task's stream, printing new lines
 *     ─> STOPPED ─> drain the lines still being ingested ─> exit code of the container
 *   Ctrl-C ─> StopTask ("stopped by taskgraph: interrupted") ─> say so
 */
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  type Service,
  type Task,
} from '@aws-sdk/client-ecs';
import { requireAccount } from './account.js';
import type { AwsContext } from './clients.js';
import { AwsFailure, awsCall, runCommand, type Result } from './errors.js';
import {
  LOOKBACK_MS,
  logTargets,
  pollLogs,
  startFollowing,
  streamName,
  type FollowState,
  type LogQuery,
} from './logs.js';

export interface RunOptions extends AwsContext {
  /** The ECS service whose task definition and network configuration the task uses. */
  readonly service: string;
  /** The container's command, as argv: each element one argument, no shell in between. */
  readonly command: readonly string[];
  /** Tags for the task (the environment's), besides those propagated from the definition. */
  readonly tags?: Readonly<Record<string, string>>;
}

export interface RunReport {
  readonly taskId: string;
  readonly container: string;
  readonly exitCode: number;
  readonly stoppedReason: string;
}

/** How long after the task stops lines may still arrive (ingestion lags their timestamps). */
const DRAIN_MS = 6_000;
/** Output streams while the task runs, so poll at a steady pace rather than backing off. */
const POLL_MS = 2_000;

/** Pure: what RunTask is sent, from the live service, its definition's container and the argv. */
export function runTaskInput(
  cluster: string,
  service: Service,
  container: string,
  command: readonly string[],
  tags: Readonly<Record<string, string>> = {},
) {
  return {
    cluster,
    taskDefinition: service.taskDefinition,
    count: 1,
    // The service's own placement: a capacity provider strategy or a launch type, never both.
    ...(service.capacityProviderStrategy && service.capacityProviderStrategy.length > 0
      ? { capacityProviderStrategy: service.capacityProviderStrategy }
      : { launchType: service.launchType }),
    ...(service.platformVersion === undefined ? {} : { platformVersion: service.platformVersion }),
    networkConfiguration: service.networkConfiguration,
    startedBy: 'taskgraph-run',
    overrides: { containerOverrides: [{ name: container, command: [...command] }] },
    propagateTags: 'TASK_DEFINITION' as const,
    ...(Object.keys(tags).length > 0
      ? { tags: Object.entries(tags).map(([key, value]) => ({ key, value })) }
      : {}),
  };
}

/** Pure: the exit code of the container that ran the command, or undefined (never started). */
export function exitCodeOf(task: Task, container: string): number | undefined {
  return task.containers?.find((c) => c.name === container)?.exitCode;
}

async function liveService(ctx: AwsContext, name: string): Promise<Service> {
  const cluster = ctx.env.ecs.cluster;
  const out = await awsCall('ecs:DescribeServices', `${cluster}/${name}`, () =>
    ctx.clients.ecs.send(new DescribeServicesCommand({ cluster, services: [name] })),
  );
  const service = out.services?.find((s) => s.serviceName === name && s.status === 'ACTIVE');
  if (!service?.taskDefinition) {
    throw new AwsFailure({
      reason: 'services-missing',
      environment: ctx.env.name,
      cluster,
      services: [name],
    });
  }
  return service;
}

export async function runOneOff(options: RunOptions): Promise<Result<RunReport>> {
  return runCommand(async () => {
    const ctx = options;
    const cluster = ctx.env.ecs.cluster;
    // RunTask starts a task (and may migrate, write, bill): only in the environment's account.
    await requireAccount(ctx);
    const service = await liveService(ctx, options.service);
    const arn = service.taskDefinition as string;
    const described = await awsCall('ecs:DescribeTaskDefinition', arn, () =>
      ctx.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })),
    );
    const definition = described.taskDefinition ?? {};
    const containers = definition.containerDefinitions ?? [];
    const container = (containers.find((c) => c.essential !== false) ?? containers[0])?.name ?? '';
    const run = await awsCall('ecs:RunTask', `${cluster}/${arn}`, () =>
      ctx.clients.ecs.send(
        new RunTaskCommand(
          runTaskInput(cluster, service, container, options.command, options.tags ?? ctx.env.tags),
        ),
      ),
    );
    const taskArn = run.tasks?.[0]?.taskArn;
    if (taskArn === undefined) {
      throw new AwsFailure({
        reason: 'run-not-started',
        environment: ctx.env.name,
        service: options.service,
        failures: (run.failures ?? []).map((f) => `${f.reason ?? ''} ${f.detail ?? ''}`.trim()),
      });
    }
    const taskId = taskArn.split('/').at(-1) ?? taskArn;
    ctx.log(
      `${options.service}: task ${taskId} runs ${JSON.stringify(options.command)} in ${container}`,
    );
    const target = logTargets(definition).find((t) => t.container === container);
    const query: LogQuery | undefined = target && {
      group: target.group,
      streamNames: [streamName(target, taskId)],
    };
    let follow: FollowState = startFollowing(ctx.clock.now() - LOOKBACK_MS);
    const printNew = async () => {
      if (!query) return;
      const polled = await pollLogs(ctx, query, follow);
      follow = polled.state;
      for (const event of polled.fresh) ctx.log((event.message ?? '').trimEnd());
    };
    let stoppedAt: number | undefined;
    for (;;) {
      if (ctx.signal?.aborted === true) {
        await awsCall('ecs:StopTask', `${cluster}/${taskId}`, () =>
          ctx.clients.ecs.send(
            new StopTaskCommand({
              cluster,
              task: taskArn,
              reason: 'Stopped by taskgraph: interrupted (Ctrl-C)',
            }),
          ),
        );
        throw new AwsFailure({ reason: 'run-interrupted', environment: ctx.env.name, taskId });
      }
      const out = await awsCall('ecs:DescribeTasks', `${cluster}/${taskId}`, () =>
        ctx.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: [taskArn] })),
      );
      await printNew();
      const task = out.tasks?.[0];
      if (task?.lastStatus === 'STOPPED') {
        stoppedAt ??= task.stoppedAt?.getTime() ?? ctx.clock.now();
        if (ctx.clock.now() - stoppedAt >= DRAIN_MS || !query) {
          const exitCode = exitCodeOf(task, container);
          const stoppedReason = task.stoppedReason ?? '';
          if (exitCode === undefined) {
            throw new AwsFailure({
              reason: 'run-not-started',
              environment: ctx.env.name,
              service: options.service,
              failures: [
                `task ${taskId} stopped without running: ${task.stopCode ?? ''} ${stoppedReason}`.trim(),
              ],
            });
          }
          return { taskId, container, exitCode, stoppedReason };
        }
      }
      await ctx.clock.sleep(POLL_MS, ctx.signal);
    }
  });
}

export function describeRun(report: RunReport): string {
  return `task ${report.taskId}: ${report.container} exited ${report.exitCode}`;
}
