/**
 * The in-progress guard: what a deploy that does not `--force` its way must not race, checked
 * before anything is registered and again right before each UpdateService (services.ts).
 *
 *   a deployment IN_PROGRESS? ─ no ──────────────────────────────> go ahead
 *        └─ yes: PRIMARY FAILED beside it (ECS's rollback failed) ─> rollback-stalled
 *           otherwise (someone's rollout, or ECS's rollback running) ─> deploy-in-progress
 */
import type { DeploymentView, RolloutFailure } from './rollout-failures.js';
import type { DeploymentSnapshot, ServiceSnapshot } from './rollout.js';

/** What stands in the way of a deploy (one that does not `--force` its way). */
export type InTheWay =
  | { readonly kind: 'in-progress'; readonly deployment: DeploymentSnapshot }
  | { readonly kind: 'rollback-stalled' };

/**
 * Pure: a deployment in progress that this run did not start, if any, or ECS's own rollback,
 * stalled. When the circuit breaker rolls back, the deployment it returns to "changes from a
 * COMPLETED to IN_PROGRESS"; when that rollback fails too there is no COMPLETED deployment left,
 * "the circuit breaker does not launch new tasks and the deployment is stalled", and the guide
 * says to "take manual action to start your deployment"
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html).
 * That IN_PROGRESS never ends on its own, so waiting for it is the wrong advice: a FAILED PRIMARY
 * beside an IN_PROGRESS deployment is that stall (a rollback under way has an IN_PROGRESS PRIMARY).
 */
export function foreignDeployment(snapshot: ServiceSnapshot): InTheWay | undefined {
  const running = snapshot.deployments.find((d) => d.rolloutState === 'IN_PROGRESS');
  if (running === undefined) return undefined;
  const primary = snapshot.deployments.find((d) => d.status === 'PRIMARY');
  return primary?.rolloutState === 'FAILED' && running !== primary
    ? { kind: 'rollback-stalled' }
    : { kind: 'in-progress', deployment: running };
}

/** A service's deployments for a report, as DescribeServices lists them. */
export function deploymentViews(snapshot: ServiceSnapshot | undefined): DeploymentView[] {
  return (snapshot?.deployments ?? []).map((d) => ({
    id: d.id,
    status: d.status,
    taskDefinition: d.taskDefinition,
    rolloutState: d.rolloutState,
    desiredCount: d.desiredCount,
    runningCount: d.runningCount,
  }));
}

/** Pure: why a deploy (not forced) must not update `service` now, or undefined when it may. */
export function guardRefusal(
  environment: string,
  service: string,
  snapshot: ServiceSnapshot,
): RolloutFailure | undefined {
  const inTheWay = foreignDeployment(snapshot);
  if (inTheWay === undefined) return undefined;
  switch (inTheWay.kind) {
    case 'rollback-stalled':
      return {
        reason: 'rollback-stalled',
        environment,
        service,
        deployments: deploymentViews(snapshot),
      };
    case 'in-progress':
      return {
        reason: 'deploy-in-progress',
        environment,
        service,
        deploymentId: inTheWay.deployment.id,
        taskDefinition: inTheWay.deployment.taskDefinition,
      };
  }
}
