/**
 * Watching a rolling deployment: a pure verdict over DescribeServices snapshots, and the loop that
 * polls until every watched service has one.
 *
 *   UpdateService ──> ours = the new PRIMARY deployment (id, task definition, createdAt)
 *        │
 *        v        poll (backoff), log each changed deployment line and each new event
 *   in-progress ──────────────────────────────────────────────┐
 *        ├─ ours not visible yet, within the grace period ────> in-progress (reads lag writes)
 *        ├─ ours PRIMARY, COMPLETED, running = desired, alone ─> succeeded
 *        ├─ ours rolloutState FAILED ─────────────────────────> failed (circuit-breaker)
 *        ├─ a deployment newer than ours is PRIMARY ──────────> failed (rolled-back by ECS's
 *        │                                                       circuit breaker | superseded)
 *        ├─ ours still not visible after the grace period ────> failed (not-visible)
 *        ├─ the service's task definition is not ours ───────> failed (foreign-task-definition)
 *        └─ deadline passed ─────────────────────────────────> failed (timeout)
 *
 * A circuit-breaker rollback is a failure, whether or not it has finished: "the service is
 * healthy again" is not "the deploy worked".
 *
 * ECS's API is eventually consistent (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html,
 * "Amazon ECS API follows an eventual consistency model"): right after UpdateService a
 * DescribeServices may still show the old PRIMARY and no trace of ours. That is not a rollback;
 * only a PRIMARY created after ours (by `createdAt`) means ours was replaced. A transient error
 * while polling (throttling, a 5xx, a dropped connection) is retried with backoff until the
 * rollout's own deadline, never taken as the rollout's verdict.
 */
import { DescribeServicesCommand, type Service } from '@aws-sdk/client-ecs';
import { backoffDelay } from './backoff.js';
import type { AwsContext } from './clients.js';
import { AwsFailure, awsCall, describeAwsFailure, type AwsFailureData } from './errors.js';

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

/** The deployment this run made: its id, the task definition it rolls out, when ECS made it. */
export interface Ours {
  readonly deploymentId: string;
  readonly taskDefinition: string;
  /** ms since the epoch, from the UpdateService response; undefined when ECS did not say. */
  readonly createdAt?: number | undefined;
}

export type RolloutCause =
  | 'circuit-breaker'
  | 'rolled-back'
  | 'superseded'
  | 'not-visible'
  | 'foreign-task-definition'
  | 'service-gone'
  | 'timeout'
  | 'smoke-check';

/**
 * How long "our deployment is not in DescribeServices yet" counts as still in progress. ECS gives
 * no bound for its eventual consistency; reads usually catch up within seconds.
 */
export const VISIBILITY_GRACE_MS = 60_000;

export type Verdict =
  | { readonly state: 'in-progress' }
  | { readonly state: 'succeeded' }
  | {
      readonly state: 'failed';
      readonly cause: RolloutCause;
      readonly reason: string;
      /** ECS has started (or finished) returning the service to an earlier task definition. */
      readonly rolledBack: 'no' | 'in-progress' | 'completed';
      /** The task definition of the deployment that replaced ours (rolled-back, superseded). */
      readonly replacedBy?: string;
    };

function counts(d: DeploymentSnapshot): string {
  return `desired ${d.desiredCount}, running ${d.runningCount}, pending ${d.pendingCount}, failed ${d.failedTasks}`;
}

/** Pure: whether `d` was created after `ours` (so it replaced ours rather than preceded it). */
export function newerThan(d: DeploymentSnapshot, ours: Ours): boolean {
  if (d.id === ours.deploymentId) return false;
  if (d.createdAt === undefined || ours.createdAt === undefined) return true;
  return d.createdAt > ours.createdAt;
}

/**
 * Pure: the PRIMARY deployment that replaced ours, if one did. With ours in view and not PRIMARY,
 * the PRIMARY is newer (ECS makes the newest deployment PRIMARY). With ours not in view (a read
 * that predates our write), only a PRIMARY created after ours counts.
 */
export function replacedBy(snapshot: ServiceSnapshot, ours: Ours): DeploymentSnapshot | undefined {
  const primary = snapshot.deployments.find((d) => d.status === 'PRIMARY');
  if (primary === undefined || primary.id === ours.deploymentId) return undefined;
  const mine = snapshot.deployments.some((d) => d.id === ours.deploymentId);
  return mine || newerThan(primary, ours) ? primary : undefined;
}

