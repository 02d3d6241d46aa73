/**
 * Every way an ECR/ECS command can fail for a reason the user can act on, as data.
 * `describeAwsFailure` is the one place these become words: each names the thing (service,
 * cluster, action, resource) and the next step. Anything else thrown from src/aws/ is a bug.
 *
 * Inside src/aws/ an adapter that meets an expected failure throws `AwsFailure` carrying the data;
 * every exported command catches it at its boundary (`runCommand`) and returns `{ ok: false }`.
 */
import type { RolloutCause } from './rollout.js';
import { describeFindings, type VerifyFinding } from './verify-problems.js';

/** What stopped tasks of a failed rollout said, for the report. */
export interface StoppedTask {
  readonly taskId: string;
  readonly stoppedReason: string;
  readonly containers: readonly { name: string; exitCode: number | undefined; reason?: string }[];
  /** The last lines the task wrote to CloudWatch Logs (none when it wrote nothing). */
  readonly lastLines?: readonly string[];
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

export type AwsFailureData =
  // --- the account and its permissions ---
  | { readonly reason: 'no-credentials'; readonly action: string; readonly detail: string }
  | {
      readonly reason: 'bad-credentials';
      readonly action: string;
      readonly code: string;
      readonly detail: string;
    }
  | {
      readonly reason: 'access-denied';
      readonly action: string;
      readonly resource: string;
      readonly detail: string;
    }
  | {
      readonly reason: 'throttled';
      readonly action: string;
      readonly resource: string;
      readonly attempts: number;
    }
  | { readonly reason: 'unreachable'; readonly action: string; readonly detail: string }
  | {
      readonly reason: 'aws-error';
      readonly action: string;
      readonly resource: string;
      readonly code: string;
      readonly detail: string;
    }
  // --- what the environment expects to find ---
  | {
      readonly reason: 'wrong-account';
      readonly environment: string;
      readonly expected: string;
      readonly found: string;
      /** The caller's ARN from GetCallerIdentity, when known. */
      readonly caller?: string;
    }
  | { readonly reason: 'cluster-missing'; readonly environment: string; readonly cluster: string }
  | {
      readonly reason: 'services-missing';
      readonly environment: string;
      readonly cluster: string;
      readonly services: readonly string[];
    }
  | {
      readonly reason: 'services-not-active';
      readonly environment: string;
      readonly cluster: string;
      /** DRAINING (deleted, tasks stopping) or INACTIVE (deleted). */
      readonly services: readonly { name: string; status: string }[];
    }
  | {
      /**
       * ECS or ECR refused a call for a reason with a known fix. The environment is not known
       * where the SDK error is caught; the renderer's context supplies it.
       */
      readonly reason: 'aws-refused';
      readonly code:
        | 'ClusterNotFoundException'
        | 'ServiceNotActiveException'
        | 'ServiceNotFoundException'
        | 'InvalidParameterException';
      readonly action: string;
      readonly resource: string;
      readonly detail: string;
    }
  | {
      readonly reason: 'services-exist';
      readonly environment: string;
      readonly cluster: string;
      readonly services: readonly string[];
    }
  | {
      readonly reason: 'deploy-in-progress';
      readonly environment: string;
      readonly service: string;
      readonly deploymentId: string;
      readonly taskDefinition: string;
    }
  | {
      readonly reason: 'unknown-service';
      readonly environment: string;
      readonly given: string;
      /** The keys of the environment's services, as a user may type them. */
      readonly known: readonly string[];
    }
  | {
      readonly reason: 'no-previous-revision';
      readonly service: string;
      readonly family: string;
      readonly current: string;
    }
  | { readonly reason: 'revision-not-found'; readonly family: string; readonly revision: number }
  // --- a deploy that started and did not finish ---
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
      /** An UpdateService was refused mid-way (throttled past retries, access denied...). */
      readonly reason: 'update-refused';
      readonly environment: string;
      readonly operation: Operation;
      readonly service: string;
      readonly refused: AwsFailureData;
      readonly restored: readonly ServiceOutcome[];
    }
  | {
      readonly reason: 'interrupted';
      readonly environment: string;
      readonly waitingFor: string;
      readonly deployments: readonly { service: string; deploymentId: string }[];
    }
  // --- ECR and docker ---
  | { readonly reason: 'no-docker'; readonly environment: string }
  | {
      readonly reason: 'docker-failed';
      readonly step: 'tag' | 'push';
      readonly ref: string;
      readonly detail: string;
    }
  | { readonly reason: 'no-registry-token'; readonly environment: string }
  | {
      /** ECR holds another image under our tag (compared by config digest, not by tag). */
      readonly reason: 'image-tag-conflict';
      readonly environment: string;
      readonly repository: string;
      readonly tag: string;
      readonly source: string;
      /** The local image id; empty when docker could not say. */
      readonly local: string;
      readonly remote: string;
      readonly immutable: boolean;
      readonly when: string;
    }
  // --- one-off tasks (src/aws/one-off.ts) ---
  | {
      readonly reason: 'run-not-started';
      readonly environment: string;
      readonly service: string;
      readonly failures: readonly string[];
    }
  | { readonly reason: 'run-interrupted'; readonly environment: string; readonly taskId: string }
  // --- verify (src/aws/verify.ts) ---
  | {
      readonly reason: 'verify-failed';
      readonly environment: string;
      readonly findings: readonly VerifyFinding[];
      readonly fixed: readonly string[];
    };

