/**
 * Read-only views: `ENV:status` (services, deployments, revisions and the image tags they run)
 * and `ENV:diff` (the rendered task definitions against the live ones). Neither changes anything.
 */
import { ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { serviceSettings, type ServiceKey } from '../environment.js';
import type { AwsContext } from './clients.js';
import { awsCall, runCommand, type Result } from './errors.js';
import { describeServices, type ServiceSnapshot } from './rollout.js';
import { clusterExists } from './services.js';
import {
  describeChanges,
  describeTaskDefinition,
  diffTaskDefinitions,
  renderedFor,
  shortRevision,
  type Change,
  type RenderedTaskDefinitions,
} from './task-definitions.js';

/** ACTIVE revision ARNs of a family, newest first. */
export async function activeRevisions(ctx: AwsContext, family: string): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await awsCall('ecs:ListTaskDefinitions', family, () =>
      ctx.clients.ecs.send(
        new ListTaskDefinitionsCommand({
          familyPrefix: family,
          status: 'ACTIVE',
          sort: 'DESC',
          ...(nextToken === undefined ? {} : { nextToken }),
        }),
      ),
    );
    // familyPrefix is a prefix: `web` also lists `web-worker`.
    arns.push(
      ...(out.taskDefinitionArns ?? []).filter((arn) =>
        shortRevision(arn).startsWith(`${family}:`),
      ),
    );
    nextToken = out.nextToken;
  } while (nextToken !== undefined);
  return arns;
}

export interface DeploymentStatus {
  readonly id: string;
  readonly status: string;
  readonly rolloutState: string | undefined;
  readonly rolloutStateReason: string | undefined;
  readonly taskDefinition: string;
  readonly images: readonly string[];
  readonly desired: number;
  readonly running: number;
  readonly pending: number;
  readonly failed: number;
}

export interface ServiceStatus {
  readonly key: ServiceKey;
  readonly service: string;
  readonly exists: boolean;
  readonly taskDefinition: string | undefined;
  readonly desired: number;
  readonly running: number;
  readonly pending: number;
  readonly deployments: readonly DeploymentStatus[];
  /** ACTIVE revisions of the family, newest first. */
  readonly revisions: readonly string[];
  readonly lastEvents: readonly string[];
}

export interface EnvironmentStatus {
  readonly environment: string;
  readonly cluster: string;
  readonly clusterExists: boolean;
  readonly services: readonly ServiceStatus[];
}

/** The environment's services as ECS has them, in deploy order; none when the cluster is missing. */
async function liveServices(ctx: AwsContext) {
  const keys = ctx.env.deploy.order.flat();
  const exists = await clusterExists(ctx);
  const found = exists
    ? await describeServices(
        ctx,
        keys.map((k) => serviceSettings(ctx.env, k).name),
      )
    : new Map<string, ServiceSnapshot>();
  return { keys, exists, found };
}

export async function status(ctx: AwsContext): Promise<Result<EnvironmentStatus>> {
  return runCommand(async () => {
    const { env } = ctx;
    const { keys, exists, found } = await liveServices(ctx);
    const images = new Map<string, string[]>();
    const imagesOf = async (arn: string) => {
      if (!images.has(arn)) {
        const def = await describeTaskDefinition(ctx, arn);
        images.set(
          arn,
          (def?.containerDefinitions ?? []).map((c) => c.image ?? ''),
        );
      }
      return images.get(arn) ?? [];
    };
    const services: ServiceStatus[] = [];
    for (const key of keys) {
      const { name, family } = serviceSettings(env, key);
      const snapshot = found.get(name);
      const deployments: DeploymentStatus[] = [];
      for (const d of snapshot?.deployments ?? []) {
        deployments.push({
          id: d.id,
          status: d.status,
          rolloutState: d.rolloutState,
          rolloutStateReason: d.rolloutStateReason,
          taskDefinition: d.taskDefinition,
          images: await imagesOf(d.taskDefinition),
          desired: d.desiredCount,
          running: d.runningCount,
          pending: d.pendingCount,
          failed: d.failedTasks,
        });
      }
      services.push({
        key,
        service: name,
        exists: snapshot !== undefined,
        taskDefinition: snapshot?.taskDefinition,
        desired: snapshot?.desiredCount ?? 0,
        running: snapshot?.runningCount ?? 0,
        pending: snapshot?.pendingCount ?? 0,
        deployments,
        revisions: await activeRevisions(ctx, family),
        lastEvents: (snapshot?.events ?? []).slice(0, 5).map((e) => e.message),
      });
    }
    return { environment: env.name, cluster: env.ecs.cluster, clusterExists: exists, services };
  });
}