/** ECS names its circuit breaker in the rollback deployment's reason ("rolling back to ..."). */
const CIRCUIT_BREAKER = /circuit breaker/i;

/** Pure: where the rollout of `ours` stands in `snapshot`, `elapsedMs` after it started. */
export function rolloutVerdict(
  snapshot: ServiceSnapshot | undefined,
  ours: Ours,
  time: {
    readonly elapsedMs: number;
    readonly timeoutMs: number;
    /** Default VISIBILITY_GRACE_MS. */
    readonly graceMs?: number;
  },
): Verdict {
  const withinGrace =
    time.elapsedMs < Math.min(time.graceMs ?? VISIBILITY_GRACE_MS, time.timeoutMs);
  // A service just created may not be listed yet: DescribeServices answers MISSING meanwhile.
  if (snapshot === undefined && withinGrace) return { state: 'in-progress' };
  if (snapshot === undefined || snapshot.status !== 'ACTIVE') {
    return {
      state: 'failed',
      cause: 'service-gone',
      reason: `the service is ${snapshot?.status ?? 'missing'}`,
      rolledBack: 'no',
    };
  }
  const mine = snapshot.deployments.find((d) => d.id === ours.deploymentId);
  const replaced = replacedBy(snapshot, ours);
  const returning = replaced !== undefined && replaced.taskDefinition !== ours.taskDefinition;
  const rolledBack: 'no' | 'in-progress' | 'completed' = !returning
    ? 'no'
    : replaced.rolloutState === 'COMPLETED' && snapshot.deployments.length === 1
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
  if (replaced !== undefined) {
    // Only ECS's own rollback is a rollback (its reason, or while it lasted its events, say so);
    // anything else newer is someone else's deployment. DescribeServices shows "a maximum of 100
    // of the latest events" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html),
    // older deploys' included: a rollback that undid an earlier deploy says nothing about ours.
    const since = ours.createdAt;
    const byEcs =
      CIRCUIT_BREAKER.test(replaced.rolloutStateReason ?? '') ||
      snapshot.events.some(
        (e) =>
          (since === undefined || e.createdAt >= since) &&
          (e.message.includes(`(deployment ${ours.deploymentId}) deployment failed`) ||
            /rolling back to deployment/.test(e.message)),
      );
    return returning && byEcs
      ? {
          state: 'failed',
          cause: 'rolled-back',
          reason: `ECS replaced deployment ${ours.deploymentId} with one of ${replaced.taskDefinition} (${replaced.rolloutStateReason ?? ''})`,
          rolledBack,
          replacedBy: replaced.taskDefinition,
        }
      : {
          state: 'failed',
          cause: 'superseded',
          reason: `deployment ${ours.deploymentId} was replaced by ${replaced.id} of ${replaced.taskDefinition} (someone else updated the service)`,
          rolledBack: 'no',
          replacedBy: replaced.taskDefinition,
        };
  }
  if (mine === undefined || mine.status !== 'PRIMARY') {
    // Reads lag writes: the old PRIMARY, without ours, is what a stale read shows.
    if (withinGrace) return { state: 'in-progress' };
    return {
      state: 'failed',
      cause: 'not-visible',
      reason: `deployment ${ours.deploymentId} is not the PRIMARY deployment ${Math.round((time.graceMs ?? VISIBILITY_GRACE_MS) / 1000)} s after it started, and no newer one is`,
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

/**
 * Pure: why ECS's circuit breaker let a rollout run into our timeout, when its reset is the
 * answer. With `resetOnHealthyTask` (on unless the service turns it off), every new task that
 * turns healthy resets the breaker's failure count to 0
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentCircuitBreaker.html),
 * and once tasks pass their health checks "the failure criteria is skipped"
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html):
 * so a revision some of whose tasks serve while the others keep failing is never marked FAILED,
 * and ECS replaces the failing tasks until someone ends the deployment. `stoppedTasks` is how
 * many tasks of ours stopped (DescribeTasks); `failedTasks` alone would undercount, as it too
 * starts over at each healthy task.
 */
export function breakerNeverTripped(
  snapshot: ServiceSnapshot | undefined,
  ours: Ours,
  stoppedTasks: number,
): string | undefined {
  const breaker = snapshot?.deploymentConfiguration?.deploymentCircuitBreaker;
  const mine = snapshot?.deployments.find((d) => d.id === ours.deploymentId);
  if (
    breaker?.enable !== true ||
    breaker.resetOnHealthyTask === false ||
    mine?.rolloutState !== 'IN_PROGRESS' ||
    mine.runningCount === 0 ||
    stoppedTasks === 0
  ) {
    return undefined;
  }
  return `the circuit breaker never tripped: ${stoppedTasks} new tasks stopped, but each new task that turned healthy reset its failure count (resetOnHealthyTask), so ECS kept replacing the failing ones with ${mine.runningCount} running and only this timeout ended the rollout`;
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
 * Pure: whether a failed call is worth repeating: throttling, a dropped connection or a 5xx says
 * nothing about the rollout. Access denied, bad credentials or a missing cluster do not go away.
 */
export function isTransient(failure: AwsFailureData): boolean {
  if (failure.reason === 'throttled' || failure.reason === 'unreachable') return true;
  return (
    failure.reason === 'aws-error' &&
    /^(ServerException|InternalFailure|InternalError|ServiceUnavailable(Exception)?|RequestTimeout(Exception)?|TimeoutError)$/.test(
      failure.code,
    )
  );
}

/**
 * Polls until every target has a final verdict (a failed one does not stop the others: ECS
 * carries on with them either way), logging progress. Ctrl-C stops the polling, not ECS. A
 * transient error from DescribeServices (after the SDK's own retries) is logged and polled
 * again with backoff, until the rollout's deadline: a throttle in minute 12 of a 15-minute
 * rollout must not end the deploy while ECS keeps rolling it forward.
 */
export async function watchRollouts(
  ctx: AwsContext,
  targets: readonly WatchTarget[],
  options: {
    readonly timeoutMs: number;
    readonly seen: Set<string>;
    /** How long an unseen deployment counts as in progress; default VISIBILITY_GRACE_MS. */
    readonly graceMs?: number;
  },
): Promise<WatchOutcome> {
  const started = ctx.clock.now();
  const verdicts = new Map<string, Exclude<Verdict, { state: 'in-progress' }>>();
  const last = new Map<string, ServiceSnapshot>();
  let attempt = 0;
  for (;;) {
    if (ctx.signal?.aborted === true) return { interrupted: true };
    const pending = targets.filter((t) => !verdicts.has(t.service));
    const polled = await pollServices(
      ctx,
      pending.map((t) => t.service),
    );
    let changed = false;
    if (!polled.ok) {
      const elapsedMs = ctx.clock.now() - started;
      if (elapsedMs >= options.timeoutMs) {
        for (const target of pending) {
          verdicts.set(target.service, {
            state: 'failed',
            cause: 'timeout',
            reason: `not confirmed after ${Math.round(options.timeoutMs / 1000)} s: DescribeServices kept failing (${describeAwsFailure(polled.failure)})`,
            rolledBack: 'no',
          });
        }
        return { interrupted: false, verdicts, snapshots: last };
      }
      ctx.log(
        `${pending.map((t) => t.service).join(', ')}: could not read the rollout (${polled.failure.reason}${polled.failure.reason === 'aws-error' ? ` ${polled.failure.code}` : ''}); polling again, the rollout goes on in ECS`,
      );
    } else {
      for (const target of pending) {
        const snapshot = polled.snapshots.get(target.service);
        if (snapshot !== undefined) {
          const lines = progressLines(last.get(target.service), snapshot, options.seen);
          for (const line of lines) ctx.log(line);
          changed ||= lines.length > 0;
          last.set(target.service, snapshot);
        }
        const verdict = rolloutVerdict(snapshot, target.ours, {
          elapsedMs: ctx.clock.now() - started,
          timeoutMs: options.timeoutMs,
          ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
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
      if (verdicts.size === targets.length)
        return { interrupted: false, verdicts, snapshots: last };
    }
    attempt = changed ? 0 : attempt + 1;
    await ctx.clock.sleep(backoffDelay(attempt), ctx.signal);
  }
}

/** One poll; a transient failure is data (the loop polls again), any other failure is thrown. */
async function pollServices(
  ctx: AwsContext,
  names: readonly string[],
): Promise<
  | { readonly ok: true; readonly snapshots: Map<string, ServiceSnapshot> }
  | { readonly ok: false; readonly failure: AwsFailureData }
> {
  try {
    return { ok: true, snapshots: await describeServices(ctx, names) };
  } catch (error) {
    if (error instanceof AwsFailure && isTransient(error.failure)) {
      return { ok: false, failure: error.failure };
    }
    throw error;
  }
}
