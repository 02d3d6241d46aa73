/**
 * ECS clusters and services: CreateCluster, DescribeClusters, CreateService, DescribeServices,
 * UpdateService, DeleteService. The rollout itself lives in rollout.ts; this file translates between the
 * wire shapes and the simulation.
 */
import { z } from 'zod';
import { ecsArn } from './arn.js';
import {
  clusterName,
  findService,
  requireActiveService,
  requireCluster,
  requireRunnableTaskDefinition,
  serviceArn,
  serviceName,
  type EcsState,
  type ServiceRecord,
} from './ecs-state.js';
import { defined, epochSeconds, fail, parseInput, type Handlers } from './protocol.js';
import {
  counts,
  createService,
  deploy,
  reconfigure,
  type DeploymentSettings,
  type RolloutConfig,
} from './rollout.js';

const deploymentConfiguration = z
  .object({
    maximumPercent: z.number().int().min(0).optional(),
    minimumHealthyPercent: z.number().int().min(0).max(100).optional(),
    deploymentCircuitBreaker: z
      .object({
        enable: z.boolean(),
        rollback: z.boolean(),
        // Unset means true (rollout.ts): a healthy task resets the failure count.
        resetOnHealthyTask: z.boolean().optional(),
      })
      .optional(),
  })
  .passthrough();

const createClusterInput = z.object({ clusterName: z.string().optional() }).passthrough();

const describeClustersInput = z.object({
  clusters: z.array(z.string()).optional(),
  include: z.array(z.string()).optional(),
});

const createServiceInput = z
  .object({
    cluster: z.string().optional(),
    serviceName: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,255}$/, 'must be 1-255 letters, digits, - or _'),
    taskDefinition: z.string().min(1),
    desiredCount: z.number().int().min(0).optional(),
    deploymentConfiguration: deploymentConfiguration.optional(),
  })
  .passthrough();

const describeServicesInput = z.object({
  cluster: z.string().optional(),
  services: z.array(z.string()).min(1).max(10),
  include: z.array(z.string()).optional(),
});

const deleteServiceInput = z.object({
  cluster: z.string().optional(),
  service: z.string().min(1),
  force: z.boolean().optional(),
});

const updateServiceInput = z
  .object({
    cluster: z.string().optional(),
    service: z.string().min(1),
    taskDefinition: z.string().min(1).optional(),
    desiredCount: z.number().int().min(0).optional(),
    deploymentConfiguration: deploymentConfiguration.optional(),
    forceNewDeployment: z.boolean().optional(),
  })
  .passthrough();

/** Members that, when changed, make ECS start a new deployment. */
const redeployOn = [
  'networkConfiguration',
  'platformVersion',
  'capacityProviderStrategy',
  'loadBalancers',
  'serviceRegistries',
];
/** Members each deployment carries (what its tasks are launched with). */
const perDeployment = [
  'launchType',
  'platformVersion',
  'networkConfiguration',
  'capacityProviderStrategy',
];

