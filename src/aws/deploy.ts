/**
 * `ENV:deploy`: plan, then apply.
 *
 *   services exist? another deploy running? ─ no ─> refuse (names the service, the next step)
 *   task definitions: reuse the matching revision, register only what differs
 *   plan: which services change ─ none ─> "nothing to deploy" (no migration, no UpdateService)
 *   migrate (one-off task with deploy.migrate.service's new revision) ─ exit ≠ 0 ─> stop, untouched
 *   update services stage by stage, watch each rollout ─ failure ─> explain, restore, fail
 *   smoke check ─ not 200 ─> restore, fail
 */
import { requireAccount } from './account.js';
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { serviceSettings, type EcsEnvironment, type ServiceKey } from '../environment.js';
import type { AwsContext } from './clients.js';
import { AwsFailure, runCommand, type Result } from './errors.js';
import { markCompleted } from './completed-mark.js';
import { guardRefusal } from './deploy-guard.js';
import { withDeployLock } from './deploy-lock.js';
import { imagesOf, markDeployed } from './ecr-lifecycle.js';
import { runMigration } from './migration.js';
import { restoreServices } from './restore.js';
import type { ServiceSnapshot } from './rollout.js';
import {
  deploymentConfiguration,
  requireServices,
  rollOutStages,
  updateService,
  type ServiceChange,
} from './services.js';
import { differingSettings } from './service-diff.js';
import type { settingsUpdate } from './service-settings.js';
import { smokeCheck } from './smoke-check.js';
import {
  describeTaskDefinition,
  resolveRevisions,
  type RenderedTaskDefinitions,
  type ResolvedRevision,
} from './task-definitions.js';

export interface DeployOptions extends AwsContext {
  /** Parsed build/<env>/ecs/*.json (see readRenderedTaskDefinitions). */
  readonly taskDefinitions: RenderedTaskDefinitions;
  /** Deploy even while another deployment is in progress. */
  readonly force?: boolean;
}

export interface DeployedService {
  readonly key: ServiceKey;
  readonly service: string;
  readonly from: string;
  readonly to: string;
  readonly registered: boolean;
  readonly deploymentId: string | undefined;
}

export interface DeployReport {
  readonly outcome: 'unchanged' | 'deployed';
  readonly services: readonly DeployedService[];
  /** The migration task's id, when one ran. */
  readonly migrationTaskId: string | undefined;
  /** The ECS service whose new revision the migration runs with (deploy.migrate.service). */
  readonly migrationService: string;
  /** Services whose deployment configuration was brought in line without a new deployment. */
  readonly reconfigured: readonly string[];
}

export interface DeployPlan {
  /** Services that get a new task definition, grouped in the environment's stages. */
  readonly stages: readonly (readonly ServiceChange[])[];
  /** Whether the migration runs (deploy.migrate.service gets a new task definition). */
  readonly migrate: boolean;
  /** Services whose settings differ from the environment's, and not their task definition. */
  readonly reconfigure: readonly string[];
}

/** Pure: groups changes into the environment's stages (order and parallelism from deploy.order). */
export function stagesOf<T extends { readonly key: ServiceKey }>(
  env: EcsEnvironment,
  changes: readonly T[],
): T[][] {
  return env.deploy.order
    .map((stage) => changes.filter((change) => stage.includes(change.key)))
    .filter((stage) => stage.length > 0);
}

function sameConfiguration(env: EcsEnvironment, snapshot: ServiceSnapshot): boolean {
  const live = snapshot.deploymentConfiguration;
  const wanted = deploymentConfiguration({ env });
  return (
    live?.minimumHealthyPercent === wanted.minimumHealthyPercent &&
    live?.maximumPercent === wanted.maximumPercent &&
    live?.deploymentCircuitBreaker?.enable === wanted.deploymentCircuitBreaker?.enable &&
    live?.deploymentCircuitBreaker?.rollback === wanted.deploymentCircuitBreaker?.rollback
  );
}

/** Pure: what a deploy must do, given the services as they are and the revisions to run. */
export function planDeploy(
  env: EcsEnvironment,
  snapshots: ReadonlyMap<ServiceKey, ServiceSnapshot>,
  revisions: readonly ResolvedRevision[],
  /**
   * Each service's settings, as UpdateService takes them, for the services whose live settings
   * differ from the environment's (service-settings.ts); without it only the deployment
   * configuration is compared.
   */
  settings?: ReadonlyMap<ServiceKey, ReturnType<typeof settingsUpdate>>,
): DeployPlan {
  const running = (key: ServiceKey) => snapshots.get(key)?.taskDefinition;
  // A service whose settings differ rolls out too (ECS may start a deployment for them, e.g.
  // a network change), on its current revision when that does not change: one UpdateService.
  const changes: ServiceChange[] = revisions
    .filter((r) => running(r.key) !== r.arn || settings?.has(r.key) === true)
    .map((r) => ({
      key: r.key,
      service: serviceSettings(env, r.key).name,
      taskDefinition: running(r.key) !== r.arn ? r.arn : (running(r.key) ?? r.arn),
      previous: running(r.key),
      settings: settings?.get(r.key),
    }));
  const revised = new Set(changes.filter((c) => c.taskDefinition !== c.previous).map((c) => c.key));
  const changing = new Set(changes.map((c) => c.key));
  return {
    stages: stagesOf(env, changes),
    migrate: revised.has(env.deploy.migrate.service),
    reconfigure: revisions
      .filter((r) => {
        const snapshot = snapshots.get(r.key);
        if (changing.has(r.key) || snapshot === undefined || settings) return false;
        return !sameConfiguration(env, snapshot);
      })
      .map((r) => serviceSettings(env, r.key).name),
  };
}

