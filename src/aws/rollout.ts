/**
 * Watching a rolling deployment: a pure verdict over DescribeServices snapshots, and the loop that
 * polls until every watched service has one.
 *
 *   UpdateService ──> ours = the new PRIMARY deployment id
 *        │
 *        v        poll (backoff), log each changed deployment line and each new event
 *   in-progress ──────────────────────────────────────────────┐
 *        ├─ ours PRIMARY, COMPLETED, running = desired, alone ─> succeeded
 *        ├─ ours rolloutState FAILED ─────────────────────────> failed (circuit-breaker)
 *        ├─ ours gone, or no longer PRIMARY ──────────────────> failed (rolled-back | superseded)
 *        ├─ the service's task definition is not ours ───────> failed (foreign-task-definition)
 *        └─ deadline passed ─────────────────────────────────> failed (timeout)
 *
 * A circuit-breaker rollback is a failure, whether or not it has finished: "the service is
 * healthy again" is not "the deploy worked".
 */
import { DescribeServicesCommand, type Service } from '@aws-sdk/client-ecs';
import { backoffDelay } from './backoff.js';
import type { AwsContext } from './clients.js';
import { awsCall } from './errors.js';

export interface DeploymentSnapshot {
  readonly id: string;
  readonly status: string;
  readonly taskDefinition: string;
  readonly desiredCount: number;
  readonly pendingCount: number;
  readonly runningCount: number;
  readonly failedTasks: number;
  readonly rolloutState: string | undefined;
  readonly rolloutStateReason: string | undefined;
  readonly createdAt: number | undefined;
}

export interface ServiceEvent {
  readonly id: string;
  readonly createdAt: number;
  readonly message: string;
}

export interface ServiceSnapshot {
  readonly name: string;
  /** ACTIVE, DRAINING, INACTIVE, or MISSING when DescribeServices listed it as a failure. */
  readonly status: string;
  readonly taskDefinition: string;
  readonly desiredCount: number;
  readonly runningCount: number;
  readonly pendingCount: number;
  /** PRIMARY first, as ECS lists them. */
  readonly deployments: readonly DeploymentSnapshot[];
  /** Newest first, as ECS lists them. */
  readonly events: readonly ServiceEvent[];
  readonly deploymentConfiguration: Service['deploymentConfiguration'];
}

export function toSnapshot(service: Service): ServiceSnapshot {
  return {
    name: service.serviceName ?? '',
    status: service.status ?? 'UNKNOWN',
    taskDefinition: service.taskDefinition ?? '',
    desiredCount: service.desiredCount ?? 0,
    runningCount: service.runningCount ?? 0,
    pendingCount: service.pendingCount ?? 0,
    deployments: (service.deployments ?? []).map((d) => ({
      id: d.id ?? '',
      status: d.status ?? '',
      taskDefinition: d.taskDefinition ?? '',
      desiredCount: d.desiredCount ?? 0,
      pendingCount: d.pendingCount ?? 0,
      runningCount: d.runningCount ?? 0,
      failedTasks: d.failedTasks ?? 0,
      rolloutState: d.rolloutState,
      rolloutStateReason: d.rolloutStateReason,
      createdAt: d.createdAt?.getTime(),
    })),
    events: (service.events ?? []).map((e) => ({
      id: e.id ?? '',
      createdAt: e.createdAt?.getTime() ?? 0,
      message: e.message ?? '',
    })),
    deploymentConfiguration: service.deploymentConfiguration,
  };
}

/** The deployment this run made: its id and the task definition it rolls out. */
export interface Ours {
  readonly deploymentId: string;
  readonly taskDefinition: string;
}

export type RolloutCause =
  | 'circuit-breaker'
  | 'rolled-back'
  | 'superseded'
  | 'foreign-task-definition'
  | 'service-gone'
  | 'timeout'
  | 'smoke-check';

