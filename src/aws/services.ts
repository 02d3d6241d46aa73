/**
 * ECS services, applied: find them, update them stage by stage, and when a rollout fails, explain
 * why and put every service this run touched back on the revision it ran before.
 *
 *   stage 1 (deploy.order[0]) ─ UpdateService ─ watch ─┬─ all succeeded ─> next stage
 *                                                      └─ any failed ─> diagnose ─> restore every
 *   stage 2 (deploy.order[1]) ─ ...                           service updated so far ─> failure
 */
import {
  DescribeClustersCommand,
  DescribeTasksCommand,
  UpdateServiceCommand,
  type DeploymentConfiguration,
} from '@aws-sdk/client-ecs';
import { serviceSettings, type ServiceKey } from '../environment.js';
import type { AwsContext } from './clients.js';
import { AwsFailure, awsCall, type AwsFailureData } from './errors.js';
import { stoppedTaskLines } from './logs.js';
import { restoreServices } from './restore.js';
import { clause } from './sentence.js';
import { guardRefusal } from './deploy-guard.js';
import type { Operation, RolloutFailureDetail, StoppedTask } from './rollout-failures.js';
import type { settingsUpdate } from './service-settings.js';
import {
  breakerNeverTripped,
  describeServices,
  toSnapshot,
  watchRollouts,
  type Ours,
  type ServiceSnapshot,
  type Verdict,
} from './rollout.js';

/** The environment's rolling-update settings, as UpdateService and CreateService take them. */
export function deploymentConfiguration(ctx: Pick<AwsContext, 'env'>): DeploymentConfiguration {
  const { deploy } = ctx.env;
  return {
    minimumHealthyPercent: deploy.minimumHealthyPercent,
    maximumPercent: deploy.maximumPercent,
    deploymentCircuitBreaker: {
      enable: deploy.circuitBreaker.enable,
      rollback: deploy.circuitBreaker.rollback,
    },
    // CloudWatch alarms as a rollback trigger, when the environment names them.
    ...(deploy.alarms === undefined
      ? {}
      : {
          alarms: {
            alarmNames: [...deploy.alarms.names],
            enable: true,
            rollback: deploy.alarms.rollback,
          },
        }),
  };
}

export function rolloutTimeoutMs(ctx: Pick<AwsContext, 'env'>): number {
  return (ctx.env.deploy.rolloutTimeoutSeconds ?? 900) * 1000;
}

/**
 * Whether the cluster exists (and is not INACTIVE). A cluster of that name in another account
 * than the environment's means the credentials point elsewhere: fail before touching anything.
 */
export async function clusterExists(ctx: AwsContext): Promise<boolean> {
  const cluster = ctx.env.ecs.cluster;
  const out = await awsCall('ecs:DescribeClusters', cluster, () =>
    ctx.clients.ecs.send(new DescribeClustersCommand({ clusters: [cluster] })),
  );
  const found = (out.clusters ?? []).find(
    (c) => c.clusterName === cluster && c.status !== 'INACTIVE',
  );
  const account = found?.clusterArn?.split(':')[4];
  if (account !== undefined && account !== ctx.env.aws.accountId) {
    throw new AwsFailure({
      reason: 'wrong-account',
      environment: ctx.env.name,
      expected: ctx.env.aws.accountId,
      found: account,
    });
  }
  return found !== undefined;
}

/**
 * The environment's services as they are now, by key in the order of `keys`; fails naming the
 * cluster or the services missing.
 */
