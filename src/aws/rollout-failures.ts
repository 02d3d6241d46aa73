/**
 * What can stop a rollout (a deploy's or a rollback's) once it is under way or about to start,
 * and where every service ended up: the data deploy.ts, services.ts, restore.ts and rollback.ts
 * throw as AwsFailure, and its words. describeAwsFailure (errors.ts) hands these to
 * `describeRolloutFailure`; errors.ts's `update-refused` reuses `describeOutcomes`.
 */
import { taskCommand } from './next-step.js';
import type { RolloutCause } from './rollout.js';
import { clause, sentence } from './sentence.js';

/** What stopped tasks of a failed rollout said, for the report. */
export interface StoppedTask {
  readonly taskId: string;
  readonly stoppedReason: string;
  readonly containers: readonly { name: string; exitCode: number | undefined; reason?: string }[];
  /** The last lines the task wrote to CloudWatch Logs (none when it wrote nothing). */
  readonly lastLines?: readonly string[];
}

/** One of a service's deployments as DescribeServices lists it, for a report. */
export interface DeploymentView {
  readonly id: string;
  /** PRIMARY or ACTIVE. */
  readonly status: string;
  readonly taskDefinition: string;
  readonly rolloutState: string | undefined;
  readonly desiredCount: number;
  readonly runningCount: number;
}

/** How a service ended up after a deploy (or rollback) failed. */
export type Restored =
  | { readonly how: 'ecs-rolled-back'; readonly taskDefinition: string }
  | { readonly how: 'updated-back'; readonly taskDefinition: string }
  | { readonly how: 'nothing-to-restore' }
  /** This run never changed it (a later stage, or it already ran its revision). */
  | { readonly how: 'unchanged'; readonly taskDefinition: string }
  /** Someone else's deployment replaced ours, or it runs a revision we did not deploy: theirs. */
  | { readonly how: 'left-alone'; readonly taskDefinition: string; readonly why: string }
  | { readonly how: 'restore-failed'; readonly taskDefinition: string; readonly why: string }
  /**
   * Returning to the previous revision started (ECS's circuit-breaker rollback, or our update
   * back) and its new tasks failed too: that revision fails now as well, so another rollback to
   * it would fail the same way.
   */
  | {
      readonly how: 'return-failed';
      readonly by: 'ecs' | 'us';
      readonly taskDefinition: string;
      readonly why: string;
      /** The service's deployments as DescribeServices listed them when the return failed. */
      readonly deployments: readonly DeploymentView[];
    }
  | { readonly how: 'interrupted'; readonly deploymentId: string | undefined };

/** One service's final state after a failed deploy or rollback; every service gets one. */
export interface ServiceOutcome {
  readonly service: string;
  /** The environment's key for it, as `rollback[key,revision]` takes it (kebab-case). */
  readonly key: string;
  readonly restored: Restored;
}

/** Which command failed: its report says so ("Rollback of staging failed"). */
export type Operation = 'deploy' | 'rollback';

export interface RolloutFailureDetail {
  readonly service: string;
  readonly deploymentId: string;
  readonly taskDefinition: string;
  readonly cause: RolloutCause;
  readonly reason: string;
  /** Newest last; messages as ECS wrote them. */
  readonly events: readonly string[];
  readonly stoppedTasks: readonly StoppedTask[];
}

export type RolloutFailure =
  | {
      readonly reason: 'deploy-in-progress';
      readonly environment: string;
      readonly service: string;
      readonly deploymentId: string;
      readonly taskDefinition: string;
    }
  | {
      /**
       * ECS's circuit-breaker rollback failed too: it starts no more tasks, and the deployment it
       * was returning to stays IN_PROGRESS until someone deploys (deploy-guard.ts).
       */
      readonly reason: 'rollback-stalled';
      readonly environment: string;
      readonly service: string;
      readonly deployments: readonly DeploymentView[];
    }
  | {
      /** Another run holds the environment's deploy lock (deploy-lock.ts). */
      readonly reason: 'deploy-locked';
      readonly environment: string;
      readonly cluster: string;
      readonly holder: string;
      readonly since: string;
      readonly expires: string;
      readonly runId: string;
    }
  | {
      readonly reason: 'no-previous-revision';
      readonly service: string;
      readonly family: string;
      readonly current: string;
    }
  | { readonly reason: 'revision-not-found'; readonly family: string; readonly revision: number }
  | {
      readonly reason: 'rollout-failed';
      readonly environment: string;
      /** Default 'deploy'. */
      readonly operation?: Operation;
      readonly failures: readonly RolloutFailureDetail[];
      readonly restored: readonly ServiceOutcome[];
    }
  | {
      readonly reason: 'smoke-check-failed';
      readonly environment: string;
      readonly url: string;
      readonly detail: string;
      readonly restored: readonly ServiceOutcome[];
    }
  | {
      readonly reason: 'interrupted';
      readonly environment: string;
      readonly waitingFor: string;
      readonly deployments: readonly { service: string; deploymentId: string }[];
    };

