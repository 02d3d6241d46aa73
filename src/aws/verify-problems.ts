/**
 * What `ENV:verify` can find wrong, as data, and the one place it becomes words: each names the
 * thing (role, secret, log group, target group, service) and the fix. Pure, so errors.ts can
 * render a failed verify without importing the SDK calls in verify.ts.
 */
import type { AwsFailureData } from './errors.js';
import { taskCommand } from './next-step.js';

export type VerifyProblem =
  | { readonly reason: 'image-missing'; readonly image: string; readonly detail: string }
  | { readonly reason: 'role-missing'; readonly use: RoleUse; readonly arn: string }
  | {
      readonly reason: 'role-arn-differs';
      readonly use: RoleUse;
      readonly arn: string;
      readonly found: string;
    }
  | {
      readonly reason: 'role-not-assumable';
      readonly use: RoleUse;
      readonly arn: string;
      readonly trusted: readonly string[];
    }
  | { readonly reason: 'parameter-missing'; readonly variable: string; readonly arn: string }
  | { readonly reason: 'secret-missing'; readonly variable: string; readonly arn: string }
  | {
      readonly reason: 'secret-deleted';
      readonly variable: string;
      readonly arn: string;
      readonly deletedAt: string;
    }
  | {
      readonly reason: 'secret-version-missing';
      readonly variable: string;
      readonly arn: string;
      readonly version: string;
    }
  | { readonly reason: 'log-group-missing'; readonly group: string; readonly retentionDays: number }
  | {
      readonly reason: 'log-retention-differs';
      readonly group: string;
      readonly retentionDays: number;
      readonly found: number | undefined;
    }
  | { readonly reason: 'target-group-missing'; readonly service: string; readonly arn: string }
  | {
      readonly reason: 'target-group-differs';
      readonly service: string;
      readonly arn: string;
      readonly field: 'port' | 'protocol' | 'target type';
      readonly expected: string;
      readonly found: string;
    }
  | { readonly reason: 'cluster-missing'; readonly cluster: string; readonly status?: string }
  | {
      readonly reason: 'service-not-active';
      readonly cluster: string;
      readonly service: string;
      readonly status: string;
    }
  | { readonly reason: 'unverifiable'; readonly what: string; readonly failure: AwsFailureData };

export type RoleUse = 'execution role' | 'task role';

/** A command that runs verify's checks as its preflight, and stops when they fail. */
export type PreflightOf = 'create' | 'deploy' | 'dry-run';

/** One line of verify's report: what was checked and, when something is wrong, what. */
export type VerifyFinding =
  | { readonly ok: true; readonly what: string; readonly note?: string }
  | { readonly ok: false; readonly what: string; readonly problem: VerifyProblem };

