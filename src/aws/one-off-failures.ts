/**
 * What can go wrong with a one-off ECS task: the deploy's migration (migration.ts) and
 * ENV:run / ENV:artisan (one-off.ts). Both are RunTask with a service's task definition, so they
 * fail the same ways: not placed, a non-zero exit, or no end in time. Thrown as AwsFailure and
 * rendered through describeAwsFailure (errors.ts), which hands these to `describeOneOffFailure`.
 */
import { taskCommand } from './next-step.js';
import { shortArn, type StoppedTask } from './rollout-failures.js';
import { sentence } from './sentence.js';

export type OneOffFailure =
  | {
      readonly reason: 'migration-not-started';
      readonly environment: string;
      readonly cluster: string;
      readonly taskDefinition: string;
      /** RunTask's `failures`, as ECS gave them (RESOURCE:MEMORY, capacity unavailable...). */
      readonly failures: readonly { reason: string; detail?: string; arn?: string }[];
    }
  | {
      readonly reason: 'migration-failed';
      readonly environment: string;
      readonly taskId: string;
      /** The container the command ran in: the only one whose exit code is the verdict. */
      readonly container: string;
      readonly exitCode: number | undefined;
      /** ECS's stopCode (EssentialContainerExited, TaskFailedToStart...). */
      readonly stopCode: string | undefined;
      readonly stoppedReason: string;
      readonly containers: StoppedTask['containers'];
    }
  | {
      readonly reason: 'migration-timeout';
      readonly environment: string;
      readonly cluster: string;
      readonly taskId: string;
      readonly seconds: number;
      /** Why StopTask was refused; absent when the task was asked to stop. */
      readonly stopFailed?: string;
    }
  | {
      readonly reason: 'run-not-started';
      readonly environment: string;
      readonly service: string;
      readonly failures: readonly string[];
    }
  | { readonly reason: 'run-interrupted'; readonly environment: string; readonly taskId: string };

export function describeOneOffFailure(failure: OneOffFailure): string {
  switch (failure.reason) {
    case 'migration-not-started':
      return `ECS did not start the migration task (RunTask with ${shortArn(failure.taskDefinition)} placed no task): ${sentence(failure.failures.map((f) => `${f.reason}${f.detail ? ` (${f.detail})` : ''}`).join('; ') || 'no reason given')} No migration ran and no service was changed. Free capacity in cluster ${failure.cluster} (or fix the placement constraints), then run ${taskCommand(failure.environment, 'deploy')} again.`;
    case 'migration-failed': {
      const others = failure.containers
        .filter((c) => c.name !== failure.container)
        .map((c) => `${c.name} ${c.exitCode ?? '-'}`);
      const what =
        failure.exitCode === undefined
          ? `${failure.container} never exited (the task did not run: ${failure.stopCode ?? 'no stop code'}: ${failure.stoppedReason})`
          : `${failure.container} exited ${failure.exitCode} (${failure.stopCode ?? 'no stop code'}: ${failure.stoppedReason})`;
      const next =
        failure.stopCode === 'TaskFailedToStart'
          ? `Check that the image exists in ECR and that the task execution role can pull it and read its secrets, then run ${taskCommand(failure.environment, 'deploy')} again.`
          : `Read its logs in CloudWatch, fix the migration, and run ${taskCommand(failure.environment, 'deploy')} again.`;
      return `The migration task ${failure.taskId} failed: ${what}${others.length > 0 ? `; other containers, not judged: ${others.join(', ')}` : ''}. No service was changed. ${next}`;
    }
    case 'migration-timeout':
      return failure.stopFailed === undefined
        ? `The migration task ${failure.taskId} did not stop within ${failure.seconds} s, so it was stopped (StopTask) and no service was changed. Find out why it hangs (its logs are in CloudWatch) before running ${taskCommand(failure.environment, 'deploy')} again.`
        : `The migration task ${failure.taskId} did not stop within ${failure.seconds} s and could NOT be stopped (${failure.stopFailed}): it may still be running. Stop it with \`aws ecs stop-task --cluster ${failure.cluster} --task ${failure.taskId}\` before deploying again; no service was changed.`;
    case 'run-not-started':
      return `The one-off task on ${failure.service}'s task definition did not start: ${sentence(failure.failures.join('; ') || 'ECS gave no reason')} Check capacity and the service with ${taskCommand(failure.environment, 'status')}.`;
    case 'run-interrupted':
      return `Interrupted: stopped the one-off task ${failure.taskId} (StopTask); it gets SIGTERM, then SIGKILL after its stop timeout.`;
  }
}
