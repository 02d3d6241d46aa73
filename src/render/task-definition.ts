/**
 * What RegisterTaskDefinition would refuse, checked before anything talks to AWS. Pure: a parsed
 * task definition in, a list of `{ path, message }` problems out (empty means it would register).
 *
 * Only rules that ECS enforces at registration (or that make a Fargate task unable to start:
 * awslogs without a stream prefix, a role-less secret) are here, plus one of ours: every image
 * must be one the image tasks of this run produced, so a task definition can never point at a
 * tag that was not built and pushed.
 */
import type { RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import type { TaskDefinitionProblem } from './failure.js';

function steps(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let value = from; value <= to; value += step) out.push(value);
  return out;
}

/** Fargate task sizes: CPU units -> allowed memory (MiB). From the ECS developer guide. */
export const FARGATE_SIZES: ReadonlyMap<number, readonly number[]> = new Map([
  [256, [512, 1024, 2048]],
  [512, steps(1024, 4096, 1024)],
  [1024, steps(2048, 8192, 1024)],
  [2048, steps(4096, 16384, 1024)],
  [4096, steps(8192, 30720, 1024)],
  [8192, steps(16384, 61440, 4096)],
  [16384, steps(32768, 122880, 8192)],
]);

export const FARGATE_CPU: readonly number[] = [...FARGATE_SIZES.keys()];

/** Memory choices for a Fargate CPU size, as `a|b|c`, for messages. */
export function describeFargateMemory(cpu: number): string {
  return (FARGATE_SIZES.get(cpu) ?? []).join('|');
}

export function isFargateSize(cpu: number, memory: number): boolean {
  return FARGATE_SIZES.get(cpu)?.includes(memory) ?? false;
}

export interface TaskDefinitionCheckOptions {
  /** Exactly the image references the image tasks made (`<registry>/<repo>:<tag>`). */
  readonly allowedImages: readonly string[];
}

export type TaskDefinitionCheck =
  | { readonly ok: true; readonly taskDefinition: RegisterTaskDefinitionCommandInput }
  | { readonly ok: false; readonly problems: readonly TaskDefinitionProblem[] };

// prettier-ignore
const TOP_LEVEL_KEYS = new Set([
  'family', 'taskRoleArn', 'executionRoleArn', 'networkMode', 'containerDefinitions', 'volumes',
  'placementConstraints', 'requiresCompatibilities', 'cpu', 'memory', 'tags', 'pidMode', 'ipcMode',
  'proxyConfiguration', 'inferenceAccelerators', 'ephemeralStorage', 'runtimePlatform',
  'enableFaultInjection',
]);

// prettier-ignore
const CONTAINER_KEYS = new Set([
  'name', 'image', 'repositoryCredentials', 'cpu', 'memory', 'memoryReservation', 'links',
  'portMappings', 'essential', 'restartPolicy', 'entryPoint', 'command', 'environment',
  'environmentFiles', 'mountPoints', 'volumesFrom', 'linuxParameters', 'secrets', 'dependsOn',
  'startTimeout', 'stopTimeout', 'versionConsistency', 'hostname', 'user', 'workingDirectory',
  'disableNetworking', 'privileged', 'readonlyRootFilesystem', 'dnsServers', 'dnsSearchDomains',
  'extraHosts', 'dockerSecurityOptions', 'interactive', 'pseudoTerminal', 'dockerLabels', 'ulimits',
  'logConfiguration', 'healthCheck', 'systemControls', 'resourceRequirements',
  'firelensConfiguration', 'credentialSpecs',
]);