export async function requireServices(
  ctx: AwsContext,
  keys: readonly ServiceKey[],
): Promise<Map<ServiceKey, ServiceSnapshot>> {
  const { env } = ctx;
  if (!(await clusterExists(ctx))) {
    throw new AwsFailure({
      reason: 'cluster-missing',
      environment: env.name,
      cluster: env.ecs.cluster,
    });
  }
  const names = keys.map((key) => serviceSettings(env, key).name);
  const found = await describeServices(ctx, names, { includeInactive: true });
  // A deleted service stays visible as DRAINING, then INACTIVE; UpdateService on it fails with
  // ServiceNotActiveException (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html),
  // so refuse now, before anything is registered or migrated.
  const notActive = names.flatMap((name) => {
    const status = found.get(name)?.status;
    return status === undefined || status === 'ACTIVE' ? [] : [{ name, status }];
  });
  if (notActive.length > 0) {
    throw new AwsFailure({
      reason: 'services-not-active',
      environment: env.name,
      cluster: env.ecs.cluster,
      services: notActive,
    });
  }
  const missing = names.filter((name) => !found.has(name));
  if (missing.length > 0) {
    throw new AwsFailure({
      reason: 'services-missing',
      environment: env.name,
      cluster: env.ecs.cluster,
      services: missing,
    });
  }
  const snapshots = new Map<ServiceKey, ServiceSnapshot>();
  for (const key of keys) {
    const snapshot = found.get(serviceSettings(env, key).name);
    if (snapshot !== undefined) snapshots.set(key, snapshot);
  }
  return snapshots;
}

/** UpdateService to `taskDefinition` (and/or `desiredCount`); returns the deployment it made. */
export async function updateService(
  ctx: AwsContext,
  service: string,
  change: {
    readonly taskDefinition?: string;
    readonly desiredCount?: number;
    /** Every service setting, when any differs from the environment's (service-settings.ts). */
    readonly settings?: ReturnType<typeof settingsUpdate> | undefined;
  },
): Promise<{ ours: Ours | undefined; snapshot: ServiceSnapshot }> {
  const cluster = ctx.env.ecs.cluster;
  const { settings, ...rest } = change;
  const out = await awsCall('ecs:UpdateService', `${cluster}/${service}`, () =>
    ctx.clients.ecs.send(
      new UpdateServiceCommand({
        cluster,
        service,
        ...rest,
        deploymentConfiguration: deploymentConfiguration(ctx),
        ...settings,
      }),
    ),
  );
  const snapshot = toSnapshot(out.service ?? {});
  const primary = snapshot.deployments.find((d) => d.status === 'PRIMARY');
  const ours =
    primary === undefined
      ? undefined
      : {
          deploymentId: primary.id,
          taskDefinition: primary.taskDefinition,
          createdAt: primary.createdAt,
        };
  return { ours, snapshot };
}

const TASK_ID = /\(task ([0-9a-f]{32})\)/g;

/** Why a rollout failed, from the service's events and the tasks they name that stopped. */
async function diagnose(
  ctx: AwsContext,
  snapshot: ServiceSnapshot | undefined,
  ours: Ours,
): Promise<{ events: string[]; stoppedTasks: StoppedTask[]; stoppedCount: number }> {
  if (snapshot === undefined) return { events: [], stoppedTasks: [], stoppedCount: 0 };
  // Our deployment's start as UpdateService's response gave it: once ECS's rollback completes,
  // ours is gone from the deployment list, and DescribeServices still lists up to 100 events of
  // the service's earlier history, which say nothing about this deploy.
  const since =
    ours.createdAt ?? snapshot.deployments.find((d) => d.id === ours.deploymentId)?.createdAt ?? 0;
  const recent = snapshot.events.filter((e) => e.createdAt >= since);
  const events = recent
    .slice(0, 8)
    .reverse()
    .map((e) => e.message);
  const ids = [
    ...new Set(recent.flatMap((e) => [...e.message.matchAll(TASK_ID)].map((m) => m[1] ?? ''))),
  ];
  if (ids.length === 0) return { events, stoppedTasks: [], stoppedCount: 0 };
  const cluster = ctx.env.ecs.cluster;
  const out = await awsCall('ecs:DescribeTasks', `${cluster}/${snapshot.name}`, () =>
    ctx.clients.ecs.send(new DescribeTasksCommand({ cluster, tasks: ids.slice(0, 100) })),
  );
  const stopped = (out.tasks ?? []).filter(
    (t) => t.lastStatus === 'STOPPED' && t.taskDefinitionArn === ours.taskDefinition,
  );
  const stoppedTasks = stopped.slice(0, 5).map((t) => ({
    taskId: t.taskArn?.split('/').at(-1) ?? '',
    stoppedReason: t.stoppedReason ?? '(no reason given)',
    containers: (t.containers ?? []).map((c) => ({
      name: c.name ?? '',
      exitCode: c.exitCode,
      ...(c.reason === undefined ? {} : { reason: c.reason }),
    })),
  }));
  // What the failed containers printed last: usually the reason in the app's own words.
  const tails = await stoppedTaskLines(
    ctx,
    ours.taskDefinition,
    stoppedTasks.map((t) => t.taskId),
  );
  return {
    events,
    stoppedTasks: stoppedTasks.map((t) => ({ ...t, lastLines: tails.get(t.taskId) ?? [] })),
    stoppedCount: stopped.length,
  };
}

