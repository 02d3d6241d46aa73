/**
 * `ENV:create`: the cluster (if missing) and the environment's services, with their load
 * balancer target groups, network configuration and deployment settings, each started on the
 * rendered task definition. Services that exist are never touched: that is `ENV:deploy`'s job.
 *
 *   cluster missing ─> CreateCluster
 *   every service exists ─> refuse, naming them and ENV:deploy
 *   register what differs ─> migrate (when the migrating service is new) ─> CreateService stage by
 *   stage, watch
 */
import { ecsTags } from './service-settings.js';
import { requireAccount } from './account.js';
import { imagesOf, markDeployed } from './ecr-lifecycle.js';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { kebabCase, serviceSettings, type ServiceKey } from '../environment.js';
import type { AwsContext } from './clients.js';
import { markCompleted } from './completed-mark.js';
import { migrate, stagesOf, type DeployOptions } from './deploy.js';
import { AwsFailure, awsCall, runCommand, type Result } from './errors.js';
import { networkConfiguration } from './migration.js';
import { describeServices, toSnapshot, watchRollouts, type ServiceSnapshot } from './rollout.js';
import {
  clusterExists,
  deploymentConfiguration,
  failureDetail,
  rolloutTimeoutMs,
} from './services.js';
import { renderedFor, resolveRevisions } from './task-definitions.js';

export type CreateOptions = Omit<DeployOptions, 'force'>;

export interface CreateReport {
  readonly clusterCreated: boolean;
  readonly created: readonly { key: ServiceKey; service: string; taskDefinition: string }[];
  /** Services that already existed and were left alone. */
  readonly existing: readonly string[];
  readonly migrationTaskId: string | undefined;
}

/** Pure: the container the load balancer sends traffic to (the one publishing the port). */
export function loadBalancedContainer(
  definition: RegisterTaskDefinitionCommandInput,
  port: number,
): string {
  const containers = definition.containerDefinitions ?? [];
  const publishing = containers.find((c) =>
    (c.portMappings ?? []).some((m) => m.containerPort === port),
  );
  return publishing?.name ?? containers[0]?.name ?? '';
}

async function createService(
  ctx: AwsContext,
  key: ServiceKey,
  taskDefinition: string,
  options: CreateOptions,
) {
  const { env } = ctx;
  const service = serviceSettings(env, key);
  const cluster = env.ecs.cluster;
  const definition = renderedFor(options.taskDefinitions, key);
  // A queue worker or scheduler has no load balancer. The grace period is sent only with one:
  // ECS has refused it on a service without a load balancer (InvalidParameterException).
  const loadBalanced =
    service.loadBalancer === undefined || service.containerPort === undefined
      ? {}
      : {
          loadBalancers: [
            {
              targetGroupArn: service.loadBalancer.targetGroupArn,
              containerName: loadBalancedContainer(definition, service.containerPort),
              containerPort: service.containerPort,
            },
          ],
          ...(service.healthCheckGracePeriodSeconds === undefined
            ? {}
            : { healthCheckGracePeriodSeconds: service.healthCheckGracePeriodSeconds }),
        };
  const out = await awsCall('ecs:CreateService', `${cluster}/${service.name}`, () =>
    ctx.clients.ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: service.name,
        taskDefinition,
        desiredCount: service.desiredCount,
        launchType: service.launchType,
        networkConfiguration: networkConfiguration(ctx),
        ...loadBalanced,
        deploymentConfiguration: deploymentConfiguration(ctx),
        deploymentController: { type: 'ECS' },
        schedulingStrategy: 'REPLICA',
        propagateTags: 'SERVICE',
        enableECSManagedTags: true,
        tags: [
          { key: 'taskgraph:environment', value: env.name },
          ...(ecsTags(env.tags).tags ?? []),
        ],
      }),
    ),
  );
  const snapshot = toSnapshot(out.service ?? {});
  const primary = snapshot.deployments.find((d) => d.status === 'PRIMARY');
  ctx.log(`${service.name}: created with ${taskDefinition}, deployment ${primary?.id ?? '-'}`);
  return {
    snapshot,
    ours: { deploymentId: primary?.id ?? '', taskDefinition, createdAt: primary?.createdAt },
  };
}

