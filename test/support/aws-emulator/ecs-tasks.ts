/**
 * ECS tasks: RunTask (one-off tasks such as migrations), StopTask, and DescribeTasks, which
 * shows both one-off tasks and the tasks that services' deployments launched.
 *
 * Containers of a stopped task: the container the command ran in (the one a RunTask override gave
 * a command, else the first) reports the task's exit code; every other container was stopped by
 * ECS with SIGTERM once that essential container exited ("If the essential parameter of a
 * container is marked as true, and that container fails or stops for any reason, all other
 * containers that are part of the task are stopped":
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html)
 * and reports 143, the worst ordinary outcome for a sidecar. A task that failed to start has no
 * exit codes at all, only each container's `reason`.
 */
import { z } from 'zod';
import { ecsArn, hexId } from './arn.js';
import {
  findTaskDefinition,
  requireCluster,
  requireRunnableTaskDefinition,
  type ClusterRecord,
  type EcsState,
} from './ecs-state.js';
import type { Faults } from './faults.js';
import { defined, epochSeconds, fail, parseInput, type Handlers } from './protocol.js';
import { launchTask, requestStop, type SimTask } from './task-lifecycle.js';

const runTaskInput = z
  .object({
    cluster: z.string().optional(),
    taskDefinition: z.string().min(1),
    count: z.number().int().min(1).max(10).optional(),
    tags: z.array(z.unknown()).optional(),
  })
  .passthrough();

const stopTaskInput = z
  .object({
    cluster: z.string().optional(),
    task: z.string().min(1),
    reason: z.string().max(255).optional(),
  })
  .strict();

const describeTasksInput = z.object({
  cluster: z.string().optional(),
  tasks: z.array(z.string()).min(1).max(100),
  include: z.array(z.string()).optional(),
});

/** A task as DescribeTasks finds it, with what it was launched with. */
interface FoundTask {
  sim: SimTask;
  cluster: ClusterRecord;
  group: string;
  startedBy: string | undefined;
  sent: Record<string, unknown>;
}

export function taskHandlers(state: EcsState, faults: Faults): Handlers {
  return {
    RunTask(raw) {
      const input = parseInput(runTaskInput, raw);
      const cluster = requireCluster(state, input.cluster);
      const def = requireRunnableTaskDefinition(state, input.taskDefinition);
      const { cluster: _c, taskDefinition: _t, count, ...sent } = input;
      // No capacity or no placement: the call succeeds with `failures` and no task
      // (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html, Response).
      const refused = faults.takeRunTaskFailure();
      if (refused) {
        return { tasks: [], failures: [defined({ arn: cluster.arn, ...refused })] };
      }
      const found: FoundTask[] = [];
      for (let i = 0; i < (count ?? 1); i++) {
        const id = hexId(`${cluster.arn}#run${state.serial++}`);
        const sim = launchTask(id, def.arn, faults.fateOf(def, 'one-off'), state.time);
        state.tasks.set(id, { clusterArn: cluster.arn, sim, sent });
        const group = typeof sent['group'] === 'string' ? sent['group'] : `family:${def.family}`;
        const startedBy = typeof sent['startedBy'] === 'string' ? sent['startedBy'] : undefined;
        found.push({ sim, cluster, group, startedBy, sent });
      }
      return { tasks: found.map((t) => renderTask(state, t, true)), failures: [] };
    },

    /**
     * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html: the task gets
     * SIGTERM, then SIGKILL after its stop timeout; stopCode UserInitiated, the reason as given.
     * A process that exits on SIGTERM exits 143. Stopping a stopped task is not an error.
     */
    StopTask(raw) {
      const input = parseInput(stopTaskInput, raw);
      const cluster = requireCluster(state, input.cluster);
      const id = input.task.split('/').at(-1) ?? input.task;
      const oneOff = state.tasks.get(id);
      if (!oneOff || oneOff.clusterArn !== cluster.arn) {
        return fail('InvalidParameterException', 'The referenced task was not found.');
      }
      const reason = input.reason ?? 'Task stopped by user';
      const sim = requestStop(oneOff.sim, state.time, reason);
      const ran = oneOff.sim.phase === 'RUNNING';
      const stop = { reason, code: 'UserInitiated' as const, exitCode: ran ? 143 : undefined };
      state.tasks.set(id, { ...oneOff, sim: sim === oneOff.sim ? sim : { ...sim, stop } });
      const found = findTask(state, cluster, id);
      return { task: found ? renderTask(state, found, false) : undefined };
    },

    DescribeTasks(raw) {
      const input = parseInput(describeTasksInput, raw);
      const cluster = requireCluster(state, input.cluster);
      const withTags = input.include?.includes('TAGS') ?? false;
      const tasks = [];
      const failures = [];
      for (const ref of input.tasks) {
        const id = ref.split('/').at(-1) ?? ref;
        const task = findTask(state, cluster, id);
        if (task) tasks.push(renderTask(state, task, withTags));
        else
          failures.push({
            arn: ecsArn(state.account, `task/${cluster.name}/${id}`),
            reason: 'MISSING',
          });
      }
      return { tasks, failures };
    },
  };
}

