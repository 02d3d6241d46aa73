/**
 * Container output from CloudWatch Logs, where the task definitions' awslogs configuration sends
 * it: following a service (`ENV:logs`), a one-off task's output while it runs (`ENV:run`), and
 * a stopped task's last lines (a failed deploy's report).
 *
 * Following polls FilterLogEvents
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html).
 * Events become searchable only once ingested, after their timestamp, so asking only for
 * timestamps after the last one seen would lose late events. Each poll therefore starts
 * `LOOKBACK_MS` before the newest event seen and drops events already printed, by event id:
 *
 *   poll(since) ─> events ─> drop seen ids ─> print (oldest first) ─> since = newest - lookback
 */
import {
  FilterLogEventsCommand,
  GetLogEventsCommand,
  type FilteredLogEvent,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import type { AwsContext } from './clients.js';
import { AwsFailure, awsCall, awsErrorName, runCommand, type Result } from './errors.js';

/** How far back each poll looks again for events ingested late. */
export const LOOKBACK_MS = 30_000;

/** Where one container's output goes: stream `<prefix>/<container>/<task id>` of `group`. */
export interface LogTarget {
  readonly container: string;
  readonly group: string;
  readonly prefix: string | undefined;
}

/**
 * The awslogs destinations of a task definition's containers
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html).
 */
export function logTargets(definition: Pick<TaskDefinition, 'containerDefinitions'>): LogTarget[] {
  return (definition.containerDefinitions ?? []).flatMap((c) => {
    const config = c.logConfiguration;
    const group = config?.options?.['awslogs-group'];
    if (config?.logDriver !== 'awslogs' || group === undefined) return [];
    return [{ container: c.name ?? '', group, prefix: config.options?.['awslogs-stream-prefix'] }];
  });
}

export function streamName(target: LogTarget, taskId: string): string {
  return target.prefix === undefined ? taskId : `${target.prefix}/${target.container}/${taskId}`;
}

/** `container/taskid` from a stream name `prefix/container/taskid`, to prefix each line. */
export function streamLabel(stream: string): string {
  return stream.split('/').slice(-2).join('/');
}

/** `30s`, `10m`, `2h`, `1d` before now, or an ISO 8601 time; undefined when neither. */
export function parseSince(text: string, now: number): number | undefined {
  const relative = /^(\d+)([smhd])$/.exec(text.trim());
  if (relative) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's'];
    return now - Number(relative[1]) * unit;
  }
  const at = Date.parse(text);
  return Number.isNaN(at) || !/^\d{4}-\d{2}-\d{2}/.test(text) ? undefined : at;
}

/** What a follower remembers between polls. */
export interface FollowState {
  /** The next poll's startTime. */
  readonly since: number;
  /** Event ids already printed, with their timestamps (pruned once older than `since`). */
  readonly seen: ReadonlyMap<string, number>;
}

export function startFollowing(since: number): FollowState {
  return { since, seen: new Map() };
}

/** Pure: the events of a poll not printed before (oldest first), and the state for the next. */
export function takeNew(
  state: FollowState,
  events: readonly FilteredLogEvent[],
): { state: FollowState; fresh: FilteredLogEvent[] } {
  const seen = new Map(state.seen);
  const fresh = events
    .filter((e) => e.eventId !== undefined && !seen.has(e.eventId))
    .sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
  for (const e of fresh) seen.set(e.eventId as string, e.timestamp ?? 0);
  const newest = Math.max(state.since, ...[...seen.values()]);
  const since = Math.max(state.since, newest - LOOKBACK_MS);
  for (const [id, timestamp] of seen) if (timestamp < since) seen.delete(id);
  return { state: { since, seen }, fresh };
}

export interface LogQuery {
  readonly group: string;
  readonly streamNames?: readonly string[];
  readonly streamPrefix?: string;
  /** A CloudWatch Logs filter pattern (`--filter`). */
  readonly filter?: string;
}

/** One poll: every page of events since `state.since`; a missing group reads as no events. */
export async function pollLogs(
  ctx: Pick<AwsContext, 'clients'>,
  query: LogQuery,
  state: FollowState,
): Promise<{ state: FollowState; fresh: FilteredLogEvent[] }> {
  const events: FilteredLogEvent[] = [];
  let token: string | undefined;
  do {
    const out = await awsCall('logs:FilterLogEvents', query.group, async () => {
      try {
        return await ctx.clients.logs.send(
          new FilterLogEventsCommand({
            logGroupName: query.group,
            startTime: state.since,
            ...(query.streamNames ? { logStreamNames: [...query.streamNames] } : {}),
            ...(query.streamPrefix !== undefined
              ? { logStreamNamePrefix: query.streamPrefix }
              : {}),
            ...(query.filter !== undefined ? { filterPattern: query.filter } : {}),
            ...(token === undefined ? {} : { nextToken: token }),
          }),
        );
      } catch (error) {
        if (awsErrorName(error) === 'ResourceNotFoundException') {
          return { events: [], nextToken: undefined };
        }
        throw error;
      }
    });
    events.push(...(out.events ?? []));
    token = out.nextToken;
  } while (token !== undefined);
  return takeNew(state, events);
}