const NAME = /^[A-Za-z0-9_-]{1,255}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
/** SSM parameter (ARN or name) or Secrets Manager ARN, optionally with a JSON key selector. */
const SECRET_REF =
  /^(arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/\S+|arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:\S+|\/?[\w.-]+(\/[\w.-]+)*)$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInt(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Collects problems for one task definition; `at` builds field paths. */
class Checker {
  readonly problems: TaskDefinitionProblem[] = [];

  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  unknownKeys(value: Json, known: ReadonlySet<string>, path: string): void {
    for (const key of Object.keys(value)) {
      if (!known.has(key)) this.add(at(path, key), 'is not a RegisterTaskDefinition field');
    }
  }

  string(value: Json, key: string, path: string, rule?: { pattern: RegExp; expected: string }) {
    const found = value[key];
    if (found === undefined) return undefined;
    if (typeof found !== 'string') {
      this.add(at(path, key), `expected a string, found ${typeof found}`);
      return undefined;
    }
    if (rule !== undefined && !rule.pattern.test(found)) {
      this.add(at(path, key), `expected ${rule.expected}, found ${JSON.stringify(found)}`);
    }
    return found;
  }

  required(value: Json, key: string, path: string, what: string): boolean {
    if (value[key] !== undefined) return true;
    this.add(at(path, key), `is required (${what})`);
    return false;
  }

  array(value: Json, key: string, path: string): unknown[] | undefined {
    const found = value[key];
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) {
      this.add(at(path, key), 'expected an array');
      return undefined;
    }
    return found as unknown[];
  }

  int(value: Json, key: string, path: string, min: number, max: number): void {
    const found = value[key];
    if (found !== undefined && !isInt(found, min, max)) {
      this.add(
        at(path, key),
        `expected an integer from ${min} to ${max}, found ${JSON.stringify(found)}`,
      );
    }
  }
}

function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Task-level cpu/memory are strings in the API ("512"); parse them to check the size table. */
function units(check: Checker, value: Json, key: 'cpu' | 'memory'): number | undefined {
  const found = check.string(value, key, '', {
    pattern: /^\d+$/,
    expected: `a whole number as a string, e.g. "${key === 'cpu' ? '512' : '1024'}"`,
  });
  return found !== undefined && /^\d+$/.test(found) ? Number(found) : undefined;
}

function checkPortMappings(
  check: Checker,
  container: Json,
  path: string,
  networkMode: string,
): void {
  const mappings = check.array(container, 'portMappings', path) ?? [];
  mappings.forEach((mapping, index) => {
    const mappingPath = at(at(path, 'portMappings'), index);
    if (!isObject(mapping)) return check.add(mappingPath, 'expected an object');
    if (!check.required(mapping, 'containerPort', mappingPath, 'the port the container listens on'))
      return;
    check.int(mapping, 'containerPort', mappingPath, 1, 65535);
    check.int(mapping, 'hostPort', mappingPath, 0, 65535);
    check.string(mapping, 'protocol', mappingPath, { pattern: /^(tcp|udp)$/, expected: 'tcp|udp' });
    const { containerPort, hostPort } = mapping;
    // awsvpc and host give the task the host's port space: there is nothing to remap.
    if (
      (networkMode === 'awsvpc' || networkMode === 'host') &&
      hostPort !== undefined &&
      hostPort !== containerPort
    ) {
      check.add(
        at(mappingPath, 'hostPort'),
        `must be absent or equal containerPort (${String(containerPort)}) in ${networkMode} network mode, found ${JSON.stringify(hostPort)}`,
      );
    }
  });
}

function checkLogConfiguration(
  check: Checker,
  container: Json,
  path: string,
  fargate: boolean,
): boolean {
  const logPath = at(path, 'logConfiguration');
  const config = container.logConfiguration;
  if (config === undefined) {
    check.add(
      logPath,
      "is required: without it the container's output is lost (use the awslogs driver)",
    );
    return false;
  }
  if (!isObject(config)) {
    check.add(logPath, 'expected an object');
    return false;
  }
  const driver = check.string(config, 'logDriver', logPath);
  if (driver === undefined) {
    check.add(at(logPath, 'logDriver'), 'is required, e.g. "awslogs"');
    return false;
  }
  if (driver !== 'awslogs') return false;
  const options = isObject(config.options) ? config.options : {};
  const needed = ['awslogs-group', 'awslogs-region', ...(fargate ? ['awslogs-stream-prefix'] : [])];
  for (const option of needed) {
    if (typeof options[option] !== 'string' || options[option] === '') {
      check.add(at(at(logPath, 'options'), option), 'is required by the awslogs driver');
    }
  }
  return true;
}