function findTask(state: EcsState, cluster: ClusterRecord, id: string): FoundTask | undefined {
  const oneOff = state.tasks.get(id);
  if (oneOff && oneOff.clusterArn === cluster.arn) {
    const family = findTaskDefinition(state, oneOff.sim.taskDefinitionArn)?.family ?? '';
    const { group, startedBy } = oneOff.sent;
    return {
      sim: oneOff.sim,
      cluster,
      group: typeof group === 'string' ? group : `family:${family}`,
      startedBy: typeof startedBy === 'string' ? startedBy : undefined,
      sent: oneOff.sent,
    };
  }
  for (const service of state.services.values()) {
    if (service.clusterArn !== cluster.arn) continue;
    const task = service.sim.tasks.find((t) => t.id === id);
    const deployment = service.sim.deployments.find((d) => d.id === task?.deploymentId);
    if (task) {
      return {
        sim: task,
        cluster,
        group: `service:${service.sim.name}`,
        startedBy: task.deploymentId,
        sent: { ...deployment?.settings, tags: service.sent['tags'] },
      };
    }
  }
  return undefined;
}

function renderTask(state: EcsState, task: FoundTask, withTags: boolean): Record<string, unknown> {
  const { sim, cluster, sent } = task;
  const def = findTaskDefinition(state, sim.taskDefinitionArn);
  const taskArn = ecsArn(state.account, `task/${cluster.name}/${sim.id}`);
  const lastStatus = sim.phase;
  const at = (ms: number | undefined) => (ms === undefined ? undefined : epochSeconds(ms));
  const health = sim.healthy
    ? 'HEALTHY'
    : sim.stop?.reason.includes('health check')
      ? 'UNHEALTHY'
      : 'UNKNOWN';
  const definitions = (def?.sent['containerDefinitions'] ?? []) as {
    name: string;
    image: string;
  }[];
  const { tags, overrides, ...launched } = sent;
  const main = commandContainer(overrides) ?? definitions[0]?.name;
  const stoppedCode = (name: string) => {
    if (sim.phase !== 'STOPPED' || sim.stop?.exitCode === undefined) return undefined;
    return name === main ? sim.stop.exitCode : 143;
  };
  return defined({
    launchType: launched['launchType'],
    platformVersion: launched['platformVersion'],
    capacityProviderName: undefined,
    taskArn,
    clusterArn: cluster.arn,
    taskDefinitionArn: sim.taskDefinitionArn,
    group: task.group,
    startedBy: task.startedBy,
    overrides: overrides ?? { containerOverrides: [], inferenceAcceleratorOverrides: [] },
    lastStatus,
    desiredStatus: sim.phase === 'PENDING' || sim.phase === 'RUNNING' ? 'RUNNING' : 'STOPPED',
    healthStatus: health,
    connectivity: sim.startedAt === undefined ? undefined : 'CONNECTED',
    cpu: def?.sent['cpu'],
    memory: def?.sent['memory'],
    availabilityZone: `${state.account.region}a`,
    attachments: [],
    containers: definitions.map((c) =>
      defined({
        containerArn: ecsArn(state.account, `container/${cluster.name}/${sim.id}/${hexId(c.name)}`),
        taskArn,
        name: c.name,
        image: c.image,
        lastStatus: lastStatus === 'STOPPING' ? 'RUNNING' : lastStatus,
        exitCode: stoppedCode(c.name),
        reason:
          sim.phase === 'STOPPED' && (c.name === main || sim.stop?.code === 'TaskFailedToStart')
            ? sim.stop?.reason
            : undefined,
        healthStatus: health,
        networkBindings: [],
        networkInterfaces: [],
      }),
    ),
    version:
      [sim.startedAt, sim.stoppingAt, sim.stoppedAt].filter((t) => t !== undefined).length + 1,
    createdAt: at(sim.createdAt),
    startedAt: at(sim.startedAt),
    stoppingAt: at(sim.stoppingAt),
    stoppedAt: at(sim.stoppedAt),
    executionStoppedAt: at(sim.stoppedAt),
    stopCode: sim.stop?.code,
    stoppedReason: sim.stop?.reason,
    tags: withTags ? (tags ?? []) : undefined,
  });
}

/** The container a RunTask override gave a command, if any. */
function commandContainer(overrides: unknown): string | undefined {
  const list = (overrides as { containerOverrides?: { name?: unknown; command?: unknown }[] })
    ?.containerOverrides;
  const named = list?.find((o) => Array.isArray(o.command) && typeof o.name === 'string');
  return typeof named?.name === 'string' ? named.name : undefined;
}