/** Carries an expected failure from deep in an adapter to the command's boundary. */
export class AwsFailure extends Error {
  override readonly name = 'AwsFailure';

  constructor(readonly failure: AwsFailureData) {
    super(failure.reason);
  }
}

export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly failure: AwsFailureData };

/** Runs a command body; expected failures become `{ ok: false }`, bugs still throw. */
export async function runCommand<T>(body: () => Promise<T>): Promise<Result<T>> {
  try {
    return { ok: true, value: await body() };
  } catch (error) {
    if (error instanceof AwsFailure) return { ok: false, failure: error.failure };
    throw error;
  }
}

interface SdkErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  $metadata?: { attempts?: number; httpStatusCode?: number };
}

/** The AWS error code (`AccessDeniedException`...) of an SDK error, or undefined. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const name = (error as SdkErrorShape).name;
  return typeof name === 'string' ? name : undefined;
}

const BAD_CREDENTIALS = new Set([
  'ExpiredTokenException',
  'ExpiredToken',
  'RequestExpired',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'InvalidClientTokenId',
  'TokenRefreshRequired',
]);
const THROTTLED = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);
type Refused = Extract<AwsFailureData, { reason: 'aws-refused' }>['code'];
const REFUSED = new Set<string>([
  'ClusterNotFoundException',
  'ServiceNotActiveException',
  'ServiceNotFoundException',
  'InvalidParameterException',
] satisfies Refused[]);
const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN']);

/**
 * What an SDK error means, for `action` (`ecs:UpdateService`) on `resource`. Errors that are not
 * from the SDK (bugs) give undefined, so the caller rethrows them.
 */
export function classifyAwsError(
  error: unknown,
  action: string,
  resource: string,
): AwsFailureData | undefined {
  if (!(error instanceof Error)) return undefined;
  const shape = error as SdkErrorShape;
  const name = error.name;
  const detail = error.message;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(detail)) {
    return { reason: 'no-credentials', action, detail };
  }
  if (BAD_CREDENTIALS.has(name)) return { reason: 'bad-credentials', action, code: name, detail };
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    const denied = /not authorized to perform: (\S+) on resource: (\S+)/.exec(detail);
    return {
      reason: 'access-denied',
      action: denied?.[1] ?? action,
      resource: denied?.[2] ?? resource,
      detail,
    };
  }
  if (THROTTLED.has(name)) {
    return { reason: 'throttled', action, resource, attempts: shape.$metadata?.attempts ?? 1 };
  }
  if (REFUSED.has(name)) {
    return { reason: 'aws-refused', code: name as Refused, action, resource, detail };
  }
  if (typeof shape.code === 'string' && NETWORK.has(shape.code)) {
    return { reason: 'unreachable', action, detail };
  }
  if (shape.$metadata !== undefined) {
    return { reason: 'aws-error', action, resource, code: name, detail };
  }
  return undefined;
}

