/**
 * What ECS stores for a RegisterTaskDefinition request, and so what DescribeTaskDefinition sends
 * back: never the request as sent. Modelled on the documented defaults and on real
 * DescribeTaskDefinition output:
 *
 * - task `cpu` and `memory` are strings; "1 vCPU" / "1 GB" forms become CPU units and MiB ("When
 *   the task definition is registered, a vCPU value is converted to an integer indicating the CPU
 *   units", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size);
 * - a container without `essential` is essential, without `cpu` shows 0; `environment`,
 *   `mountPoints`, `volumesFrom` and `systemControls` come back as empty lists; a log
 *   configuration gains `secretOptions: []`; `versionConsistency` shows "enabled";
 * - in awsvpc (and host) mode `hostPort` is filled with the container port ("If you use containers
 *   in a task with the awsvpc or host network mode, the hostPort can either be left blank or set
 *   to the same value as the containerPort"), and `protocol` defaults to tcp;
 * - a health check gains its documented defaults (interval 30, timeout 5, retries 3, startPeriod 0);
 * - `linuxParameters` comes back with its lists empty rather than absent and `initProcessEnabled`
 *   false when not sent. The API reference documents no defaults for them
 *   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinuxParameters.html), so this
 *   is the worst the API allows: a naive comparison sees a change that is none;
 * - the task gains `volumes: []`, `placementConstraints: []`, `enableFaultInjection: false`, and
 *   the server fields `requiresAttributes`, `compatibilities`, `status`, `revision`,
 *   `registeredAt`, `registeredBy` (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskDefinition.html).
 */

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A size as ECS stores it: "1 vCPU" (or "1 GB") -> "1024", "256" or 256 -> "256". */
function taskSize(value: unknown, unit: RegExp): string | undefined {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return undefined;
  const scaled = unit.exec(value)?.[1];
  return scaled === undefined ? value : String(Math.round(Number(scaled) * 1024));
}

export const cpuUnits = (value: unknown) => taskSize(value, /^\s*([\d.]+)\s*vcpu\s*$/i);
export const memoryMiB = (value: unknown) => taskSize(value, /^\s*([\d.]+)\s*gb\s*$/i);

function container(sent: Json, networkMode: unknown): Json {
  const fillHostPort = networkMode === 'awsvpc' || networkMode === 'host';
  const out: Json = {
    cpu: 0,
    essential: true,
    environment: [],
    mountPoints: [],
    volumesFrom: [],
    systemControls: [],
    versionConsistency: 'enabled',
    ...sent,
  };
  if (Array.isArray(sent.portMappings)) {
    out.portMappings = (sent.portMappings as Json[]).map((mapping) => ({
      ...mapping,
      protocol: mapping.protocol ?? 'tcp',
      ...(fillHostPort && mapping.hostPort === undefined
        ? { hostPort: mapping.containerPort }
        : {}),
    }));
  } else {
    out.portMappings = [];
  }
  if (isRecord(sent.logConfiguration)) {
    out.logConfiguration = { secretOptions: [], ...sent.logConfiguration };
  }
  if (isRecord(sent.healthCheck)) {
    out.healthCheck = { interval: 30, timeout: 5, retries: 3, startPeriod: 0, ...sent.healthCheck };
  }
  if (isRecord(sent.linuxParameters)) {
    out.linuxParameters = {
      capabilities: { add: [], drop: [] },
      devices: [],
      initProcessEnabled: false,
      tmpfs: [],
      ...sent.linuxParameters,
    };
  }
  return out;
}

/** The capabilities ECS derives from a definition (a representative subset of the real list). */
export function requiresAttributes(sent: Json): { name: string }[] {
  const names = new Set<string>(['com.amazonaws.ecs.capability.docker-remote-api.1.18']);
  const containers = Array.isArray(sent.containerDefinitions)
    ? (sent.containerDefinitions as Json[])
    : [];
  if (sent.networkMode === 'awsvpc') names.add('ecs.capability.task-eni');
  if (typeof sent.taskRoleArn === 'string') names.add('com.amazonaws.ecs.capability.task-iam-role');
  for (const c of containers) {
    const log = isRecord(c.logConfiguration) ? c.logConfiguration : undefined;
    if (log?.logDriver === 'awslogs') {
      names.add('com.amazonaws.ecs.capability.logging-driver.awslogs');
      if (typeof sent.executionRoleArn === 'string') {
        names.add('ecs.capability.execution-role-awslogs');
      }
    }
    if (isRecord(c.healthCheck)) names.add('ecs.capability.container-health-check');
    if (typeof c.image === 'string' && c.image.includes('.dkr.ecr.')) {
      names.add('com.amazonaws.ecs.capability.ecr-auth');
      names.add('ecs.capability.execution-role-ecr-pull');
    }
    for (const secret of Array.isArray(c.secrets) ? (c.secrets as Json[]) : []) {
      const from = typeof secret.valueFrom === 'string' ? secret.valueFrom : '';
      names.add(
        from.includes(':secretsmanager:')
          ? 'ecs.capability.secrets.asm.environment-variables'
          : 'ecs.capability.secrets.ssm.environment-variables',
      );
    }
  }
  return [...names].sort().map((name) => ({ name }));
}

/** The stored definition, without the server fields the caller adds (ARN, revision, status...). */
export function storedTaskDefinition(sent: Json): Json {
  const containers = Array.isArray(sent.containerDefinitions)
    ? (sent.containerDefinitions as Json[])
    : [];
  const out: Json = {
    volumes: [],
    placementConstraints: [],
    enableFaultInjection: false,
    ...sent,
    containerDefinitions: containers.map((c) => container(c, sent.networkMode)),
  };
  const cpu = cpuUnits(sent.cpu);
  const memory = memoryMiB(sent.memory);
  if (cpu !== undefined) out.cpu = cpu;
  if (memory !== undefined) out.memory = memory;
  return out;
}