export type Verdict =
  | { readonly state: 'in-progress' }
  | { readonly state: 'succeeded' }
  | {
      readonly state: 'failed';
      readonly cause: RolloutCause;
      readonly reason: string;
      /** ECS has started (or finished) returning the service to an earlier task definition. */
      readonly rolledBack: 'no' | 'in-progress' | 'completed';
    };

function counts(d: DeploymentSnapshot): string {
  return `desired ${d.desiredCount}, running ${d.runningCount}, pending ${d.pendingCount}, failed ${d.failedTasks}`;
}

/** Pure: where the rollout of `ours` stands in `snapshot`, `elapsedMs` after it started. */
export function rolloutVerdict(
  snapshot: ServiceSnapshot | undefined,
  ours: Ours,
  time: { readonly elapsedMs: number; readonly timeoutMs: number },
): Verdict {
  if (snapshot === undefined || snapshot.status !== 'ACTIVE') {
    return {
      state: 'failed',
      cause: 'service-gone',
      reason: `the service is ${snapshot?.status ?? 'missing'}`,
      rolledBack: 'no',
    };
  }
  const mine = snapshot.deployments.find((d) => d.id === ours.deploymentId);
  const primary = snapshot.deployments.find((d) => d.status === 'PRIMARY');
  const returning = primary !== undefined && primary.taskDefinition !== ours.taskDefinition;
  const rolledBack: 'no' | 'in-progress' | 'completed' = !returning
    ? 'no'
    : primary.rolloutState === 'COMPLETED' && snapshot.deployments.length === 1
      ? 'completed'
      : 'in-progress';
  if (mine?.rolloutState === 'FAILED') {
    return {
      state: 'failed',
      cause: 'circuit-breaker',
      reason: mine.rolloutStateReason ?? 'the deployment failed',
      rolledBack,
    };
  }
  if (mine === undefined || mine.status !== 'PRIMARY') {
    return returning
      ? {
          state: 'failed',
          cause: 'rolled-back',
          reason: `ECS replaced deployment ${ours.deploymentId} with one of ${primary.taskDefinition}${primary.rolloutStateReason ? ` (${primary.rolloutStateReason})` : ''}`,
          rolledBack,
        }
      : {
          state: 'failed',
          cause: 'superseded',
          reason: `deployment ${ours.deploymentId} was replaced by ${primary?.id ?? 'another deployment'} (someone else updated the service)`,
          rolledBack: 'no',
        };
  }
  if (snapshot.taskDefinition !== ours.taskDefinition) {
    return {
      state: 'failed',
      cause: 'foreign-task-definition',
      reason: `the service runs ${snapshot.taskDefinition}, not ${ours.taskDefinition}`,
      rolledBack: 'no',
    };
  }
  const steady =
    snapshot.deployments.length === 1 &&
    mine.runningCount === mine.desiredCount &&
    snapshot.runningCount === snapshot.desiredCount;
  // Without the circuit breaker ECS may leave rolloutState unset; then steady alone decides.
  if (steady && (mine.rolloutState === 'COMPLETED' || mine.rolloutState === undefined)) {
    return { state: 'succeeded' };
  }
  if (time.elapsedMs >= time.timeoutMs) {
    return {
      state: 'failed',
      cause: 'timeout',
      reason: `not finished after ${Math.round(time.timeoutMs / 1000)} s (${counts(mine)}, ${snapshot.deployments.length} deployments)`,
      rolledBack: 'no',
    };
  }
  return { state: 'in-progress' };
}

function deploymentLine(service: string, d: DeploymentSnapshot): string {
  const revision = d.taskDefinition.split('/').at(-1) ?? d.taskDefinition;
  return `${service}: ${d.status} ${d.id} ${revision} ${d.rolloutState ?? '-'}: ${counts(d)}`;
}

/**
 * Pure: the progress lines a new snapshot adds: each deployment whose line changed since
 * `previous`, and each event not in `seen` (oldest first). Adds the new event ids to `seen`.
 */
