/**
 * Every way an ECR/ECS command can fail for a reason the user can act on, as data.
 * `describeAwsFailure` is the one place these become words: each names the thing (service,
 * cluster, action, resource) and the next step. Anything else thrown from src/aws/ is a bug.
 *
 * The union is composed by concept: the account and the environment's expectations live here
 * (with the SDK error classification that produces most of them); ECR pushes, rollouts and
 * one-off tasks each have a module of their own (*-failures.ts) with their data and words, and
 * verify's findings are verify-problems.ts's. describeAwsFailure's switch is exhaustive over the
 * whole union and hands each family to its module's renderer.
 *
 * Inside src/aws/ an adapter that meets an expected failure throws `AwsFailure` carrying the data;
 * every exported command catches it at its boundary (`runCommand`) and returns `{ ok: false }`.
 */
import { describeEcrFailure, type EcrFailure } from './ecr-failures.js';
import { taskCommand } from './next-step.js';
import { describeOneOffFailure, type OneOffFailure } from './one-off-failures.js';
import {
  describeOutcomes,
  describeRolloutFailure,
  operationHeading,
  type Operation,
  type RolloutFailure,
  type ServiceOutcome,
} from './rollout-failures.js';
import { sentence } from './sentence.js';
import { describeFindings, type PreflightOf, type VerifyFinding } from './verify-problems.js';

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
      readonly reason: 'unknown-service';
      readonly environment: string;
      readonly given: string;
      /** The keys of the environment's services, as a user may type them. */
      readonly known: readonly string[];
    }
  // --- a deploy or rollback that started and did not finish ---
  | {
      /** An UpdateService was refused mid-way (throttled past retries, access denied...). */
      readonly reason: 'update-refused';
      readonly environment: string;
      readonly operation: Operation;
      readonly service: string;
      readonly refused: AwsFailureData;
      readonly restored: readonly ServiceOutcome[];
    }
  // --- the other families, each in its own module ---
  | EcrFailure
  | RolloutFailure
  | OneOffFailure
  // --- verify (src/aws/verify.ts) ---
  | {
      readonly reason: 'verify-failed';
      readonly environment: string;
      readonly findings: readonly VerifyFinding[];
      readonly fixed: readonly string[];
      /** The command that stopped on these findings; none when `ENV:verify` itself ran. */
      readonly preflightOf?: PreflightOf;
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
      return `ECS has no cluster for ${failure.resource} ${said}: it was deleted, or AWS_REGION/aws.region points at another region. Check environments/${environment}.ts's aws.region and ecs.cluster; if the cluster is really gone, create it with ${taskCommand(environment, 'create')}.`;
    case 'ServiceNotActiveException':
      return `The service ${failure.resource} is no longer ACTIVE ${said}: it was deleted (DRAINING, then INACTIVE) while this command ran. Once it is INACTIVE, recreate it with ${taskCommand(environment, 'create')}, then run ${taskCommand(environment, 'deploy')}.`;
    case 'ServiceNotFoundException':
      return `ECS has no service ${failure.resource} ${said}. Create it with ${taskCommand(environment, 'create')}.`;
    case 'InvalidParameterException':
      return failure.action.startsWith('ecr:')
        ? `ECR rejected a parameter of ${failure.action} on ${failure.resource}: ${sentence(failure.detail)} Fix the ecr settings in environments/${environment}.ts, then run ${taskCommand(environment, 'push')} again.`
        : `ECS rejected a parameter of ${failure.action} on ${failure.resource}: ${sentence(failure.detail)} The value comes from environments/${environment}.ts or config-templates/ecs/: fix it, check the result with ${taskCommand(environment, 'render')} and ${taskCommand(environment, 'diff')}, then run the task again.`;
  }
}

export function describeAwsFailure(failure: AwsFailureData, context: DescribeContext = {}): string {
  switch (failure.reason) {
    case 'services-not-active': {
      const listed = failure.services.map((s) => `${s.name} is ${s.status}`).join(', ');
      const draining = failure.services.some((s) => s.status === 'DRAINING');
      return `In cluster ${failure.cluster}, ${listed}: a deleted service cannot be deployed to. Nothing was registered, migrated or updated. ${draining ? 'Wait until it is INACTIVE (its tasks are stopping), then recreate' : 'Recreate'} it with ${taskCommand(failure.environment, 'create')}.`;
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
      return `Cluster ${failure.cluster} does not exist: create it and the services with ${taskCommand(failure.environment, 'create')}.`;
    case 'services-missing':
      return `Service${failure.services.length > 1 ? 's' : ''} ${failure.services.join(', ')} not found in cluster ${failure.cluster}: create ${failure.services.length > 1 ? 'them' : 'it'} with ${taskCommand(failure.environment, 'create')}.`;
    case 'services-exist':
      return `Services ${failure.services.join(', ')} already exist in cluster ${failure.cluster}; ${taskCommand(failure.environment, 'create')} never touches existing services. Use ${taskCommand(failure.environment, 'deploy')} to change them.`;
    case 'unknown-service':
      return `No service ${JSON.stringify(failure.given)} in environment ${failure.environment}: use one of ${failure.known.join(', ')}, or a service name from environments/${failure.environment}.ts.`;
    case 'update-refused':
      return [
        `${operationHeading(failure.operation)} ${failure.environment} failed: updating ${failure.service} was refused. ${describeAwsFailure(failure.refused, { environment: failure.environment })}`,
        ...describeOutcomes(failure.environment, failure.restored),
      ].join('\n');
    case 'verify-failed':
      return `Verify found what a deploy to ${failure.environment} would fail on:\n${describeFindings(failure.environment, failure.findings, failure.fixed, failure.preflightOf)}`;
    case 'no-docker':
    case 'docker-failed':
    case 'no-registry-token':
    case 'image-tag-conflict':
      return describeEcrFailure(failure);
    case 'deploy-in-progress':
    case 'rollback-stalled':
    case 'deploy-locked':
    case 'no-previous-revision':
    case 'revision-not-found':
    case 'rollout-failed':
    case 'smoke-check-failed':
    case 'interrupted':
      return describeRolloutFailure(failure);
    case 'migration-not-started':
    case 'migration-failed':
    case 'migration-timeout':
    case 'run-not-started':
    case 'run-interrupted':
      return describeOneOffFailure(failure);
  }
}