/** The problem and its fix, in one sentence or two. */
export function describeVerifyProblem(environment: string, problem: VerifyProblem): string {
  const file = `environments/${environment}.ts`;
  switch (problem.reason) {
    case 'image-missing':
      return `${problem.image} is not in ECR (${problem.detail}): push it with ${taskCommand(environment, 'push')}.`;
    case 'role-missing':
      return `the ${problem.use} ${problem.arn} does not exist: create it in IAM (trusting ecs-tasks.amazonaws.com), or fix ecs.${problem.use === 'task role' ? 'taskRoleArn' : 'executionRoleArn'} in ${file}.`;
    case 'role-arn-differs':
      return `the ${problem.use} is ${problem.found} in IAM, not ${problem.arn} as ${file} says (path or account differ): use the ARN IAM shows.`;
    case 'role-not-assumable':
      return `ECS tasks cannot assume the ${problem.use} ${problem.arn}: its trust policy allows ${problem.trusted.length > 0 ? problem.trusted.join(', ') : 'no service'}; add "Principal": {"Service": "ecs-tasks.amazonaws.com"} with sts:AssumeRole.`;
    case 'parameter-missing':
      return `secret ${problem.variable}: SSM parameter ${problem.arn} does not exist: create it (\`aws ssm put-parameter --type SecureString ...\`) or fix secrets.${problem.variable} in ${file}.`;
    case 'secret-missing':
      return `secret ${problem.variable}: Secrets Manager secret ${problem.arn} does not exist: create it or fix secrets.${problem.variable} in ${file}.`;
    case 'secret-deleted':
      return `secret ${problem.variable}: ${problem.arn} is scheduled for deletion (${problem.deletedAt}), so ECS cannot read it: restore it (\`aws secretsmanager restore-secret\`) or point secrets.${problem.variable} elsewhere.`;
    case 'secret-version-missing':
      return `secret ${problem.variable}: ${problem.arn} has no version ${problem.version}: fix the version in secrets.${problem.variable} or leave it empty for AWSCURRENT.`;
    case 'log-group-missing':
      return `log group ${problem.group} does not exist, so tasks would fail with ResourceInitializationError: create it with ${taskCommand(environment, 'verify[fix]')}.`;
    case 'log-retention-differs':
      return `log group ${problem.group} keeps logs ${problem.found === undefined ? 'forever' : `${problem.found} days`}, not ${problem.retentionDays} as ${file} says: correct it with ${taskCommand(environment, 'verify[fix]')}.`;
    case 'target-group-missing':
      return `${problem.service}: target group ${problem.arn} does not exist: create it or fix the service's targetGroupArn in ${file}.`;
    case 'target-group-differs':
      return `${problem.service}: target group ${problem.arn} has ${problem.field} ${problem.found}, the service needs ${problem.expected}: change the target group (a new one, since port, protocol and target type are fixed at creation) or the service in ${file}.`;
    case 'cluster-missing':
      return `cluster ${problem.cluster} ${problem.status === undefined ? 'does not exist' : `is ${problem.status}`}: create it with ${taskCommand(environment, 'create')}.`;
    case 'service-not-active':
      return `service ${problem.service} in ${problem.cluster} is ${problem.status}: ${problem.status === 'MISSING' ? `create it with ${taskCommand(environment, 'create')}` : 'wait until it is gone, then create it again'}.`;
    case 'unverifiable':
      return `could not check ${problem.what}: ${unverifiableDetail(problem.failure)}`;
  }
}

function unverifiableDetail(failure: AwsFailureData): string {
  switch (failure.reason) {
    case 'access-denied':
      return `the deploying identity may not call ${failure.action} on ${failure.resource}; grant it (verify only reads).`;
    case 'throttled':
      return `AWS kept throttling ${failure.action}; run verify again in a minute.`;
    case 'aws-error':
      return `${failure.action} failed: ${failure.code}: ${failure.detail}`;
    default:
      return failure.reason;
  }
}

/**
 * Verify's report: one line per check, problems with their fix. A problem's sentence names its
 * subject (the role, secret, target group), so a FAIL line is that sentence alone: prefixed
 * with the finding's `what` it would say the subject twice.
 */
export function describeFindings(
  environment: string,
  findings: readonly VerifyFinding[],
  fixed: readonly string[] = [],
  preflightOf?: PreflightOf,
): string {
  const lines = findings.map((f) =>
    f.ok
      ? `  ok    ${f.what}${f.note === undefined ? '' : ` (${f.note})`}`
      : `  FAIL  ${describeVerifyProblem(environment, f.problem)}`,
  );
  const failed = findings.filter((f) => !f.ok).length;
  return [
    ...fixed.map((line) => `  fixed ${line}`),
    ...lines,
    failed === 0
      ? `${environment}: everything a deploy relies on is in place.`
      : `${environment}: ${failed} problem${failed === 1 ? '' : 's'} found; ${stopped(environment, preflightOf)}`,
  ].join('\n');
}

/** What stopped on the problems, and so what did not happen. */
function stopped(environment: string, preflightOf: PreflightOf | undefined): string {
  switch (preflightOf) {
    case undefined:
      return `fix them, then run ${taskCommand(environment, 'verify')} again.`;
    case 'create':
      return `${taskCommand(environment, 'create')} stopped before building or pushing anything: nothing was created.`;
    case 'deploy':
      return `${taskCommand(environment, 'deploy')} stopped before building or pushing anything: nothing was deployed.`;
    case 'dry-run':
      return `the dry run (\`npx task ${environment}:deploy -- --dry-run\`) stopped where the deploy would.`;
  }
}
