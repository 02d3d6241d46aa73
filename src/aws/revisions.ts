/**
 * `ENV:deregister`: keep the newest N ACTIVE revisions of each family and deregister the rest,
 * never a revision any deployment of the service still runs (a rollback may need it).
 */
import { requireAccount } from './account.js';
import { DeregisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { serviceSettings, type ServiceKey } from '../environment.js';
import type { AwsContext } from './clients.js';
import { awsCall, runCommand, type Result } from './errors.js';
import { describeServices, type ServiceSnapshot } from './rollout.js';
import { clusterExists } from './services.js';
import { activeRevisions } from './status.js';
import { revisionOf } from './task-definitions.js';

/** Pure: which of `active` to deregister, keeping the newest `keep` and everything in use. */
export function planDeregister(
  active: readonly string[],
  inUse: ReadonlySet<string>,
  keep: number,
): string[] {
  const newestFirst = [...active].sort((a, b) => (revisionOf(b) ?? 0) - (revisionOf(a) ?? 0));
  return newestFirst.slice(Math.max(0, keep)).filter((arn) => !inUse.has(arn));
}

export interface DeregisterOptions extends AwsContext {
  /** Revisions to keep per family (default 10). */
  readonly keep?: number;
}

export interface Deregistered {
  readonly key: ServiceKey;
  readonly family: string;
  readonly deregistered: readonly string[];
  readonly kept: readonly string[];
}

export async function deregister(options: DeregisterOptions): Promise<Result<Deregistered[]>> {
  return runCommand(async () => {
    const ctx: AwsContext = options;
    const { env } = ctx;
    const keep = options.keep ?? 10;
    await requireAccount(ctx);
    const keys = env.deploy.order.flat();
    const found = (await clusterExists(ctx))
      ? await describeServices(
          ctx,
          keys.map((k) => serviceSettings(env, k).name),
        )
      : new Map<string, ServiceSnapshot>();
    const results: Deregistered[] = [];
    for (const key of keys) {
      const { family, name } = serviceSettings(env, key);
      const inUse = new Set<string>(
        (found.get(name)?.deployments ?? []).map((d) => d.taskDefinition),
      );
      const active = await activeRevisions(ctx, family);
      const doomed = planDeregister(active, inUse, keep);
      for (const arn of doomed) {
        await awsCall('ecs:DeregisterTaskDefinition', arn, () =>
          ctx.clients.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })),
        );
        ctx.log(`${family}: deregistered ${arn.split('/').at(-1) ?? arn}`);
      }
      results.push({
        key,
        family,
        deregistered: doomed,
        kept: active.filter((arn) => !doomed.includes(arn)),
      });
    }
    return results;
  });
}

export function describeDeregister(results: readonly Deregistered[]): string {
  return results
    .map(
      (r) =>
        `${r.family}: deregistered ${r.deregistered.length === 0 ? 'nothing' : r.deregistered.map((a) => revisionOf(a)).join(', ')}; kept ${r.kept.map((a) => revisionOf(a)).join(', ') || 'none'}`,
    )
    .join('\n');
}
