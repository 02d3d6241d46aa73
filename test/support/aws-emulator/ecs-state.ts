/**
 * What the ECS side of the emulator holds, how requests find things in it (by name or ARN,
 * as ECS accepts both), and how it moves in time.
 */
import { LaggedViews, type ReadLagOptions } from './read-lag.js';
import { ecsArn, type Account } from './arn.js';
import type { Faults } from './faults.js';
import { fail } from './protocol.js';
import { tickService, type SimService } from './rollout.js';
import { advanceUntil, type SimTask, type Timing } from './task-lifecycle.js';

export interface ClusterRecord {
  arn: string;
  name: string;
  /** Members as sent to CreateCluster (settings, tags, capacity providers...). */
  sent: Record<string, unknown>;
}

export interface TaskDefinitionRecord {
  arn: string;
  family: string;
  revision: number;
  status: 'ACTIVE' | 'INACTIVE';
  registeredAt: number;
  deregisteredAt: number | undefined;
  /** Members as sent to RegisterTaskDefinition, without tags. */
  sent: Record<string, unknown>;
  tags: unknown[];
  images: string[];
}

export interface ServiceRecord {
  arn: string;
  clusterArn: string;
  clusterName: string;
  createdAt: number;
  /** Members as sent (load balancers, network configuration, launch type...), kept current. */
  sent: Record<string, unknown>;
  sim: SimService;
  /**
   * ACTIVE until DeleteService; DRAINING while its tasks stop, then INACTIVE. DescribeServices
   * still shows both (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteService.html).
   * Absent means ACTIVE.
   */
  status?: 'ACTIVE' | 'DRAINING' | 'INACTIVE';
}

export interface OneOffTask {
  clusterArn: string;
  sim: SimTask;
  /** RunTask members shown back by DescribeTasks (overrides, startedBy, group...). */
  sent: Record<string, unknown>;
}

export interface EcsState {
  readonly account: Account;
  /** The simulation's present (ms): everything has been ticked up to here. */
  time: number;
  clusters: Map<string, ClusterRecord>;
  /** Revisions per family, oldest first; revision n is at index n - 1. */
  taskDefinitions: Map<string, TaskDefinitionRecord[]>;
  /** Keyed by `cluster/service`. */
  services: Map<string, ServiceRecord>;
  tasks: Map<string, OneOffTask>;
  serial: number;
  /** What DescribeServices sees of each `cluster/service` while a write is not yet visible. */
  serviceViews: LaggedViews<Record<string, unknown>>;
  /** What ListTagsForResource sees of each resource ARN's tags, likewise. */
  tagViews: LaggedViews<readonly { key: string; value: string }[]>;
}

export function emptyEcsState(account: Account, time: number, readLag?: ReadLagOptions): EcsState {
  return {
    account,
    time,
    clusters: new Map(),
    taskDefinitions: new Map(),
    services: new Map(),
    tasks: new Map(),
    serial: 0,
    serviceViews: new LaggedViews(readLag),
    // Its own sequence, so adding a tag write does not shift the services' delays.
    tagViews: new LaggedViews(
      readLag === undefined ? undefined : { ...readLag, seed: readLag.seed + 1 },
    ),
  };
}

/** Moves every service and task forward to `to`. */
export function tickEcs(state: EcsState, to: number, faults: Faults, timing: Timing): void {
  if (to < state.time) return;
  const fateOf = (arn: string) => {
    const def = findTaskDefinition(state, arn);
    if (!def) throw new Error(`service runs unknown task definition ${arn}`);
    return faults.fateOf(def, 'service');
  };
  for (const [key, service] of state.services) {
    const sim = tickService(service.sim, state.time, to, { timing, fateOf });
    const drained = service.status === 'DRAINING' && sim.tasks.every((t) => t.phase === 'STOPPED');
    state.services.set(key, { ...service, sim, ...(drained ? { status: 'INACTIVE' } : {}) });
  }
  const horizon = to - timing.stoppedRetentionSeconds * 1000;
  for (const [id, task] of state.tasks) {
    const sim = advanceUntil(task.sim, to, timing);
    if (sim.phase === 'STOPPED' && (sim.stoppedAt ?? to) < horizon) state.tasks.delete(id);
    else state.tasks.set(id, { ...task, sim });
  }
  state.time = to;
}

export function clusterName(ref: string | undefined): string {
  if (!ref) return 'default';
  const match = /^arn:aws:ecs:[^:]*:[^:]*:cluster\/(.+)$/.exec(ref);
  return match?.[1] ?? ref;
}

export function requireCluster(state: EcsState, ref: string | undefined): ClusterRecord {
  return (
    state.clusters.get(clusterName(ref)) ?? fail('ClusterNotFoundException', 'Cluster not found.')
  );
}

export function serviceName(ref: string): string {
  const match = /^arn:aws:ecs:[^:]*:[^:]*:service\/(?:[^/]+\/)?([^/]+)$/.exec(ref);
  return match?.[1] ?? ref;
}

export function findService(state: EcsState, cluster: ClusterRecord, ref: string) {
  return state.services.get(`${cluster.name}/${serviceName(ref)}`);
}

/** For UpdateService and DeleteService: a service that exists and is ACTIVE. */
export function requireActiveService(state: EcsState, cluster: ClusterRecord, ref: string) {
  const record =
    findService(state, cluster, ref) ?? fail('ServiceNotFoundException', 'Service not found.');
  if ((record.status ?? 'ACTIVE') !== 'ACTIVE') {
    // https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html#API_UpdateService_Errors
    return fail(
      'ServiceNotActiveException',
      "The specified service isn't active. You can't update a service that's inactive.",
    );
  }
  return record;
}

export function serviceArn(state: EcsState, cluster: string, service: string): string {
  return ecsArn(state.account, `service/${cluster}/${service}`);
}

/** `family`, `family:revision` or a task definition ARN; a bare family means its latest ACTIVE revision. */
export function findTaskDefinition(state: EcsState, ref: string): TaskDefinitionRecord | undefined {
  const match = /^(?:arn:aws:ecs:[^:]*:[^:]*:task-definition\/)?([^:/]+)(?::(\d+))?$/.exec(ref);
  if (!match?.[1]) return undefined;
  const revisions = state.taskDefinitions.get(match[1]) ?? [];
  if (match[2] !== undefined) return revisions[Number(match[2]) - 1];
  return revisions.filter((r) => r.status === 'ACTIVE').at(-1);
}

/** For CreateService, UpdateService and RunTask. */
export function requireRunnableTaskDefinition(state: EcsState, ref: string): TaskDefinitionRecord {
  const def = findTaskDefinition(state, ref);
  if (!def) return fail('InvalidParameterException', 'TaskDefinition not found.');
  if (def.status !== 'ACTIVE')
    return fail('InvalidParameterException', 'TaskDefinition is inactive');
  return def;
}