export function serviceHandlers(state: EcsState): Handlers {
  return {
    DeleteService: deleteServiceHandler(state),

    CreateCluster(raw) {
      const { clusterName: requested, ...sent } = parseInput(createClusterInput, raw);
      const name = requested ?? 'default';
      const existing = state.clusters.get(name);
      if (existing) return { cluster: renderCluster(state, existing.name, false) };
      state.clusters.set(name, { arn: ecsArn(state.account, `cluster/${name}`), name, sent });
      return { cluster: renderCluster(state, name, false) };
    },

    DescribeClusters(raw) {
      const input = parseInput(describeClustersInput, raw);
      const refs = input.clusters ?? ['default'];
      const withTags = input.include?.includes('TAGS') ?? false;
      const found = refs.filter((r) => state.clusters.has(clusterName(r)));
      return {
        clusters: found.map((r) => renderCluster(state, clusterName(r), withTags)),
        failures: refs
          .filter((r) => !state.clusters.has(clusterName(r)))
          .map((r) => ({
            arn: ecsArn(state.account, `cluster/${clusterName(r)}`),
            reason: 'MISSING',
          })),
      };
    },

    CreateService(raw) {
      const input = parseInput(createServiceInput, raw);
      const cluster = requireCluster(state, input.cluster);
      const def = requireRunnableTaskDefinition(state, input.taskDefinition);
      // A name is free again once its service is INACTIVE.
      const existing = findService(state, cluster, input.serviceName);
      if (existing && existing.status !== 'INACTIVE') {
        return fail('InvalidParameterException', 'Creation of service was not idempotent.');
      }
      const { cluster: _c, serviceName: name, taskDefinition: _t, desiredCount, ...sent } = input;
      const arn = serviceArn(state, cluster.name, name);
      const config = rolloutConfig(input.deploymentConfiguration);
      // Not yet visible to reads in read-lag mode: DescribeServices may answer MISSING a while.
      state.serviceViews.wrote(`${cluster.name}/${name}`, state.time, undefined);
      const record: ServiceRecord = {
        arn,
        clusterArn: cluster.arn,
        clusterName: cluster.name,
        createdAt: state.time,
        sent: {
          ...sent,
          deploymentConfiguration: wireConfig(config, input.deploymentConfiguration),
        },
        sim: createService({
          name,
          idSeed: arn,
          desiredCount: desiredCount ?? 0,
          config,
          taskDefinition: def.arn,
          settings: pick(sent, perDeployment),
          now: state.time,
        }),
      };
      state.services.set(`${cluster.name}/${name}`, record);
      return { service: renderService(record, true) };
    },

    DescribeServices(raw) {
      const input = parseInput(describeServicesInput, raw);
      const cluster = requireCluster(state, input.cluster);
      const withTags = input.include?.includes('TAGS') ?? false;
      const services = [];
      const failures = [];
      for (const ref of input.services) {
        const key = `${cluster.name}/${serviceName(ref)}`;
        // In read-lag mode a recent write may not be visible yet (read-lag.ts).
        const view = state.serviceViews.read(key, state.time, () => {
          const record = findService(state, cluster, ref);
          return record === undefined ? undefined : renderService(record, true);
        });
        if (view !== undefined) services.push(withTags ? view : withoutTags(view));
        else
          failures.push({
            arn: serviceArn(state, cluster.name, serviceName(ref)),
            reason: 'MISSING',
          });
      }
      return { services, failures };
    },

    UpdateService(raw) {
      const input = parseInput(updateServiceInput, raw);
      const cluster = requireCluster(state, input.cluster);
      const record = requireActiveService(state, cluster, input.service);
      const {
        cluster: _c,
        service: _s,
        taskDefinition,
        desiredCount,
        forceNewDeployment,
        ...changes
      } = input;
      const primary = record.sim.deployments[0];
      const def = taskDefinition ? requireRunnableTaskDefinition(state, taskDefinition) : undefined;
      const config = rolloutConfig({
        ...(record.sent['deploymentConfiguration'] as object),
        ...input.deploymentConfiguration,
      });
      const redeploy =
        forceNewDeployment === true ||
        (def !== undefined && def.arn !== primary?.taskDefinition) ||
        redeployOn.some(
          (k) => k in changes && JSON.stringify(changes[k]) !== JSON.stringify(record.sent[k]),
        );
      const sent = {
        ...record.sent,
        ...changes,
        deploymentConfiguration: wireConfig(config, {
          ...(record.sent['deploymentConfiguration'] as object),
          ...input.deploymentConfiguration,
        }),
      };
      let sim = reconfigure(record.sim, {
        desiredCount: desiredCount ?? record.sim.desiredCount,
        config,
        now: state.time,
      });
      if (redeploy) {
        sim = deploy(sim, {
          taskDefinition: def?.arn ?? primary?.taskDefinition ?? '',
          settings: pick(sent, perDeployment),
          now: state.time,
        });
      }
      const updated = { ...record, sent, sim };
      state.serviceViews.wrote(
        `${cluster.name}/${sim.name}`,
        state.time,
        renderService(record, true),
      );
      state.services.set(`${cluster.name}/${sim.name}`, updated);
      return { service: renderService(updated, false) };
    },
  };
}

/**
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html: a service
 * scaled above zero needs `force`; it turns DRAINING while its tasks stop, then INACTIVE, and
 * DescribeServices keeps showing it with that status.
 */
