/**
 * Task definitions: is the rendered one already registered, and if not, register it.
 *
 * The comparison is pure: both sides are normalised (fields ECS sets itself dropped, defaults ECS
 * fills in made explicit or dropped, name/value lists sorted) and compared leaf by leaf, so a
 * deploy with nothing changed registers nothing, and `ENV:diff` shows only real differences.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DescribeTaskDefinitionCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import {
  outputPaths,
  serviceKeys,
  serviceSettings,
  type EcsEnvironment,
  type ServiceKey,
} from '../environment.js';
import type { AwsContext } from './clients.js';
import { AwsFailure, awsCall, awsErrorName } from './errors.js';
import { ecsTags } from './service-settings.js';
import { sourceTags } from './deploy-source.js';

/** Each service's rendered task definition, by service key. */
export type RenderedTaskDefinitions = Readonly<
  Record<ServiceKey, RegisterTaskDefinitionCommandInput>
>;

/** Reads build/<env>/ecs/<service>.json for every declared service, as `ENV:render` wrote them. */
export async function readRenderedTaskDefinitions(
  env: EcsEnvironment,
  options: { readonly cwd: string },
): Promise<RenderedTaskDefinitions> {
  const paths = outputPaths(env.name);
  const rendered: Record<ServiceKey, RegisterTaskDefinitionCommandInput> = {};
  for (const key of serviceKeys(env)) {
    const file = path.resolve(options.cwd, paths.taskDefinition(key));
    rendered[key] = JSON.parse(await readFile(file, 'utf8')) as RegisterTaskDefinitionCommandInput;
  }
  return rendered;
}

/** The rendered task definition of `key`; every declared service has one (see readRendered...). */
export function renderedFor(
  rendered: RenderedTaskDefinitions,
  key: ServiceKey,
): RegisterTaskDefinitionCommandInput {
  const found = rendered[key];
  if (found === undefined) throw new Error(`no rendered task definition for service ${key}`);
  return found;
}