/** `family:revision` from a task definition ARN (or the text itself). */
export function shortArn(arn: string): string {
  return arn.split('/').at(-1) ?? arn;
}

/** "Deploy to" or "Rollback of", to start a report's first line. */
export function operationHeading(operation: Operation | undefined): string {
  return operation === 'rollback' ? 'Rollback of' : 'Deploy to';
}

function describeRestored(environment: string, outcome: ServiceOutcome): string {
  const { service, key, restored } = outcome;
  switch (restored.how) {
    case 'ecs-rolled-back':
      return `${service}: ECS rolled back to ${shortArn(restored.taskDefinition)}; it is serving that revision.`;
    case 'updated-back':
      return `${service}: updated back to ${shortArn(restored.taskDefinition)}; it is serving that revision.`;
    case 'nothing-to-restore':
      return `${service}: a new service, there is no earlier revision to return to.`;
    case 'unchanged':
      return `${service}: not changed by this run; still on ${shortArn(restored.taskDefinition)}.`;
    case 'left-alone':
      return `${service}: left as it is, on ${shortArn(restored.taskDefinition)}: ${sentence(restored.why)}`;
    case 'restore-failed': {
      const revision = /:(\d+)$/.exec(restored.taskDefinition)?.[1] ?? '';
      return `${service}: could NOT return to ${shortArn(restored.taskDefinition)}: ${sentence(restored.why)} It may still run the new revision; finish the job with ${taskCommand(environment, `rollback[${key},${revision}]`)}.`;
    }
    case 'return-failed':
      return describeReturnFailed(environment, service, restored);
    case 'interrupted':
      return `${service}: interrupted while returning to the previous revision${restored.deploymentId === undefined ? '' : ` (deployment ${restored.deploymentId})`}; follow it with ${taskCommand(environment, 'status')}.`;
  }
}

/**
 * A return to the previous revision whose new tasks failed too. The old revision is no way out
 * then, so the next step is a fix and a new deploy, never `rollback` to it. When it was ECS's own
 * rollback that failed, the Developer Guide says what follows: once a rollback starts, the
 * deployment it returns to "is not eligible for another rollback until it reaches a COMPLETED
 * state", and "when the deployment circuit breaker does not find a deployment that is in a
 * COMPLETED state, the circuit breaker does not launch new tasks and the deployment is stalled";
 * it advises taking "manual action to start your deployment"
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html).
 * Whatever still serves is what DescribeServices lists, so the report shows that list.
 */
function describeReturnFailed(
  environment: string,
  service: string,
  restored: Extract<Restored, { how: 'return-failed' }>,
): string {
  const target = shortArn(restored.taskDefinition);
  const what =
    restored.by === 'ecs'
      ? `ECS's rollback failed too (${clause(restored.why)}), and ECS does not roll a rollback back: it starts no more tasks, the rollback is stalled`
      : `updating it back failed too (${clause(restored.why)})`;
  // A deployment left IN_PROGRESS (the one ECS's rollback returns to, stalled or still trying)
  // makes a plain deploy refuse (deploy-guard.ts): the way out is a forced one.
  const blocked = restored.deployments.some((d) => d.rolloutState === 'IN_PROGRESS');
  const deployAgain = blocked
    ? `deploy over it with ${taskCommand(environment, 'deploy -- --force')} (while a deployment stays IN_PROGRESS a plain deploy refuses)`
    : `deploy again with ${taskCommand(environment, 'deploy')}`;
  return [
    `${service}: could NOT return to ${target}: ${what}. Its deployments, as DescribeServices lists them:`,
    ...deploymentLines(restored.deployments),
    `    New tasks of ${target} fail now as well, so rolling back to it would fail the same way. Find the cause in the failed tasks' logs (${taskCommand(environment, 'logs')}), fix it, then ${deployAgain}; ${taskCommand(environment, 'status')} shows the service meanwhile.`,
  ].join('\n');
}

