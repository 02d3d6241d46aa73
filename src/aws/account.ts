/**
 * Which AWS account the credentials reach, checked against the environment's `aws.accountId`
 * before anything writes (a repository, an image, a task definition, a service).
 *
 * Without it, credentials for another account would create repositories and push there, and a
 * later "cluster missing" message would point to `create`, which would build the cluster in that
 * account too. GetCallerIdentity needs no permission at all ("No permissions are required to
 * perform this operation": https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html),
 * so the check costs one call and can never be denied by a tight deploy policy.
 *
 * Every command that writes calls `requireAccount` before its first call (test/aws/account.test.ts
 * runs each with another account's credentials); deploy-family tasks also call `checkAccount` as a
 * preflight, so they fail before building anything.
 */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsContext } from './clients.js';
import { AwsFailure, awsCall, runCommand, type Result } from './errors.js';

export interface CallerIdentity {
  readonly account: string;
  readonly arn: string;
}

/** Throws `wrong-account` (an AwsFailure) unless the credentials reach the environment's account. */
export async function requireAccount(
  ctx: Pick<AwsContext, 'env' | 'clients'>,
): Promise<CallerIdentity> {
  const out = await awsCall('sts:GetCallerIdentity', ctx.env.aws.accountId, () =>
    ctx.clients.sts.send(new GetCallerIdentityCommand({})),
  );
  const identity = { account: out.Account ?? '', arn: out.Arn ?? '' };
  if (identity.account !== ctx.env.aws.accountId) {
    throw new AwsFailure({
      reason: 'wrong-account',
      environment: ctx.env.name,
      expected: ctx.env.aws.accountId,
      found: identity.account === '' ? '(none reported)' : identity.account,
      caller: identity.arn,
    });
  }
  return identity;
}

/** The same check as a command: `{ ok: false, failure }` when the account is not the environment's. */
export function checkAccount(
  ctx: Pick<AwsContext, 'env' | 'clients'>,
): Promise<Result<CallerIdentity>> {
  return runCommand(() => requireAccount(ctx));
}
