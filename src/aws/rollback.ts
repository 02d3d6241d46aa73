/**
 * `ENV:rollback`: each service back to the revision before the one it runs (or, for one service,
 * to a named revision), with the same staged update, watch and restore as a deploy. No migration
 * runs: database changes are not undone.
 *
 * "The previous revision" is the newest ACTIVE revision below the running one that completed a
 * rollout on that service (completed-mark.ts): never one whose deploy failed and was rolled back.
 * `ENV:status` lists revisions, and `revision` picks one explicitly.
 */
import { requireAccount } from './account.js';
import {
  kebabCase,
  serviceKeys,
  serviceSettings,
  type EcsEnvironment,
  type ServiceKey,
} from '../environment.js';
import type { AwsContext } from './clients.js';
import { lastCompletedBelow, markCompleted } from './completed-mark.js';
import { stagesOf } from './deploy.js';
import { AwsFailure, runCommand, type Result } from './errors.js';
import { requireServices, rollOutStages, type ServiceChange } from './services.js';
import { activeRevisions } from './status.js';
import { describeTaskDefinition } from './task-definitions.js';

/**
 * Pure: the service key for what a user typed: the key (`queueWorker`), its kebab-case form
 * (`queue-worker`), the ECS service name or family, or the end of the name (`queue-worker` for
 * `example-staging-queue-worker`).
 */
export function resolveServiceKey(env: EcsEnvironment, given: string): ServiceKey | undefined {
  return serviceKeys(env).find((key) => {
    const { name, family } = serviceSettings(env, key);
    return [key, kebabCase(key), name, family].includes(given) || name.endsWith(`-${given}`);
  });
}

/** The failure for a service name that matches none of the environment's services. */
export function unknownService(env: EcsEnvironment, given: string): AwsFailure {
  return new AwsFailure({
    reason: 'unknown-service',
    environment: env.name,
    given,
    known: serviceKeys(env).map(kebabCase),
  });
}

export function requireServiceKey(env: EcsEnvironment, given: string): ServiceKey {
  const key = resolveServiceKey(env, given);
  if (key === undefined) throw unknownService(env, given);
  return key;
}

export interface RollbackOptions extends AwsContext {
  /** One service (its key, the key in kebab-case, or its ECS name); default every service. */
  readonly service?: string;
  /** A revision number of that service's family; needs `service`, since families differ. */
  readonly revision?: number;
}

export interface RolledBack {
  readonly service: string;
  readonly from: string;
  readonly to: string;
  readonly deploymentId: string;
}

export async function rollback(options: RollbackOptions): Promise<Result<RolledBack[]>> {
  return runCommand(async () => {
    const ctx: AwsContext = options;
    const { env } = ctx;
    if (options.revision !== undefined && options.service === undefined) {
      throw unknownService(env, `(none, with revision ${options.revision})`);
    }
    const keys =
      options.service === undefined
        ? env.deploy.order.flat()
        : [requireServiceKey(env, options.service)];
    await requireAccount(ctx);
    const snapshots = await requireServices(ctx, keys);
    const changes: ServiceChange[] = [];
    for (const [key, snapshot] of snapshots) {
      const { name, family } = serviceSettings(env, key);
      const current = snapshot.taskDefinition;
      let target: string | undefined;
      if (options.revision !== undefined) {
        const found = await describeTaskDefinition(ctx, `${family}:${options.revision}`);
        if (found?.status !== 'ACTIVE' || found.taskDefinitionArn === undefined) {
          throw new AwsFailure({
            reason: 'revision-not-found',
            family,
            revision: options.revision,
          });
        }
        target = found.taskDefinitionArn;
      } else {
        target = await lastCompletedBelow(ctx, name, await activeRevisions(ctx, family), current);
      }
      if (target === undefined) {
        const failure = { reason: 'no-previous-revision', service: name, family, current } as const;
        // Rolling back everything: a service with no history stays put; naming it is an error.
        if (options.service !== undefined) throw new AwsFailure(failure);
        ctx.log(`${name}: no earlier ACTIVE revision than ${current}, left as it is`);
        continue;
      }
      if (target === current) {
        ctx.log(`${name}: already runs ${target}`);
        continue;
      }
      changes.push({ key, service: name, taskDefinition: target, previous: current });
    }
    const [first] = snapshots;
    if (changes.length === 0 && options.service === undefined && first !== undefined) {
      const { name, family } = serviceSettings(env, first[0]);
      throw new AwsFailure({
        reason: 'no-previous-revision',
        service: name,
        family,
        current: first[1].taskDefinition,
      });
    }
    const seen = new Set([...snapshots.values()].flatMap((s) => s.events.map((e) => e.id)));
    // Rolling back: the reverse of the deploy order (the last stage first).
    const stages = stagesOf(env, changes).reverse();
    // A rollback is the way out of a stuck deployment: it does not wait for one to finish.
    const rolled = await rollOutStages(ctx, stages, seen, { operation: 'rollback', force: true });
    if (!rolled.ok) throw new AwsFailure(rolled.failure);
    for (const s of rolled.started) await markCompleted(ctx, s.service, s.taskDefinition);
    return rolled.started.map((s) => ({
      service: s.service,
      from: s.previous ?? '',
      to: s.taskDefinition,
      deploymentId: s.ours.deploymentId,
    }));
  });
}

export function describeRollback(rolled: readonly RolledBack[]): string {
  if (rolled.length === 0) return 'Nothing to roll back.';
  return rolled
    .map(
      (r) =>
        `${r.service}: rolled back ${r.from.split('/').at(-1) ?? ''} -> ${r.to.split('/').at(-1) ?? ''} (deployment ${r.deploymentId})`,
    )
    .join('\n');
}