export interface ServiceChange {
  readonly key: ServiceKey;
  readonly service: string;
  readonly taskDefinition: string;
  /** What it ran before this run; undefined for a service this run created. */
  readonly previous: string | undefined;
  /** The service's settings, sent with the new task definition when they differ. */
  readonly settings?: ReturnType<typeof settingsUpdate> | undefined;
}

export interface StartedRollout extends ServiceChange {
  readonly ours: Ours;
}

/** How a staged rollout ended. */
export type StagedOutcome =
  | { readonly ok: true; readonly started: readonly StartedRollout[] }
  | {
      readonly ok: false;
      readonly failure: AwsFailureData;
      readonly started: readonly StartedRollout[];
    };

/**
 * The in-progress guard, again, on a fresh read right before UpdateService: minutes may have
 * passed since the deploy first looked (registration, the migration, earlier stages), and
 * another deploy may have started meanwhile. A service that moved off the revision we planned
 * from, or has a deployment in progress, is someone else's now.
 */
async function recheck(
  ctx: AwsContext,
  stage: readonly ServiceChange[],
): Promise<{ service: string; failure: AwsFailureData } | undefined> {
  const now = await describeServices(
    ctx,
    stage.map((c) => c.service),
  );
  for (const change of stage) {
    const snapshot = now.get(change.service);
    if (snapshot === undefined) continue;
    const refusal = guardRefusal(ctx.env.name, change.service, snapshot);
    if (refusal !== undefined) return { service: change.service, failure: refusal };
    if (snapshot.taskDefinition !== change.previous) {
      const primary = snapshot.deployments.find((d) => d.status === 'PRIMARY');
      return {
        service: change.service,
        failure: {
          reason: 'deploy-in-progress',
          environment: ctx.env.name,
          service: change.service,
          deploymentId: primary?.id ?? '-',
          taskDefinition: primary?.taskDefinition ?? snapshot.taskDefinition,
        },
      };
    }
  }
  return undefined;
}

/**
 * Updates services stage by stage (in parallel within a stage), waits for each stage, and on a
 * failure diagnoses it and restores what this run updated (restore.ts), reporting every service.
 * Interrupting stops the waiting.
 */