const tagOf = (image: string) => image.split('/').at(-1) ?? image;

export function describeStatus(report: EnvironmentStatus): string {
  if (!report.clusterExists) {
    return `${report.environment}: cluster ${report.cluster} does not exist (create it with \`npx task ${report.environment}:create\`)`;
  }
  const lines = [`${report.environment}: cluster ${report.cluster}`];
  for (const s of report.services) {
    if (!s.exists) {
      lines.push(`  ${s.service}: not created (\`npx task ${report.environment}:create\`)`);
      continue;
    }
    lines.push(
      `  ${s.service}: ${shortRevision(s.taskDefinition ?? '')}, desired ${s.desired}, running ${s.running}, pending ${s.pending}`,
    );
    for (const d of s.deployments) {
      lines.push(
        `    ${d.status} ${d.id} ${shortRevision(d.taskDefinition)} ${d.rolloutState ?? '-'} (${d.images.map(tagOf).join(', ')}): desired ${d.desired}, running ${d.running}, pending ${d.pending}, failed ${d.failed}${d.rolloutStateReason ? ` - ${d.rolloutStateReason}` : ''}`,
      );
    }
    lines.push(
      `    revisions (ACTIVE): ${s.revisions.map((arn) => shortRevision(arn).split(':').at(-1)).join(', ') || 'none'}`,
    );
    for (const event of s.lastEvents) lines.push(`    event: ${event}`);
  }
  return lines.join('\n');
}

export interface ServiceDiff {
  readonly key: ServiceKey;
  readonly family: string;
  /** What the rendered definition is compared with: the service's revision, else the latest. */
  readonly live: string | undefined;
  readonly changes: readonly Change[];
}

export interface DiffOptions extends AwsContext {
  readonly taskDefinitions: RenderedTaskDefinitions;
}

export async function diff(options: DiffOptions): Promise<Result<ServiceDiff[]>> {
  return runCommand(async () => {
    const ctx = options;
    const { env } = ctx;
    const { keys, found } = await liveServices(ctx);
    const diffs: ServiceDiff[] = [];
    for (const key of keys) {
      const { family, name } = serviceSettings(env, key);
      const running = found.get(name)?.taskDefinition;
      const live = await describeTaskDefinition(ctx, running ?? family);
      const rendered = { ...renderedFor(options.taskDefinitions, key), family };
      diffs.push({
        key,
        family,
        live: live?.taskDefinitionArn,
        changes:
          live === undefined
            ? diffTaskDefinitions({ family }, rendered)
            : diffTaskDefinitions(live, rendered),
      });
    }
    return diffs;
  });
}

export function describeDiff(diffs: readonly ServiceDiff[]): string {
  return diffs
    .map((d) => {
      if (d.live === undefined) return `${d.family}: not registered yet (every field is new)`;
      if (d.changes.length === 0) return `${d.family}: same as ${shortRevision(d.live)}`;
      return [
        `${d.family}: ${d.changes.length} change(s) against ${shortRevision(d.live)}`,
        ...describeChanges(d.changes),
      ].join('\n');
    })
    .join('\n');
}