export function deleteServiceHandler(state: EcsState) {
  return (raw: unknown) => {
    const input = parseInput(deleteServiceInput, raw);
    const cluster = requireCluster(state, input.cluster);
    const record = requireActiveService(state, cluster, input.service);
    if (record.sim.desiredCount > 0 && input.force !== true) {
      return fail(
        'InvalidParameterException',
        'The service cannot be stopped while it is scaled above 0.',
      );
    }
    const sim = reconfigure(record.sim, {
      desiredCount: 0,
      config: rolloutConfig(record.sent['deploymentConfiguration'] as never),
      now: state.time,
    });
    const updated: ServiceRecord = { ...record, sim, status: 'DRAINING' };
    state.services.set(`${cluster.name}/${sim.name}`, updated);
    return { service: renderService(updated, false) };
  };
}

function rolloutConfig(sent: z.infer<typeof deploymentConfiguration> | undefined): RolloutConfig {
  return {
    maximumPercent: sent?.maximumPercent ?? 200,
    minimumHealthyPercent: sent?.minimumHealthyPercent ?? 100,
    circuitBreaker: sent?.deploymentCircuitBreaker ?? { enable: false, rollback: false },
  };
}

/** The configuration as DescribeServices shows it: what was sent, defaults filled in. */
function wireConfig(config: RolloutConfig, sent: object | undefined): Record<string, unknown> {
  return {
    ...sent,
    maximumPercent: config.maximumPercent,
    minimumHealthyPercent: config.minimumHealthyPercent,
    deploymentCircuitBreaker: config.circuitBreaker,
  };
}

function pick(record: Record<string, unknown>, keys: readonly string[]): DeploymentSettings {
  return Object.fromEntries(keys.filter((k) => record[k] !== undefined).map((k) => [k, record[k]]));
}

function withoutTags(view: Record<string, unknown>): Record<string, unknown> {
  const { tags: _tags, ...rest } = view;
  return rest;
}

function renderCluster(state: EcsState, name: string, withTags: boolean): Record<string, unknown> {
  const cluster = state.clusters.get(name);
  if (!cluster) throw new Error(`no cluster ${name}`);
  const services = [...state.services.values()].filter((s) => s.clusterArn === cluster.arn);
  const tasks = [
    ...services.flatMap((s) => s.sim.tasks),
    ...[...state.tasks.values()].filter((t) => t.clusterArn === cluster.arn).map((t) => t.sim),
  ];
  const { tags, ...sent } = cluster.sent;
  return defined({
    ...sent,
    tags: withTags ? (tags ?? []) : undefined,
    clusterArn: cluster.arn,
    clusterName: cluster.name,
    status: 'ACTIVE',
    registeredContainerInstancesCount: 0,
    runningTasksCount: counts(tasks).running,
    pendingTasksCount: counts(tasks).pending,
    activeServicesCount: services.length,
    statistics: [],
  });
}

function renderService(record: ServiceRecord, withTags: boolean): Record<string, unknown> {
  const { sim } = record;
  const { tags, role, ...sent } = record.sent;
  const all = counts(sim.tasks);
  return defined({
    schedulingStrategy: 'REPLICA',
    deploymentController: { type: 'ECS' },
    propagateTags: 'NONE',
    enableECSManagedTags: false,
    enableExecuteCommand: false,
    loadBalancers: [],
    serviceRegistries: [],
    placementConstraints: [],
    placementStrategy: [],
    ...sent,
    tags: withTags ? (tags ?? []) : undefined,
    roleArn: role,
    serviceArn: record.arn,
    serviceName: sim.name,
    clusterArn: record.clusterArn,
    status: record.status ?? 'ACTIVE',
    desiredCount: sim.desiredCount,
    runningCount: all.running,
    pendingCount: all.pending,
    taskDefinition: sim.deployments[0]?.taskDefinition,
    deployments: sim.deployments.map((d) => {
      const own = counts(sim.tasks.filter((t) => t.deploymentId === d.id));
      return defined({
        ...d.settings,
        id: d.id,
        status: d.status,
        taskDefinition: d.taskDefinition,
        desiredCount: d.desiredCount,
        pendingCount: own.pending,
        runningCount: own.running,
        failedTasks: d.failedTasks,
        createdAt: epochSeconds(d.createdAt),
        updatedAt: epochSeconds(d.updatedAt),
        rolloutState: d.rolloutState,
        rolloutStateReason: d.rolloutStateReason,
      });
    }),
    events: sim.events.map((e) => ({
      id: e.id,
      createdAt: epochSeconds(e.createdAt),
      message: e.message,
    })),
    createdAt: epochSeconds(record.createdAt),
    createdBy: `arn:aws:iam::${record.arn.split(':')[4] ?? ''}:user/emulator`,
  });
}
