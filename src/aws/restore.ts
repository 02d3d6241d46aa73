/**
 * Putting services back after a failed deploy or rollback, and saying where every one ended up.
 * Restoring is itself a deploy, so it is careful in the same ways: it never undoes someone
 * else's work, and a failure to restore is reported, never swallowed.
 *
 *   for each service this run moved:
 *     no previous revision ─────────────────────────────> nothing-to-restore
 *     our deployment was superseded (a newer one, not ECS's rollback) ─> left-alone
 *     ECS is already returning it to the previous revision ───────────> wait (ecs-rolled-back)
 *     it runs a revision this run did not deploy ──────────────────────> left-alone
 *     re-read just before UpdateService: still ours? ─ no ─> left-alone
 *     UpdateService back ─ refused ─> restore-failed (the command that finishes the job)
 *   wait for every restore: its new tasks failed too (its own circuit breaker) ─> return-failed
 *                                   (what DescribeServices lists; fix and deploy, not rollback)
 *                           any other failure, or unconfirmed ─> restore-failed
 *   every other service: unchanged
 */
import { kebabCase } from '../environment.js';
import type { AwsContext } from './clients.js';
import { AwsFailure, describeAwsFailure } from './errors.js';
import type { Restored, ServiceOutcome } from './rollout-failures.js';
import {
  describeServices,
  isTransient,
  replacedBy,
  watchRollouts,
  type Ours,
  type ServiceSnapshot,
  type Verdict,
} from './rollout.js';
import { deploymentViews } from './deploy-guard.js';
import { rolloutTimeoutMs, updateService, type StartedRollout } from './services.js';

/**
 * Pure: why `snapshot` is no longer ours to put back, and the revision it is on instead (what the
 * report names as where it ended up), or undefined when it is still ours.
 */
export function notOurs(
  snapshot: ServiceSnapshot | undefined,
  ours: Ours,
): { readonly why: string; readonly taskDefinition: string } | undefined {
  if (snapshot === undefined) {
    return { why: 'the service could not be found', taskDefinition: ours.taskDefinition };
  }
  const primary = replacedBy(snapshot, ours);
  if (primary !== undefined && !/circuit breaker/i.test(primary.rolloutStateReason ?? '')) {
    return {
      why: `deployment ${primary.id} of ${primary.taskDefinition} replaced ours (someone else deployed); undoing it would undo their work`,
      taskDefinition: primary.taskDefinition,
    };
  }
  if (snapshot.taskDefinition !== ours.taskDefinition) {
    return {
      why: `it runs ${snapshot.taskDefinition}, which this run did not deploy`,
      taskDefinition: snapshot.taskDefinition,
    };
  }
  return undefined;
}

/** DescribeServices, retrying transient failures a few times (a restore should not give up on one). */
async function readServices(
  ctx: AwsContext,
  names: readonly string[],
): Promise<Map<string, ServiceSnapshot> | string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await describeServices(ctx, names);
    } catch (error) {
      if (!(error instanceof AwsFailure)) throw error;
      if (!isTransient(error.failure) || attempt >= 4) return describeAwsFailure(error.failure);
      await ctx.clock.sleep(2000 * 2 ** attempt, ctx.signal);
    }
  }
}

interface Wait {
  readonly change: StartedRollout;
  readonly ours: Ours;
  readonly how: 'ecs-rolled-back' | 'updated-back';
}

/**
 * Puts each service this run moved back on its previous task definition, unless that would undo
 * someone else's deployment, and reports every service of `changes` (moved or not).
 */