function checkNameValueList(
  check: Checker,
  container: Json,
  key: 'environment' | 'secrets',
  path: string,
  seen: Map<string, string>,
): number {
  const list = check.array(container, key, path) ?? [];
  const valueKey = key === 'environment' ? 'value' : 'valueFrom';
  list.forEach((entry, index) => {
    const entryPath = at(at(path, key), index);
    if (!isObject(entry)) return check.add(entryPath, 'expected an object');
    check.unknownKeys(entry, new Set(['name', valueKey]), entryPath);
    const name = check.string(entry, 'name', entryPath);
    if (name === undefined) check.add(at(entryPath, 'name'), 'is required');
    if (
      check.required(
        entry,
        valueKey,
        entryPath,
        key === 'environment' ? 'a string' : 'an SSM parameter or Secrets Manager ARN',
      )
    ) {
      check.string(
        entry,
        valueKey,
        entryPath,
        key === 'secrets'
          ? { pattern: SECRET_REF, expected: 'an SSM parameter or Secrets Manager ARN' }
          : undefined,
      );
    }
    if (name === undefined) return;
    const first = seen.get(name);
    if (first !== undefined)
      check.add(
        at(entryPath, 'name'),
        `duplicate variable ${JSON.stringify(name)} (also ${first})`,
      );
    else seen.set(name, at(entryPath, 'name'));
  });
  return list.length;
}

function checkHealthCheck(check: Checker, container: Json, path: string): void {
  const health = container.healthCheck;
  if (health === undefined) return;
  const healthPath = at(path, 'healthCheck');
  if (!isObject(health)) return check.add(healthPath, 'expected an object');
  const command = health.command;
  const ok =
    Array.isArray(command) &&
    command.length >= 2 &&
    command.every((part) => typeof part === 'string') &&
    (command[0] === 'CMD' || command[0] === 'CMD-SHELL');
  if (!ok)
    check.add(at(healthPath, 'command'), 'expected ["CMD", ...args] or ["CMD-SHELL", "command"]');
  check.int(health, 'interval', healthPath, 5, 300);
  check.int(health, 'timeout', healthPath, 2, 120);
  check.int(health, 'retries', healthPath, 1, 10);
  check.int(health, 'startPeriod', healthPath, 0, 300);
}