export interface FollowOptions {
  readonly queries: readonly LogQuery[];
  readonly since: number;
  /** Keep polling until the signal aborts; otherwise one poll. */
  readonly follow: boolean;
  readonly intervalMs?: number;
}

/** Prints `container/taskid | message` for each event of the queries, oldest first per poll. */
export async function followLogs(ctx: AwsContext, options: FollowOptions): Promise<number> {
  let states = options.queries.map(() => startFollowing(options.since));
  let printed = 0;
  for (;;) {
    const polls = await Promise.all(
      options.queries.map((q, i) => pollLogs(ctx, q, states[i] as FollowState)),
    );
    states = polls.map((p) => p.state);
    const fresh = polls
      .flatMap((p) => p.fresh)
      .sort((a, b) => (a.timestamp ?? 0) - (b.timestamp ?? 0));
    for (const event of fresh) {
      ctx.log(`${streamLabel(event.logStreamName ?? '')} | ${(event.message ?? '').trimEnd()}`);
    }
    printed += fresh.length;
    if (!options.follow || aborted(ctx)) return printed;
    await ctx.clock.sleep(options.intervalMs ?? 2_000, ctx.signal);
    if (aborted(ctx)) return printed;
  }
}

/** A function, so the check after an await is not narrowed away by the one before it. */
function aborted(ctx: Pick<AwsContext, 'signal'>): boolean {
  return ctx.signal?.aborted === true;
}

/** The last `count` lines a container of a (stopped) task wrote; none when it wrote nothing. */
export async function lastLines(
  ctx: Pick<AwsContext, 'clients'>,
  target: LogTarget,
  taskId: string,
  count: number,
): Promise<string[]> {
  const stream = streamName(target, taskId);
  return awsCall('logs:GetLogEvents', `${target.group}/${stream}`, async () => {
    try {
      const out = await ctx.clients.logs.send(
        new GetLogEventsCommand({
          logGroupName: target.group,
          logStreamName: stream,
          startFromHead: false,
          limit: count,
        }),
      );
      return (out.events ?? []).map((e) => (e.message ?? '').trimEnd());
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return [];
      throw error;
    }
  });
}

export interface LogsOptions extends AwsContext {
  /** ECS service names whose containers' output to show. */
  readonly services: readonly string[];
  readonly since: number;
  readonly follow: boolean;
  readonly filter?: string;
}

/** `ENV:logs`: where each service's running task definition sends its output, followed. */
export async function logs(options: LogsOptions): Promise<Result<number>> {
  return runCommand(async () => {
    const ctx = options;
    const cluster = ctx.env.ecs.cluster;
    const out = await awsCall('ecs:DescribeServices', cluster, () =>
      ctx.clients.ecs.send(
        new DescribeServicesCommand({ cluster, services: [...options.services] }),
      ),
    );
    const missing = options.services.filter(
      (name) => !out.services?.some((s) => s.serviceName === name && s.status === 'ACTIVE'),
    );
    if (missing.length > 0) {
      throw new AwsFailure({
        reason: 'services-missing',
        environment: ctx.env.name,
        cluster,
        services: missing,
      });
    }
    const queries: LogQuery[] = [];
    for (const service of out.services ?? []) {
      const arn = service.taskDefinition ?? '';
      const described = await awsCall('ecs:DescribeTaskDefinition', arn, () =>
        ctx.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn })),
      );
      for (const target of logTargets(described.taskDefinition ?? {})) {
        queries.push({
          group: target.group,
          ...(target.prefix === undefined
            ? {}
            : { streamPrefix: `${target.prefix}/${target.container}/` }),
          ...(options.filter === undefined ? {} : { filter: options.filter }),
        });
      }
    }
    return followLogs(ctx, { queries, since: options.since, follow: options.follow });
  });
}

/**
 * The last lines each stopped task wrote, for a failed deploy's report (`container: line` when
 * the task has several containers). Best effort: a task whose logs cannot be read has none.
 */
export async function stoppedTaskLines(
  ctx: Pick<AwsContext, 'clients'>,
  taskDefinition: string,
  taskIds: readonly string[],
  count = 5,
): Promise<Map<string, string[]>> {
  const tails = new Map<string, string[]>();
  try {
    const described = await awsCall('ecs:DescribeTaskDefinition', taskDefinition, () =>
      ctx.clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition })),
    );
    const targets = logTargets(described.taskDefinition ?? {});
    for (const taskId of taskIds) {
      const lines: string[] = [];
      for (const target of targets) {
        const tail = await lastLines(ctx, target, taskId, count);
        lines.push(
          ...tail.map((line) => (targets.length > 1 ? `${target.container}: ${line}` : line)),
        );
      }
      tails.set(taskId, lines);
    }
  } catch (error) {
    if (!(error instanceof AwsFailure)) throw error;
  }
  return tails;
}
