/**
 * `ENV:diff`: for each service, a unified diff of its rendered task definition against the
 * revision it runs, and of the environment's service settings against the live service
 * (service-settings.ts). Both sides are normalised first, so only real differences show.
 * Read-only: DescribeServices and DescribeTaskDefinition.
 */
import { DescribeServicesCommand, type Service } from '@aws-sdk/client-ecs';
import type { AwsContext } from './clients.js';
import { awsCall, awsErrorName, runCommand, type Result } from './errors.js';
import {
  desiredSettings,
  liveSettings,
  sameSettings,
  settingsText,
  settingsUpdate,
} from './service-settings.js';
import type { ServiceKey } from '../environment.js';
import {
  describeTaskDefinition,
  normaliseTaskDefinition,
  renderedFor,
  shortRevision,
  type RenderedTaskDefinitions,
} from './task-definitions.js';
import { unifiedDiff } from './unified-diff.js';

export interface UnifiedDiffOptions extends AwsContext {
  readonly taskDefinitions: RenderedTaskDefinitions;
  /** Colour the diff (on a terminal). */
  readonly color?: boolean;
}

export interface ServiceUnifiedDiff {
  readonly service: string;
  /** The revision compared with, or undefined for a service that does not exist yet. */
  readonly live: string | undefined;
  /** '' when the same. */
  readonly taskDefinition: string;
  readonly settings: string;
}

const pretty = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** Every declared service's live state, by name (missing services are absent). */
export async function liveServicesByName(
  ctx: AwsContext,
  names: readonly string[],
): Promise<Map<string, Service>> {
  const cluster = ctx.env.ecs.cluster;
  const found = new Map<string, Service>();
  for (let i = 0; i < names.length; i += 10) {
    const out = await awsCall('ecs:DescribeServices', cluster, () =>
      ctx.clients.ecs
        .send(new DescribeServicesCommand({ cluster, services: names.slice(i, i + 10) }))
        .catch((error: unknown) => {
          if (awsErrorName(error) === 'ClusterNotFoundException') return { services: [] };
          throw error;
        }),
    );
    for (const s of out.services ?? []) {
      if (s.serviceName !== undefined && s.status === 'ACTIVE') found.set(s.serviceName, s);
    }
  }
  return found;
}

export async function unifiedServiceDiff(
  options: UnifiedDiffOptions,
): Promise<Result<ServiceUnifiedDiff[]>> {
  return runCommand(async () => {
    const ctx = options;
    const { env } = ctx;
    const keys = env.deploy.order.flat();
    const services = keys.map((key) => ({ key, service: env.services[key] }));
    const live = await liveServicesByName(
      ctx,
      services.flatMap(({ service }) => (service ? [service.name] : [])),
    );
    const diffs: ServiceUnifiedDiff[] = [];
    for (const { key, service } of services) {
      if (!service) continue;
      const rendered = renderedFor(options.taskDefinitions, key);
      const running = live.get(service.name);
      const arn = running?.taskDefinition;
      const definition = arn === undefined ? undefined : await describeTaskDefinition(ctx, arn);
      const label = arn === undefined ? '(not deployed)' : shortRevision(arn);
      const from = definition === undefined ? '' : pretty(normaliseTaskDefinition(definition));
      const wanted = desiredSettings(env, service, rendered);
      diffs.push({
        service: service.name,
        live: arn,
        taskDefinition: unifiedDiff(from, pretty(normaliseTaskDefinition(rendered)), {
          fromLabel: `${label} (live)`,
          toLabel: `${service.family} (rendered)`,
          ...(options.color === undefined ? {} : { color: options.color }),
        }),
        settings: unifiedDiff(
          running === undefined ? '' : settingsText(liveSettings(running, service.launchType)),
          settingsText(wanted),
          {
            fromLabel: `${service.name} (live)`,
            toLabel: `${service.name} (environments/${env.name}.ts)`,
            ...(options.color === undefined ? {} : { color: options.color }),
          },
        ),
      });
    }
    return diffs;
  });
}

export function describeUnifiedDiff(diffs: readonly ServiceUnifiedDiff[]): string {
  return diffs
    .map((d) => {
      const head = `${d.service}: ${d.live === undefined ? 'not created yet' : `runs ${shortRevision(d.live)}`}`;
      const parts = [
        d.taskDefinition === '' ? '  task definition: same as live' : d.taskDefinition,
        d.settings === '' ? '  service settings: same as live' : d.settings,
      ];
      return [head, ...parts].join('\n');
    })
    .join('\n');
}

/**
 * The services whose live settings differ from the environment's, each with the UpdateService
 * members that set all of them: what `deploy` sends (one UpdateService), and nothing for the rest.
 */
export async function differingSettings(
  ctx: AwsContext,
  taskDefinitions: RenderedTaskDefinitions,
  keys: readonly ServiceKey[],
): Promise<Map<ServiceKey, ReturnType<typeof settingsUpdate>>> {
  const { env } = ctx;
  const names = keys.flatMap((key) => (env.services[key] ? [env.services[key].name] : []));
  const live = await liveServicesByName(ctx, names);
  const differing = new Map<ServiceKey, ReturnType<typeof settingsUpdate>>();
  for (const key of keys) {
    const service = env.services[key];
    const running = service && live.get(service.name);
    if (!service || !running) continue;
    const wanted = desiredSettings(env, service, renderedFor(taskDefinitions, key));
    if (!sameSettings(liveSettings(running, service.launchType), wanted)) {
      differing.set(key, settingsUpdate(wanted));
    }
  }
  return differing;
}