/** Checks one parsed task definition (the JSON a render produced). */
export function checkTaskDefinition(
  value: unknown,
  options: TaskDefinitionCheckOptions,
): TaskDefinitionCheck {
  const check = new Checker();
  if (!isObject(value))
    return { ok: false, problems: [{ path: '', message: 'expected a JSON object' }] };
  check.unknownKeys(value, TOP_LEVEL_KEYS, '');

  if (check.required(value, 'family', '', 'the task definition family')) {
    check.string(value, 'family', '', {
      pattern: NAME,
      expected: 'letters, digits, - and _ (1-255)',
    });
  }
  const compatibilities = check.array(value, 'requiresCompatibilities', '') ?? [];
  compatibilities.forEach((entry, index) => {
    if (!['EC2', 'FARGATE', 'EXTERNAL', 'MANAGED_INSTANCES'].includes(entry as string)) {
      check.add(
        at('requiresCompatibilities', index),
        `expected EC2|FARGATE|EXTERNAL|MANAGED_INSTANCES, found ${JSON.stringify(entry)}`,
      );
    }
  });
  const fargate = compatibilities.includes('FARGATE');
  const networkMode =
    check.string(value, 'networkMode', '', {
      pattern: /^(bridge|host|awsvpc|none)$/,
      expected: 'bridge|host|awsvpc|none',
    }) ?? 'bridge';
  if (fargate && networkMode !== 'awsvpc')
    check.add(
      'networkMode',
      `FARGATE requires "awsvpc", found ${JSON.stringify(value.networkMode ?? null)}`,
    );

  const cpu = units(check, value, 'cpu');
  const memory = units(check, value, 'memory');
  if (fargate) {
    if (
      check.required(value, 'cpu', '', `FARGATE needs a task size: ${FARGATE_CPU.join('|')}`) &&
      cpu !== undefined &&
      !FARGATE_SIZES.has(cpu)
    ) {
      check.add('cpu', `expected one of ${FARGATE_CPU.join('|')} for FARGATE, found "${cpu}"`);
    }
    if (
      check.required(value, 'memory', '', 'FARGATE needs a task memory size') &&
      cpu !== undefined &&
      memory !== undefined &&
      FARGATE_SIZES.has(cpu) &&
      !isFargateSize(cpu, memory)
    ) {
      check.add(
        'memory',
        `expected one of ${describeFargateMemory(cpu)} with cpu "${cpu}" on FARGATE, found "${memory}"`,
      );
    }
  }

  const roleRule = {
    pattern: ROLE_ARN,
    expected: 'an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
  };
  const executionRole = check.string(value, 'executionRoleArn', '', roleRule);
  check.string(value, 'taskRoleArn', '', roleRule);
  const platform = value.runtimePlatform;
  if (platform !== undefined) {
    if (!isObject(platform)) check.add('runtimePlatform', 'expected an object');
    else {
      check.unknownKeys(
        platform,
        new Set(['cpuArchitecture', 'operatingSystemFamily']),
        'runtimePlatform',
      );
      check.string(platform, 'cpuArchitecture', 'runtimePlatform', {
        pattern: /^(X86_64|ARM64)$/,
        expected: 'X86_64|ARM64',
      });
      check.string(platform, 'operatingSystemFamily', 'runtimePlatform', {
        pattern: /^(LINUX|WINDOWS_\w+)$/,
        expected: 'LINUX or a WINDOWS_* family',
      });
    }
  }

  const containers = value.containerDefinitions;
  if (!Array.isArray(containers) || containers.length === 0) {
    check.add('containerDefinitions', 'expected a non-empty array of containers');
    return { ok: false, problems: check.problems };
  }
  const names = new Map<string, string>();
  let essentials = 0;
  let needsExecutionRole: string | undefined;
  containers.forEach((container, index) => {
    const path = at('containerDefinitions', index);
    if (!isObject(container)) return check.add(path, 'expected an object');
    check.unknownKeys(container, CONTAINER_KEYS, path);
    if (check.required(container, 'name', path, 'a container name')) {
      const name = check.string(container, 'name', path, {
        pattern: NAME,
        expected: 'letters, digits, - and _ (1-255)',
      });
      const first = name === undefined ? undefined : names.get(name);
      if (first !== undefined)
        check.add(
          at(path, 'name'),
          `duplicate container name ${JSON.stringify(name)} (also ${first})`,
        );
      else if (name !== undefined) names.set(name, at(path, 'name'));
    }
    if (check.required(container, 'image', path, 'an image reference')) {
      const image = check.string(container, 'image', path);
      if (image !== undefined && !options.allowedImages.includes(image)) {
        const allowed =
          options.allowedImages.length === 0 ? 'none' : options.allowedImages.join(', ');
        check.add(
          at(path, 'image'),
          `${JSON.stringify(image)} is not an image this run built (built: ${allowed})`,
        );
      }
    }
    // ECS treats a container without `essential` as essential.
    if (container.essential === undefined || container.essential === true) essentials += 1;
    else if (container.essential !== false) check.add(at(path, 'essential'), 'expected a boolean');
    check.int(container, 'cpu', path, 0, 196608);
    check.int(container, 'memory', path, 6, 1048576);
    check.int(container, 'memoryReservation', path, 6, 1048576);
    if (
      memory === undefined &&
      container.memory === undefined &&
      container.memoryReservation === undefined
    ) {
      check.add(
        at(path, 'memory'),
        'is required when the task sets no memory (memory or memoryReservation)',
      );
    }
    checkPortMappings(check, container, path, networkMode);
    if (checkLogConfiguration(check, container, path, fargate))
      needsExecutionRole ??= at(path, 'logConfiguration');
    const variables = new Map<string, string>();
    checkNameValueList(check, container, 'environment', path, variables);
    if (checkNameValueList(check, container, 'secrets', path, variables) > 0)
      needsExecutionRole ??= at(path, 'secrets');
    checkHealthCheck(check, container, path);
  });
  if (essentials === 0)
    check.add('containerDefinitions', 'at least one container must be essential (essential: true)');
  if (needsExecutionRole !== undefined && executionRole === undefined) {
    check.add(
      'executionRoleArn',
      `is required: ${needsExecutionRole} needs the agent to act for the task`,
    );
  }

  if (check.problems.length > 0) return { ok: false, problems: check.problems };
  return { ok: true, taskDefinition: value as unknown as RegisterTaskDefinitionCommandInput };
}