export function progressLines(
  previous: ServiceSnapshot | undefined,
  next: ServiceSnapshot,
  seen: Set<string>,
): string[] {
  const before = new Set(previous?.deployments.map((d) => deploymentLine(next.name, d)) ?? []);
  const lines = next.deployments
    .map((d) => deploymentLine(next.name, d))
    .filter((line) => !before.has(line));
  for (const event of [...next.events].reverse()) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    lines.push(
      `${next.name}: event ${new Date(event.createdAt).toISOString().slice(11, 19)} ${event.message}`,
    );
  }
  return lines;
}

/**
 * DescribeServices for `names` (at most 10 per call); missing services are absent from the map,
 * and so are INACTIVE (deleted) ones unless `includeInactive`.
 */
export async function describeServices(
  ctx: AwsContext,
  names: readonly string[],
  options: { readonly includeInactive?: boolean } = {},
): Promise<Map<string, ServiceSnapshot>> {
  const cluster = ctx.env.ecs.cluster;
  const found = new Map<string, ServiceSnapshot>();
  for (let start = 0; start < names.length; start += 10) {
    const batch = names.slice(start, start + 10);
    const out = await awsCall('ecs:DescribeServices', `${cluster}/${batch.join(',')}`, () =>
      ctx.clients.ecs.send(new DescribeServicesCommand({ cluster, services: batch })),
    );
    for (const service of out.services ?? []) {
      const snapshot = toSnapshot(service);
      if (options.includeInactive === true || snapshot.status !== 'INACTIVE') {
        found.set(snapshot.name, snapshot);
      }
    }
  }
  return found;
}

export interface WatchTarget {
  readonly service: string;
  readonly ours: Ours;
}

export type WatchOutcome =
  | {
      readonly interrupted: false;
      readonly verdicts: ReadonlyMap<string, Exclude<Verdict, { state: 'in-progress' }>>;
      readonly snapshots: ReadonlyMap<string, ServiceSnapshot>;
    }
  | { readonly interrupted: true };

/**
 * Polls until every target has a final verdict (a failed one does not stop the others: ECS
 * carries on with them either way), logging progress. Ctrl-C stops the polling, not ECS.
 */
export async function watchRollouts(
  ctx: AwsContext,
  targets: readonly WatchTarget[],
  options: { readonly timeoutMs: number; readonly seen: Set<string> },
): Promise<WatchOutcome> {
  const started = ctx.clock.now();
  const verdicts = new Map<string, Exclude<Verdict, { state: 'in-progress' }>>();
  const last = new Map<string, ServiceSnapshot>();
  let attempt = 0;
  for (;;) {
    if (ctx.signal?.aborted === true) return { interrupted: true };
    const pending = targets.filter((t) => !verdicts.has(t.service));
    const snapshots = await describeServices(
      ctx,
      pending.map((t) => t.service),
    );
    let changed = false;
    for (const target of pending) {
      const snapshot = snapshots.get(target.service);
      if (snapshot !== undefined) {
        const lines = progressLines(last.get(target.service), snapshot, options.seen);
        for (const line of lines) ctx.log(line);
        changed ||= lines.length > 0;
        last.set(target.service, snapshot);
      }
      const verdict = rolloutVerdict(snapshot, target.ours, {
        elapsedMs: ctx.clock.now() - started,
        timeoutMs: options.timeoutMs,
      });
      if (verdict.state !== 'in-progress') {
        verdicts.set(target.service, verdict);
        ctx.log(
          verdict.state === 'succeeded'
            ? `${target.service}: deployment ${target.ours.deploymentId} completed`
            : `${target.service}: deployment ${target.ours.deploymentId} FAILED (${verdict.cause}): ${verdict.reason}`,
        );
      }
    }
    if (verdicts.size === targets.length) return { interrupted: false, verdicts, snapshots: last };
    attempt = changed ? 0 : attempt + 1;
    await ctx.clock.sleep(backoffDelay(attempt), ctx.signal);
  }
}