function deploymentLines(deployments: readonly DeploymentView[]): string[] {
  return deployments.map(
    (d) =>
      `    ${d.status} ${d.id} ${shortArn(d.taskDefinition)} ${d.rolloutState ?? '-'}: ${d.runningCount} of ${d.desiredCount} tasks running`,
  );
}

/** Every service's final state, under one heading. */
export function describeOutcomes(
  environment: string,
  outcomes: readonly ServiceOutcome[],
): string[] {
  if (outcomes.length === 0) return [];
  return [
    'Where each service is now:',
    ...outcomes.map((o) => `  ${describeRestored(environment, o)}`),
  ];
}

function describeRollout(detail: RolloutFailureDetail): string {
  const lines = [
    `${detail.service}: deployment ${detail.deploymentId} (${shortArn(detail.taskDefinition)}) failed: ${sentence(detail.reason)}`,
  ];
  if (detail.stoppedTasks.length > 0) {
    lines.push('  stopped tasks:');
    for (const stopped of detail.stoppedTasks) {
      const codes = stopped.containers
        .map((c) => `${c.name} exit ${c.exitCode ?? '-'}${c.reason ? ` (${c.reason})` : ''}`)
        .join(', ');
      lines.push(`    ${stopped.taskId}: ${stopped.stoppedReason}${codes ? `; ${codes}` : ''}`);
      for (const line of stopped.lastLines ?? []) lines.push(`      | ${line}`);
    }
  }
  if (detail.events.length > 0) {
    lines.push('  last events:');
    for (const event of detail.events) lines.push(`    ${event}`);
  }
  return lines.join('\n');
}

export function describeRolloutFailure(failure: RolloutFailure): string {
  switch (failure.reason) {
    case 'deploy-in-progress':
      return `Another deployment is in progress on ${failure.service} (${failure.deploymentId}, ${shortArn(failure.taskDefinition)}): wait for it (${taskCommand(failure.environment, 'status')}) or deploy anyway with ${taskCommand(failure.environment, 'deploy -- --force')}.`;
    case 'rollback-stalled':
      return [
        `${failure.service} is in a stalled ECS rollback: a deployment failed, ECS's circuit-breaker rollback to the last completed one failed too, and ECS starts no more tasks, so the deployment it returns to stays IN_PROGRESS until someone deploys over it (no one else is deploying; waiting will not end it). Nothing was changed. Its deployments, as DescribeServices lists them:`,
        ...deploymentLines(failure.deployments),
        `Find the cause in the failed tasks' logs (${taskCommand(failure.environment, 'logs')}), fix it, then deploy over the stalled rollback with ${taskCommand(failure.environment, 'deploy -- --force')}.`,
      ].join('\n');
    case 'deploy-locked':
      return `Another deploy of ${failure.environment} is running: started by ${failure.holder} at ${failure.since} (run ${failure.runId}, lock on cluster ${failure.cluster}). Nothing was changed. Wait for it to finish (${taskCommand(failure.environment, 'status')}) and deploy again; a lock left by a run that died expires at ${failure.expires}.`;
    case 'no-previous-revision':
      return `${failure.service} runs ${shortArn(failure.current)} and no earlier ACTIVE revision of ${failure.family} completed a rollout on it, so there is nothing known to work to roll back to: name one with rollback[service,revision].`;
    case 'revision-not-found':
      return `${failure.family}:${failure.revision} does not exist or is INACTIVE: list revisions with \`aws ecs list-task-definitions --family-prefix ${failure.family}\`.`;
    case 'rollout-failed':
      return [
        `${operationHeading(failure.operation)} ${failure.environment} failed.`,
        ...failure.failures.map(describeRollout),
        ...describeOutcomes(failure.environment, failure.restored),
        `Fix the cause, then ${failure.operation === 'rollback' ? 'roll back' : 'deploy'} again; ${taskCommand(failure.environment, 'status')} shows where each service is.`,
      ].join('\n');
    case 'smoke-check-failed':
      return [
        `Deploy to ${failure.environment} failed: the smoke check ${failure.url} did not answer 200 (${failure.detail}).`,
        ...describeOutcomes(failure.environment, failure.restored),
      ].join('\n');
    case 'interrupted':
      return [
        `Interrupted: stopped waiting for ${failure.waitingFor}; the rollout itself goes on in ECS.`,
        ...failure.deployments.map((d) => `  ${d.service}: deployment ${d.deploymentId}`),
        `Follow it with ${taskCommand(failure.environment, 'status')}.`,
      ].join('\n');
  }
}
