/**
 * `ENV:scale[service,count]`: set a service's desired count and wait until the service holds it
 * (one COMPLETED deployment, running = desired).
 */
import { requireAccount } from './account.js';
import type { AwsContext } from './clients.js';
import { AwsFailure, runCommand, type Result } from './errors.js';
import { requireServiceKey, unknownService } from './rollback.js';
import { serviceSettings } from '../environment.js';
import { watchRollouts } from './rollout.js';
import { requireServices, rolloutTimeoutMs, updateService } from './services.js';

export interface ScaleOptions extends AwsContext {
  /** A service key (`queueWorker` or `queue-worker`), or the ECS service name. */
  readonly service: string;
  readonly count: number;
}

export interface Scaled {
  readonly service: string;
  readonly from: number;
  readonly to: number;
}

export async function scale(options: ScaleOptions): Promise<Result<Scaled>> {
  return runCommand(async () => {
    const ctx: AwsContext = options;
    const { env } = ctx;
    const key = requireServiceKey(env, options.service);
    const name = serviceSettings(env, key).name;
    if (!Number.isInteger(options.count) || options.count < 0) {
      throw unknownService(
        env,
        `${options.service} with count ${options.count} (expected a whole number >= 0)`,
      );
    }
    await requireAccount(ctx);
    const before = (await requireServices(ctx, [key])).get(key);
    if (before === undefined) throw new Error(`requireServices returned no ${name}`);
    ctx.log(`${name}: desired count ${before.desiredCount} -> ${options.count}`);
    const { ours, snapshot } = await updateService(ctx, name, { desiredCount: options.count });
    const seen = new Set(snapshot.events.map((e) => e.id));
    if (ours === undefined)
      throw new Error(`UpdateService of ${name} returned no PRIMARY deployment`);
    const watched = await watchRollouts(ctx, [{ service: name, ours }], {
      timeoutMs: rolloutTimeoutMs(ctx),
      seen,
    });
    if (watched.interrupted) {
      throw new AwsFailure({
        reason: 'interrupted',
        environment: env.name,
        waitingFor: `${name} to reach ${options.count} tasks`,
        deployments: [{ service: name, deploymentId: ours.deploymentId }],
      });
    }
    const verdict = watched.verdicts.get(name);
    if (verdict?.state === 'failed') {
      throw new AwsFailure({
        reason: 'rollout-failed',
        environment: env.name,
        failures: [
          {
            service: name,
            deploymentId: ours.deploymentId,
            taskDefinition: ours.taskDefinition,
            cause: verdict.cause,
            reason: verdict.reason,
            events: [],
            stoppedTasks: [],
          },
        ],
        restored: [],
      });
    }
    return { service: name, from: before.desiredCount, to: options.count };
  });
}

export function describeScale(scaled: Scaled): string {
  return `${scaled.service}: scaled from ${scaled.from} to ${scaled.to} tasks, all running`;
}