/** Runs one SDK call; an AWS error becomes an AwsFailure naming the action and resource. */
export async function awsCall<T>(
  action: string,
  resource: string,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AwsFailure) throw error;
    const failure = classifyAwsError(error, action, resource);
    if (failure === undefined) throw error;
    throw new AwsFailure(failure);
  }
}

function task(environment: string, name: string): string {
  return `\`npx task ${environment}:${name}\``;
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
      return `${service}: left as it is, on ${shortArn(restored.taskDefinition)}: ${restored.why}.`;
    case 'restore-failed': {
      const revision = /:(\d+)$/.exec(restored.taskDefinition)?.[1] ?? '';
      return `${service}: could NOT return to ${shortArn(restored.taskDefinition)}: ${restored.why}. It may still run the new revision; finish the job with ${task(environment, `rollback[${key},${revision}]`)}.`;
    }
    case 'interrupted':
      return `${service}: interrupted while returning to the previous revision${restored.deploymentId === undefined ? '' : ` (deployment ${restored.deploymentId})`}; follow it with ${task(environment, 'status')}.`;
  }
}

/** Every service's final state, under one heading. */
function describeOutcomes(environment: string, outcomes: readonly ServiceOutcome[]): string[] {
  if (outcomes.length === 0) return [];
  return [
    'Where each service is now:',
    ...outcomes.map((o) => `  ${describeRestored(environment, o)}`),
  ];
}

function capitalised(operation: Operation | undefined): string {
  return operation === 'rollback' ? 'Rollback of' : 'Deploy to';
}

/** `family:revision` from a task definition ARN (or the text itself). */
export function shortArn(arn: string): string {
  return arn.split('/').at(-1) ?? arn;
}