export async function create(options: CreateOptions): Promise<Result<CreateReport>> {
  return runCommand(async () => {
    const ctx = options;
    const { env } = ctx;
    const cluster = env.ecs.cluster;
    await requireAccount(ctx);
    let clusterCreated = false;
    if (!(await clusterExists(ctx))) {
      await awsCall('ecs:CreateCluster', cluster, () =>
        ctx.clients.ecs.send(
          new CreateClusterCommand({
            clusterName: cluster,
            settings: [{ name: 'containerInsights', value: 'enabled' }],
            tags: [{ key: 'taskgraph:environment', value: env.name }],
          }),
        ),
      );
      ctx.log(`cluster ${cluster}: created`);
      clusterCreated = true;
    }
    const keys = env.deploy.order.flat();
    const found = clusterCreated
      ? new Map<string, ServiceSnapshot>()
      : await describeServices(
          ctx,
          keys.map((k) => serviceSettings(env, k).name),
        );
    const nameOf = (key: ServiceKey) => serviceSettings(env, key).name;
    const existing = keys.filter((key) => found.has(nameOf(key))).map(nameOf);
    const missing = keys.filter((key) => !found.has(nameOf(key)));
    if (missing.length === 0) {
      throw new AwsFailure({
        reason: 'services-exist',
        environment: env.name,
        cluster,
        services: existing,
      });
    }
    for (const name of existing)
      ctx.log(`${name}: exists, left untouched (use ${env.name}:deploy to change it)`);
    const revisions = await resolveRevisions(ctx, options.taskDefinitions, new Map(), missing);
    const arnOf = (key: ServiceKey) => revisions.find((r) => r.key === key)?.arn ?? '';
    await markDeployed(
      ctx,
      imagesOf(
        options.taskDefinitions,
        missing.map((key) => ({ key })),
      ),
    );
    const migrating = env.deploy.migrate.service;
    const migrationTaskId = missing.includes(migrating)
      ? await migrate(ctx, arnOf(migrating))
      : undefined;
    const created: CreateReport['created'][number][] = [];
    const seen = new Set<string>();
    for (const stage of stagesOf(
      env,
      missing.map((key) => ({ key })),
    )) {
      const started = await Promise.all(
        stage.map(async ({ key }) => {
          const { ours, snapshot } = await createService(ctx, key, arnOf(key), options);
          for (const event of snapshot.events) seen.add(event.id);
          return { key, service: nameOf(key), ours };
        }),
      );
      const watched = await watchRollouts(ctx, started, { timeoutMs: rolloutTimeoutMs(ctx), seen });
      if (watched.interrupted) {
        throw new AwsFailure({
          reason: 'interrupted',
          environment: env.name,
          waitingFor: 'the new services to start',
          deployments: started.map((s) => ({
            service: s.service,
            deploymentId: s.ours.deploymentId,
          })),
        });
      }
      const failed = started.filter((s) => watched.verdicts.get(s.service)?.state === 'failed');
      if (failed.length > 0) {
        throw new AwsFailure({
          reason: 'rollout-failed',
          environment: env.name,
          failures: await Promise.all(
            failed.map((s) =>
              failureDetail(
                ctx,
                s,
                watched.verdicts.get(s.service),
                watched.snapshots.get(s.service),
              ),
            ),
          ),
          restored: failed.map((s) => ({
            service: s.service,
            key: kebabCase(s.key),
            restored: { how: 'nothing-to-restore' },
          })),
        });
      }
      for (const s of started) await markCompleted(ctx, s.service, s.ours.taskDefinition);
      created.push(
        ...started.map((s) => ({
          key: s.key,
          service: s.service,
          taskDefinition: s.ours.taskDefinition,
        })),
      );
    }
    return { clusterCreated, created, existing, migrationTaskId } satisfies CreateReport;
  });
}

export function describeCreate(report: CreateReport): string {
  return [
    ...(report.clusterCreated ? ['cluster created'] : []),
    ...report.created.map(
      (c) => `${c.service}: created, running ${c.taskDefinition.split('/').at(-1) ?? ''}`,
    ),
    ...report.existing.map((name) => `${name}: already existed, left untouched`),
  ].join('\n');
}