/** Set by ECS on registration (or by the describe call): never part of what we asked for. */
const SERVER_FIELDS = new Set([
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
  'deregisteredAt',
  'tags',
]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Drops undefined, null, empty arrays and empty objects, recursively: ECS adds them freely. */
function prune(value: unknown): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    const items = value.map(prune).filter((item): item is Json => item !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (isRecord(value)) {
    const entries = Object.entries(value)
      .map(([key, item]) => [key, prune(item)] as const)
      .filter((entry): entry is readonly [string, Json] => entry[1] !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value) ?? null;
}

function byName(list: unknown): unknown {
  if (!Array.isArray(list)) return list;
  return [...(list as { name?: string }[])].sort((a, b) =>
    (a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0,
  );
}

function normaliseContainer(container: Record<string, unknown>, networkMode: unknown) {
  const out: Record<string, unknown> = { ...container };
  // ECS makes a container without `essential` essential, and shows a missing cpu as 0.
  out.essential = container.essential ?? true;
  if (container.cpu === 0) delete out.cpu;
  if (container.versionConsistency === 'enabled') delete out.versionConsistency;
  out.environment = byName(container.environment);
  out.secrets = byName(container.secrets);
  if (Array.isArray(container.portMappings)) {
    out.portMappings = (container.portMappings as Record<string, unknown>[]).map((mapping) => {
      const copy: Record<string, unknown> = { ...mapping, protocol: mapping.protocol ?? 'tcp' };
      // awsvpc (and host) mode: ECS fills hostPort with the container port.
      if (
        (networkMode === 'awsvpc' || networkMode === 'host') &&
        mapping.hostPort === mapping.containerPort
      ) {
        delete copy.hostPort;
      }
      return copy;
    });
  }
  if (isRecord(container.healthCheck)) {
    const health = container.healthCheck;
    out.healthCheck = {
      ...health,
      interval: health.interval ?? 30,
      timeout: health.timeout ?? 5,
      retries: health.retries ?? 3,
      ...(health.startPeriod === 0 ? { startPeriod: undefined } : {}),
    };
  }
  // No init process is the default (docker run without --init), however ECS shows it.
  if (
    isRecord(container.linuxParameters) &&
    container.linuxParameters.initProcessEnabled === false
  ) {
    const { initProcessEnabled: _default, ...linux } = container.linuxParameters;
    out.linuxParameters = linux;
  }
  return out;
}

/** Pure: "0.5 vCPU" -> "512", "2 GB" -> "2048" (1024 per unit), a number -> its string. */
function taskSize(value: unknown, unit: RegExp): string {
  const scaled = unit.exec(String(value))?.[1];
  return scaled === undefined ? String(value) : String(Math.round(Number(scaled) * 1024));
}

/**
 * A task definition as a comparable value: a rendered RegisterTaskDefinition input and a
 * DescribeTaskDefinition result that ECS would consider the same normalise to equal values.
 */
export function normaliseTaskDefinition(
  definition: RegisterTaskDefinitionCommandInput | TaskDefinition,
): Json {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(definition)) {
    if (!SERVER_FIELDS.has(key)) out[key] = value;
  }
  // Task-level sizes are strings in the API; a template may well write numbers, or "1 vCPU" /
  // "2 GB", which ECS converts to CPU units and MiB when it registers the definition
  // (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size).
  if (out.cpu !== undefined) out.cpu = taskSize(out.cpu, /^\s*([\d.]+)\s*vcpu\s*$/i);
  if (out.memory !== undefined) out.memory = taskSize(out.memory, /^\s*([\d.]+)\s*gb\s*$/i);
  if (out.enableFaultInjection === false) delete out.enableFaultInjection;
  const containers = Array.isArray(out.containerDefinitions)
    ? (out.containerDefinitions as Record<string, unknown>[])
    : [];
  out.containerDefinitions = byName(
    containers.map((container) => normaliseContainer(container, out.networkMode)),
  );
  out.requiresCompatibilities = Array.isArray(out.requiresCompatibilities)
    ? [...(out.requiresCompatibilities as string[])].sort()
    : out.requiresCompatibilities;
  return prune(out) ?? {};
}

export interface Change {
  /** e.g. `containerDefinitions[app].environment[APP_ENV].value`. */
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly before?: string;
  readonly after?: string;
}

function isNamedList(value: Json[]): value is { name: string }[] {
  return value.every((item) => isRecord(item) && typeof item.name === 'string');
}

/** Leaves of a normalised value: lists of named objects are keyed by name, scalar lists whole. */
function leaves(value: Json, prefix: string, out: Map<string, string>): void {
  if (Array.isArray(value)) {
    if (value.length > 0 && value.every((item) => typeof item !== 'object' || item === null)) {
      out.set(prefix, JSON.stringify(value));
      return;
    }
    const named = isNamedList(value);
    value.forEach((item, index) => {
      const key = named ? (item as { name: string }).name : String(index);
      leaves(item, `${prefix}[${key}]`, out);
    });
    return;
  }
  if (isRecord(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'name' && prefix.endsWith(']')) continue;
      leaves(item, prefix === '' ? key : `${prefix}.${key}`, out);
    }
    return;
  }
  out.set(prefix, JSON.stringify(value));
}

/** What would change if `desired` replaced `live`; empty when ECS would see the same thing. */
export function diffTaskDefinitions(
  live: RegisterTaskDefinitionCommandInput | TaskDefinition,
  desired: RegisterTaskDefinitionCommandInput | TaskDefinition,
): Change[] {
  const before = new Map<string, string>();
  const after = new Map<string, string>();
  leaves(normaliseTaskDefinition(live), '', before);
  leaves(normaliseTaskDefinition(desired), '', after);
  const changes: Change[] = [];
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  for (const key of paths) {
    const old = before.get(key);
    const next = after.get(key);
    if (old === next) continue;
    if (old === undefined) changes.push({ path: key, kind: 'added', after: next ?? '' });
    else if (next === undefined) changes.push({ path: key, kind: 'removed', before: old });
    else changes.push({ path: key, kind: 'changed', before: old, after: next });
  }
  return changes;
}

/** `~ path: before -> after` lines, indented, for ENV:diff and the deploy log. */
export function describeChanges(changes: readonly Change[], indent = '  '): string[] {
  return changes.map((change) => {
    switch (change.kind) {
      case 'added':
        return `${indent}+ ${change.path}: ${change.after ?? ''}`;
      case 'removed':
        return `${indent}- ${change.path}: ${change.before ?? ''}`;
      case 'changed':
        return `${indent}~ ${change.path}: ${change.before ?? ''} -> ${change.after ?? ''}`;
    }
  });
}

/** The task definition to run: an existing revision, or a registration with its changes. */
export type RevisionChoice =
  | { readonly kind: 'reuse'; readonly arn: string; readonly why: 'running' | 'latest' }
  | {
      readonly kind: 'register';
      readonly changes: readonly Change[];
      readonly against: string | undefined;
    };

/**
 * Pure: reuse the revision the service runs if it matches, else the family's latest ACTIVE one if
 * it matches (a retry after a failed rollout), else register.
 */
export function chooseRevision(
  rendered: RegisterTaskDefinitionCommandInput,
  running: TaskDefinition | undefined,
  latest: TaskDefinition | undefined,
): RevisionChoice {
  for (const [candidate, why] of [
    [running, 'running'],
    [latest, 'latest'],
  ] as const) {
    if (candidate?.taskDefinitionArn && diffTaskDefinitions(candidate, rendered).length === 0) {
      return { kind: 'reuse', arn: candidate.taskDefinitionArn, why };
    }
  }
  const against = running ?? latest;
  return {
    kind: 'register',
    changes: against === undefined ? [] : diffTaskDefinitions(against, rendered),
    against: against?.taskDefinitionArn,
  };
}

/** A task definition by ARN, `family:revision` or family (its latest ACTIVE); undefined if none. */
export async function describeTaskDefinition(
  ctx: AwsContext,
  ref: string,
): Promise<TaskDefinition | undefined> {
  return awsCall('ecs:DescribeTaskDefinition', ref, async () => {
    try {
      const out = await ctx.clients.ecs.send(
        new DescribeTaskDefinitionCommand({ taskDefinition: ref }),
      );
      return out.taskDefinition;
    } catch (error) {
      // ECS answers a family with no ACTIVE revision (or an unknown revision) with ClientException.
      if (awsErrorName(error) === 'ClientException') return undefined;
      throw error;
    }
  });
}

export async function registerTaskDefinition(
  ctx: AwsContext,
  rendered: RegisterTaskDefinitionCommandInput,
): Promise<TaskDefinition> {
  const family = rendered.family ?? '(no family)';
  const out = await awsCall('ecs:RegisterTaskDefinition', family, () =>
    ctx.clients.ecs.send(
      new RegisterTaskDefinitionCommand({ ...rendered, ...registrationTags(ctx) }),
    ),
  );
  if (out.taskDefinition?.taskDefinitionArn === undefined) {
    throw new AwsFailure({
      reason: 'aws-error',
      action: 'ecs:RegisterTaskDefinition',
      resource: family,
      code: 'EmptyResponse',
      detail: 'no task definition in the response',
    });
  }
  return out.taskDefinition;
}

/** The environment's tags and the commit being deployed, as RegisterTaskDefinition takes them. */
function registrationTags(ctx: AwsContext) {
  const tags = [...(ecsTags(ctx.env.tags).tags ?? []), ...sourceTags(ctx.source)];
  return tags.length === 0 ? {} : { tags };
}

export interface ResolvedRevision {
  readonly key: ServiceKey;
  readonly arn: string;
  readonly registered: boolean;
  readonly changes: readonly Change[];
}

/**
 * For each service key: the ARN to run, registering only what differs. `running` is the task
 * definition each service runs now (undefined for a service that does not exist yet).
 */
export async function resolveRevisions(
  ctx: AwsContext,
  rendered: RenderedTaskDefinitions,
  running: ReadonlyMap<ServiceKey, string>,
  keys: readonly ServiceKey[] = serviceKeys(ctx.env),
): Promise<ResolvedRevision[]> {
  const resolved: ResolvedRevision[] = [];
  for (const key of keys) {
    const definition = renderedFor(rendered, key);
    const family = serviceSettings(ctx.env, key).family;
    const runningArn = running.get(key);
    const current =
      runningArn === undefined ? undefined : await describeTaskDefinition(ctx, runningArn);
    const latest = await describeTaskDefinition(ctx, family);
    const choice = chooseRevision({ ...definition, family }, current, latest);
    if (choice.kind === 'reuse') {
      ctx.log(
        `${family}: unchanged, using ${shortRevision(choice.arn)} (the ${choice.why === 'running' ? 'revision the service runs' : 'latest ACTIVE revision'})`,
      );
      resolved.push({ key, arn: choice.arn, registered: false, changes: [] });
      continue;
    }
    const registered = await registerTaskDefinition(ctx, { ...definition, family });
    const arn = registered.taskDefinitionArn ?? '';
    ctx.log(
      `${family}: registered ${shortRevision(arn)}${choice.against === undefined ? ' (first revision)' : ` (changed from ${shortRevision(choice.against)})`}`,
    );
    for (const line of describeChanges(choice.changes)) ctx.log(line);
    resolved.push({ key, arn, registered: true, changes: choice.changes });
  }
  return resolved;
}

/** `family:12` from a task definition ARN. */
export function shortRevision(arn: string): string {
  return arn.split('/').at(-1) ?? arn;
}

/** The revision number of a task definition ARN, or undefined. */
export function revisionOf(arn: string | undefined): number | undefined {
  const match = /:(\d+)$/.exec(arn ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