/** Runs deploy.migrate.command in a one-off task of `arn` (the migrating service's new revision). */
export async function migrate(ctx: AwsContext, arn: string): Promise<string> {
  const definition: TaskDefinition | undefined = await describeTaskDefinition(ctx, arn);
  const launchType = serviceSettings(ctx.env, ctx.env.deploy.migrate.service).launchType;
  const outcome = await runMigration(ctx, definition ?? { taskDefinitionArn: arn }, { launchType });
  if ('interrupted' in outcome) {
    throw new AwsFailure({
      reason: 'interrupted',
      environment: ctx.env.name,
      waitingFor: `migration task ${outcome.interrupted} (asked ECS to stop it; no service was changed)`,
      deployments: [],
    });
  }
  return outcome.taskId;
}

export async function deploy(options: DeployOptions): Promise<Result<DeployReport>> {
  return runCommand(async () => {
    await requireAccount(options);
    // Missing cluster or services fail here, naming the fix, before any lock is written.
    await requireServices(options, options.env.deploy.order.flat());
    return withDeployLock(options, () => deployLocked(options));
  });
}

/** The deploy itself, run while this run holds the environment's deploy lock. */
async function deployLocked(options: DeployOptions): Promise<DeployReport> {
  const ctx = options;
  const { env } = ctx;
  const keys = env.deploy.order.flat();
  const migrationService = serviceSettings(env, env.deploy.migrate.service).name;
  // Read again under the lock: what another run did before we took it is what we build on.
  const snapshots = await requireServices(ctx, keys);
  if (options.force !== true) {
    for (const [key, snapshot] of snapshots) {
      const refusal = guardRefusal(env.name, serviceSettings(env, key).name, snapshot);
      if (refusal !== undefined) throw new AwsFailure(refusal);
    }
  }
  const running = new Map([...snapshots].map(([key, s]) => [key, s.taskDefinition]));
  const revisions = await resolveRevisions(ctx, options.taskDefinitions, running, keys);
  const settings = await differingSettings(ctx, options.taskDefinitions, keys);
  const plan = planDeploy(env, snapshots, revisions, settings);
  const registered = new Set(revisions.filter((r) => r.registered).map((r) => r.key));
  for (const service of plan.reconfigure) {
    ctx.log(
      `${service}: service settings differ from environments/${env.name}.ts; updating them (no new task definition)`,
    );
    await updateService(ctx, service, {});
  }
  if (plan.stages.length === 0) {
    ctx.log(
      `${env.name}: nothing to deploy: every service already runs its rendered task definition`,
    );
    return {
      outcome: 'unchanged',
      services: [],
      migrationTaskId: undefined,
      migrationService,
      reconfigured: plan.reconfigure,
    } satisfies DeployReport;
  }
  // Before anything runs them: the lifecycle policy must never expire these images.
  await markDeployed(ctx, imagesOf(options.taskDefinitions, plan.stages.flat()));
  const migrating = plan.stages.flat().find((c) => c.key === env.deploy.migrate.service);
  const migrationTaskId =
    plan.migrate && migrating ? await migrate(ctx, migrating.taskDefinition) : undefined;
  const seen = new Set([...snapshots.values()].flatMap((s) => s.events.map((e) => e.id)));
  const rolled = await rollOutStages(ctx, plan.stages, seen, {
    operation: 'deploy',
    force: options.force === true,
  });
  if (!rolled.ok) throw new AwsFailure(rolled.failure);
  const url = env.deploy.smokeCheckUrl;
  if (url !== undefined && url !== '') {
    const smoke = await smokeCheck(ctx, url);
    if (!smoke.ok) {
      ctx.log(`smoke check failed: returning every updated service to its previous revision`);
      const restored = await restoreServices(ctx, { started: rolled.started, seen });
      throw new AwsFailure({
        reason: 'smoke-check-failed',
        environment: env.name,
        url,
        detail: smoke.detail,
        restored,
      });
    }
  }
  // Marks what completed, so a later rollback returns only to revisions that worked.
  for (const s of rolled.started) await markCompleted(ctx, s.service, s.taskDefinition);
  ctx.log(`${env.name}: deployed`);
  return {
    outcome: 'deployed',
    services: rolled.started.map((s) => ({
      key: s.key,
      service: s.service,
      from: s.previous ?? '',
      to: s.taskDefinition,
      registered: registered.has(s.key),
      deploymentId: s.ours.deploymentId,
    })),
    migrationTaskId,
    migrationService,
    reconfigured: plan.reconfigure,
  } satisfies DeployReport;
}

/** One line per outcome, for the task's output. */
export function describeDeploy(report: DeployReport): string {
  if (report.outcome === 'unchanged') {
    return `Nothing to deploy: no new revision registered, no migration run, no service updated.${report.reconfigured.length > 0 ? ` Deployment configuration updated on ${report.reconfigured.join(', ')}.` : ''}`;
  }
  return [
    'Deployed:',
    ...report.services.map(
      (s) =>
        `  ${s.service}: ${s.from.split('/').at(-1) ?? ''} -> ${s.to.split('/').at(-1) ?? ''}${s.registered ? ' (new revision)' : ''}, deployment ${s.deploymentId ?? '-'}`,
    ),
    report.migrationTaskId === undefined
      ? `  no migration needed (${report.migrationService} unchanged)`
      : `  migration task ${report.migrationTaskId} exited 0`,
  ].join('\n');
}