export async function rollOutStages(
  ctx: AwsContext,
  stages: readonly (readonly ServiceChange[])[],
  seen: Set<string>,
  options: { readonly operation: Operation; readonly force?: boolean },
): Promise<StagedOutcome> {
  const started: StartedRollout[] = [];
  const { operation } = options;
  const pendingAfter = (index: number, moved: readonly StartedRollout[]) =>
    stages
      .slice(index)
      .flat()
      .filter((c) => !moved.some((s) => s.service === c.service));
  // Whatever refused a stage, what this run moved goes back and every service is reported.
  const refuse = async (
    index: number,
    service: string,
    refused: AwsFailureData,
  ): Promise<StagedOutcome> => {
    const restored = await restoreServices(ctx, {
      started,
      notStarted: pendingAfter(index, started),
      seen,
    });
    return {
      ok: false,
      failure: {
        reason: 'update-refused',
        environment: ctx.env.name,
        operation,
        service,
        refused,
        restored,
      },
      started,
    };
  };
  for (const [index, stage] of stages.entries()) {
    if (stage.length === 0) continue;
    if (options.force !== true) {
      const conflict = await recheck(ctx, stage);
      if (conflict !== undefined) {
        ctx.log(`${conflict.service}: changed since this run looked; not updating it`);
        return refuse(index, conflict.service, conflict.failure);
      }
    }
    const stageStarted: StartedRollout[] = [];
    const updates = await Promise.allSettled(
      stage.map(async (change) => {
        ctx.log(`${change.service}: updating to ${change.taskDefinition}`);
        const { ours, snapshot } = await updateService(ctx, change.service, {
          taskDefinition: change.taskDefinition,
          settings: change.settings,
        });
        for (const event of snapshot.events) seen.add(event.id);
        if (ours === undefined)
          throw new Error(`UpdateService of ${change.service} returned no PRIMARY deployment`);
        ctx.log(`${change.service}: deployment ${ours.deploymentId} started`);
        stageStarted.push({ ...change, ours });
      }),
    );
    started.push(...stageStarted);
    const refusedAt = updates.findIndex((u) => u.status === 'rejected');
    const refused = updates[refusedAt];
    if (refused?.status === 'rejected') {
      if (!(refused.reason instanceof AwsFailure)) throw refused.reason;
      // An update was refused (access denied, throttled past retries...): what did change goes
      // back, and the report says where every service ended up, restored or not.
      const service = stage[refusedAt]?.service ?? '';
      ctx.log(`${service}: UpdateService refused; returning what this run moved`);
      return refuse(index, service, refused.reason.failure);
    }
    const outcome = await watchStarted(ctx, stageStarted, seen);
    if (outcome.interrupted) return { ok: false, failure: interrupted(ctx, started), started };
    const failed = stageStarted.filter((s) => outcome.verdicts.get(s.service)?.state === 'failed');
    if (failed.length > 0) {
      const failures = await Promise.all(
        failed.map((s) =>
          failureDetail(ctx, s, outcome.verdicts.get(s.service), outcome.snapshots.get(s.service)),
        ),
      );
      const restored = await restoreServices(ctx, {
        started,
        notStarted: pendingAfter(index + 1, started),
        verdicts: outcome.verdicts,
        seen,
      });
      return {
        ok: false,
        failure: {
          reason: 'rollout-failed',
          environment: ctx.env.name,
          operation,
          failures,
          restored,
        },
        started,
      };
    }
  }
  return { ok: true, started };
}

async function watchStarted(
  ctx: AwsContext,
  started: readonly StartedRollout[],
  seen: Set<string>,
) {
  return watchRollouts(
    ctx,
    started.map((s) => ({ service: s.service, ours: s.ours })),
    { timeoutMs: rolloutTimeoutMs(ctx), seen },
  );
}

/** A failed rollout's report: the verdict, the last events, the stopped tasks' reasons. */
export async function failureDetail(
  ctx: AwsContext,
  started: { readonly service: string; readonly ours: Ours },
  verdict: Verdict | undefined,
  snapshot: ServiceSnapshot | undefined,
): Promise<RolloutFailureDetail> {
  const failed = verdict?.state === 'failed' ? verdict : undefined;
  const { events, stoppedTasks, stoppedCount } = await diagnose(ctx, snapshot, started.ours);
  const cause = failed?.cause ?? 'timeout';
  // A timeout with tasks failing all along: say why ECS's own breaker did not end it first.
  const quietBreaker =
    cause === 'timeout' ? breakerNeverTripped(snapshot, started.ours, stoppedCount) : undefined;
  const reason = failed?.reason ?? 'unknown';
  return {
    service: started.service,
    deploymentId: started.ours.deploymentId,
    taskDefinition: started.ours.taskDefinition,
    cause,
    reason: quietBreaker === undefined ? reason : `${clause(reason)}; ${quietBreaker}`,
    events,
    stoppedTasks,
  };
}

export function interrupted(ctx: AwsContext, started: readonly StartedRollout[]): AwsFailureData {
  return {
    reason: 'interrupted',
    environment: ctx.env.name,
    waitingFor: 'the rollout',
    deployments: started.map((s) => ({ service: s.service, deploymentId: s.ours.deploymentId })),
  };
}