function describeRollout(detail: RolloutFailureDetail): string {
  const lines = [
    `${detail.service}: deployment ${detail.deploymentId} (${shortArn(detail.taskDefinition)}) failed: ${detail.reason}`,
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

/** What the renderer knows that an SDK error did not carry. */
export interface DescribeContext {
  /** The environment the command ran for; names the task that fixes things. */
  readonly environment?: string;
}

/** ECS/ECR refusals with a known fix: what is wrong, then the command that fixes it. */
function describeRefused(
  failure: Extract<AwsFailureData, { reason: 'aws-refused' }>,
  environment: string,
): string {
  const said = `(${failure.code} from ${failure.action}: ${failure.detail})`;
  switch (failure.code) {
    case 'ClusterNotFoundException':
      return `ECS has no cluster for ${failure.resource} ${said}: it was deleted, or AWS_REGION/aws.region points at another region. Check environments/${environment}.ts's aws.region and ecs.cluster; if the cluster is really gone, create it with ${task(environment, 'create')}.`;
    case 'ServiceNotActiveException':
      return `The service ${failure.resource} is no longer ACTIVE ${said}: it was deleted (DRAINING, then INACTIVE) while this command ran. Once it is INACTIVE, recreate it with ${task(environment, 'create')}, then run ${task(environment, 'deploy')}.`;
    case 'ServiceNotFoundException':
      return `ECS has no service ${failure.resource} ${said}. Create it with ${task(environment, 'create')}.`;
    case 'InvalidParameterException':
      return failure.action.startsWith('ecr:')
        ? `ECR rejected a parameter of ${failure.action} on ${failure.resource}: ${failure.detail}. Fix the ecr settings in environments/${environment}.ts, then run ${task(environment, 'push')} again.`
        : `ECS rejected a parameter of ${failure.action} on ${failure.resource}: ${failure.detail}. The value comes from environments/${environment}.ts or config-templates/ecs/: fix it, check the result with ${task(environment, 'render')} and ${task(environment, 'diff')}, then run the task again.`;
  }
}

export function describeAwsFailure(failure: AwsFailureData, context: DescribeContext = {}): string {
  switch (failure.reason) {
    case 'services-not-active': {
      const listed = failure.services.map((s) => `${s.name} is ${s.status}`).join(', ');
      const draining = failure.services.some((s) => s.status === 'DRAINING');
      return `In cluster ${failure.cluster}, ${listed}: a deleted service cannot be deployed to. Nothing was registered, migrated or updated. ${draining ? 'Wait until it is INACTIVE (its tasks are stopping), then recreate' : 'Recreate'} it with ${task(failure.environment, 'create')}.`;
    }
    case 'aws-refused':
      return describeRefused(failure, context.environment ?? 'ENV');
    case 'no-credentials':
      return `No AWS credentials found (calling ${failure.action}): set AWS_PROFILE (and run \`aws sso login\` if it uses SSO) or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then run the task again.`;
    case 'bad-credentials':
      return `AWS refused the credentials as expired or invalid (${failure.code}, calling ${failure.action}): refresh them (e.g. \`aws sso login\`) and run the task again.`;
    case 'access-denied':
      return `Access denied: the deploying identity may not perform ${failure.action} on ${failure.resource}. Grant that action in its IAM policy, or use a profile that has it. (AWS: ${failure.detail})`;
    case 'throttled':
      return `AWS kept throttling ${failure.action} on ${failure.resource}: the SDK retried with backoff ${failure.attempts} times and gave up. Wait a minute and run the task again (AWS_MAX_ATTEMPTS raises the retry budget).`;
    case 'unreachable':
      return `Could not reach AWS for ${failure.action} (${failure.detail}): check the network, AWS_REGION and any AWS_ENDPOINT_URL_* variables.`;
    case 'aws-error':
      return `${failure.action} on ${failure.resource} failed: ${failure.code}: ${failure.detail}`;
    case 'wrong-account':
      return `The AWS credentials reach account ${failure.found}${failure.caller ? ` (as ${failure.caller})` : ''}, but environments/${failure.environment}.ts deploys to account ${failure.expected}; nothing was changed. Switch AWS_PROFILE (or credentials) to account ${failure.expected} and run the task again.`;
    case 'cluster-missing':
      return `Cluster ${failure.cluster} does not exist: create it and the services with ${task(failure.environment, 'create')}.`;
    case 'services-missing':
      return `Service${failure.services.length > 1 ? 's' : ''} ${failure.services.join(', ')} not found in cluster ${failure.cluster}: create ${failure.services.length > 1 ? 'them' : 'it'} with ${task(failure.environment, 'create')}.`;
    case 'services-exist':
      return `Services ${failure.services.join(', ')} already exist in cluster ${failure.cluster}; ${task(failure.environment, 'create')} never touches existing services. Use ${task(failure.environment, 'deploy')} to change them.`;
    case 'deploy-in-progress':
      return `Another deployment is in progress on ${failure.service} (${failure.deploymentId}, ${shortArn(failure.taskDefinition)}): wait for it (${task(failure.environment, 'status')}) or deploy anyway with ${task(failure.environment, 'deploy -- --force')}.`;
    case 'unknown-service':
      return `No service ${JSON.stringify(failure.given)} in environment ${failure.environment}: use one of ${failure.known.join(', ')}, or a service name from environments/${failure.environment}.ts.`;
    case 'no-previous-revision':
      return `${failure.service} runs ${shortArn(failure.current)} and no earlier ACTIVE revision of ${failure.family} completed a rollout on it, so there is nothing known to work to roll back to: name one with rollback[service,revision].`;
    case 'revision-not-found':
      return `${failure.family}:${failure.revision} does not exist or is INACTIVE: list revisions with \`aws ecs list-task-definitions --family-prefix ${failure.family}\`.`;
    case 'migration-not-started':
      return `ECS did not start the migration task (RunTask with ${shortArn(failure.taskDefinition)} placed no task): ${failure.failures.map((f) => `${f.reason}${f.detail ? ` (${f.detail})` : ''}`).join('; ') || 'no reason given'}. No migration ran and no service was changed. Free capacity in cluster ${failure.cluster} (or fix the placement constraints), then run ${task(failure.environment, 'deploy')} again.`;
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
          ? `Check that the image exists in ECR and that the task execution role can pull it and read its secrets, then run ${task(failure.environment, 'deploy')} again.`
          : `Read its logs in CloudWatch, fix the migration, and run ${task(failure.environment, 'deploy')} again.`;
      return `The migration task ${failure.taskId} failed: ${what}${others.length > 0 ? `; other containers, not judged: ${others.join(', ')}` : ''}. No service was changed. ${next}`;
    }
    case 'migration-timeout':
      return failure.stopFailed === undefined
        ? `The migration task ${failure.taskId} did not stop within ${failure.seconds} s, so it was stopped (StopTask) and no service was changed. Find out why it hangs (its logs are in CloudWatch) before running ${task(failure.environment, 'deploy')} again.`
        : `The migration task ${failure.taskId} did not stop within ${failure.seconds} s and could NOT be stopped (${failure.stopFailed}): it may still be running. Stop it with \`aws ecs stop-task --cluster ${failure.cluster} --task ${failure.taskId}\` before deploying again; no service was changed.`;
    case 'rollout-failed':
      return [
        `${capitalised(failure.operation)} ${failure.environment} failed.`,
        ...failure.failures.map(describeRollout),
        ...describeOutcomes(failure.environment, failure.restored),
        `Fix the cause, then ${failure.operation === 'rollback' ? 'roll back' : 'deploy'} again; ${task(failure.environment, 'status')} shows where each service is.`,
      ].join('\n');
    case 'smoke-check-failed':
      return [
        `Deploy to ${failure.environment} failed: the smoke check ${failure.url} did not answer 200 (${failure.detail}).`,
        ...describeOutcomes(failure.environment, failure.restored),
      ].join('\n');
    case 'deploy-locked':
      return `Another deploy of ${failure.environment} is running: started by ${failure.holder} at ${failure.since} (run ${failure.runId}, lock on cluster ${failure.cluster}). Nothing was changed. Wait for it to finish (${task(failure.environment, 'status')}) and deploy again; a lock left by a run that died expires at ${failure.expires}.`;
    case 'update-refused':
      return [
        `${capitalised(failure.operation)} ${failure.environment} failed: updating ${failure.service} was refused. ${describeAwsFailure(failure.refused, { environment: failure.environment })}`,
        ...describeOutcomes(failure.environment, failure.restored),
      ].join('\n');
    case 'interrupted':
      return [
        `Interrupted: stopped waiting for ${failure.waitingFor}; the rollout itself goes on in ECS.`,
        ...failure.deployments.map((d) => `  ${d.service}: deployment ${d.deploymentId}`),
        `Follow it with ${task(failure.environment, 'status')}.`,
      ].join('\n');
    case 'no-docker':
      return `Pushing images for ${failure.environment} needs Docker, and none was given to the task.`;
    case 'docker-failed':
      return `docker ${failure.step} ${failure.ref} failed: ${failure.detail}`;
    case 'run-not-started':
      return `The one-off task on ${failure.service}'s task definition did not start: ${failure.failures.join('; ') || 'ECS gave no reason'}. Check capacity and the service with ${task(failure.environment, 'status')}.`;
    case 'run-interrupted':
      return `Interrupted: stopped the one-off task ${failure.taskId} (StopTask); it gets SIGTERM, then SIGKILL after its stop timeout.`;
    case 'verify-failed':
      return `Verify found what a deploy to ${failure.environment} would fail on:\n${describeFindings(failure.environment, failure.findings, failure.fixed)}`;
    case 'image-tag-conflict':
      return [
        `ECR's ${failure.repository}:${failure.tag} holds a different image (config ${failure.remote}) than the local ${failure.source} (${failure.local || 'unknown id'}), found ${failure.when}.`,
        failure.immutable
          ? 'The repository has immutable tags, so this push cannot replace it, and a deploy would run the image in ECR, not this one.'
          : 'A deploy would run whichever image the tag holds last.',
        `The tag is a content hash of the build's inputs, so another machine built different bytes from the same inputs. If nothing runs the ECR image, remove it (\`aws ecr batch-delete-image --repository-name ${failure.repository} --image-ids imageTag=${failure.tag}\`) and run ${task(failure.environment, 'push')} again; otherwise find what makes the build differ.`,
      ].join(' ');
    case 'no-registry-token':
      return `ECR returned no authorization token for ${failure.environment}: check ecr:GetAuthorizationToken in the IAM policy.`;
  }
}