export async function restoreServices(
  ctx: AwsContext,
  options: {
    /** The services this run updated, with the deployment each got. */
    readonly started: readonly StartedRollout[];
    /** The services this run meant to change but never updated (a later stage). */
    readonly notStarted?: readonly { key: string; service: string; previous: string | undefined }[];
    /** The watch's verdicts, when there were any: a superseded one is never restored. */
    readonly verdicts?: ReadonlyMap<string, Verdict>;
    readonly seen: Set<string>;
  },
): Promise<ServiceOutcome[]> {
  const outcomes = new Map<string, Restored>();
  const waits: Wait[] = [];
  const candidates: StartedRollout[] = [];
  for (const change of options.started) {
    const verdict = options.verdicts?.get(change.service);
    if (change.previous === undefined) {
      outcomes.set(change.service, { how: 'nothing-to-restore' });
    } else if (verdict?.state === 'failed' && verdict.cause === 'superseded') {
      // Where it ends up is theirs to decide: name the revision their deployment rolls out.
      outcomes.set(change.service, {
        how: 'left-alone',
        taskDefinition: verdict.replacedBy ?? change.taskDefinition,
        why: verdict.reason,
      });
    } else {
      candidates.push(change);
    }
  }
  const now =
    candidates.length === 0
      ? new Map<string, ServiceSnapshot>()
      : await readServices(
          ctx,
          candidates.map((c) => c.service),
        );
  for (const change of candidates) {
    const previous = change.previous ?? '';
    if (typeof now === 'string') {
      outcomes.set(change.service, {
        how: 'restore-failed',
        taskDefinition: previous,
        why: `could not read the service (${now})`,
      });
      continue;
    }
    const snapshot = now.get(change.service);
    const primary = snapshot?.deployments.find((d) => d.status === 'PRIMARY');
    if (primary !== undefined && primary.taskDefinition === previous) {
      ctx.log(`${change.service}: ECS is returning it to ${previous}; waiting for that`);
      waits.push({
        change,
        ours: { deploymentId: primary.id, taskDefinition: previous, createdAt: primary.createdAt },
        how: 'ecs-rolled-back',
      });
      continue;
    }
    outcomes.set(change.service, await updateBack(ctx, change, snapshot, waits));
  }
  if (waits.length > 0) {
    const watched = await watchRollouts(
      ctx,
      waits.map((w) => ({ service: w.change.service, ours: w.ours })),
      { timeoutMs: rolloutTimeoutMs(ctx), seen: options.seen },
    );
    for (const wait of waits) {
      const service = wait.change.service;
      outcomes.set(
        service,
        watched.interrupted
          ? { how: 'interrupted', deploymentId: wait.ours.deploymentId }
          : waited(wait, watched.verdicts.get(service), watched.snapshots.get(service)),
      );
    }
  }
  return [
    ...options.started.map((s) => ({
      service: s.service,
      key: kebabCase(s.key),
      restored: outcomes.get(s.service) ?? { how: 'nothing-to-restore' as const },
    })),
    ...(options.notStarted ?? []).map((s) => ({
      service: s.service,
      key: kebabCase(s.key),
      restored:
        s.previous === undefined
          ? { how: 'nothing-to-restore' as const }
          : { how: 'unchanged' as const, taskDefinition: s.previous },
    })),
  ];
}

/**
 * Where a watched return to the previous revision ended. Its own circuit breaker tripping
 * means the previous revision's new tasks fail too (return-failed, with the deployments
 * DescribeServices listed); any other failure leaves the return unconfirmed (restore-failed).
 */
function waited(
  wait: Wait,
  verdict: Exclude<Verdict, { state: 'in-progress' }> | undefined,
  snapshot: ServiceSnapshot | undefined,
): Restored {
  const previous = wait.change.previous ?? '';
  if (verdict === undefined) return { how: 'interrupted', deploymentId: wait.ours.deploymentId };
  if (verdict.state === 'succeeded') return { how: wait.how, taskDefinition: previous };
  if (verdict.cause === 'circuit-breaker') {
    return {
      how: 'return-failed',
      by: wait.how === 'ecs-rolled-back' ? 'ecs' : 'us',
      taskDefinition: previous,
      why: verdict.reason,
      deployments: deploymentViews(snapshot),
    };
  }
  return { how: 'restore-failed', taskDefinition: previous, why: verdict.reason };
}

/** The guard, re-checked on a fresh read right before UpdateService; then the update back. */
async function updateBack(
  ctx: AwsContext,
  change: StartedRollout,
  snapshot: ServiceSnapshot | undefined,
  waits: Wait[],
): Promise<Restored> {
  const previous = change.previous ?? '';
  const foreign =
    notOurs(snapshot, change.ours) ??
    (await readServices(ctx, [change.service]).then((fresh) =>
      typeof fresh === 'string' ? undefined : notOurs(fresh.get(change.service), change.ours),
    ));
  if (foreign !== undefined) return { how: 'left-alone', ...foreign };
  ctx.log(`${change.service}: updating it back to ${previous}`);
  try {
    const { ours } = await updateService(ctx, change.service, { taskDefinition: previous });
    if (ours === undefined) {
      return {
        how: 'restore-failed',
        taskDefinition: previous,
        why: 'UpdateService started no deployment',
      };
    }
    waits.push({ change, ours, how: 'updated-back' });
    return { how: 'updated-back', taskDefinition: previous };
  } catch (error) {
    if (!(error instanceof AwsFailure)) throw error;
    ctx.log(`${change.service}: could not update it back: ${describeAwsFailure(error.failure)}`);
    return {
      how: 'restore-failed',
      taskDefinition: previous,
      why: describeAwsFailure(error.failure),
    };
  }
}
