/**
 * AWS failures as words: each names the action or the thing and the next step, and SDK errors
 * are classified without guessing (a bug is not turned into a failure).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { classifyAwsError, describeAwsFailure } from '../../src/aws/errors.js';
import { startHarness, type Harness } from './harness.js';

function sdkError(name: string, message: string, attempts = 1): Error {
  return Object.assign(new Error(message), { name, $metadata: { attempts } });
}

describe('classifyAwsError', () => {
  test('no credentials, expired credentials, throttling given up, other AWS errors', () => {
    const none = classifyAwsError(
      Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
      'ecs:DescribeClusters',
      'example-staging',
    );
    expect(none?.reason).toBe('no-credentials');
    expect(describeAwsFailure(none ?? { reason: 'no-docker', environment: '' })).toMatch(
      /AWS_PROFILE .*aws sso login/,
    );
    const expired = classifyAwsError(
      sdkError('ExpiredTokenException', 'The security token included in the request is expired'),
      'ecs:UpdateService',
      'x',
    );
    expect(expired).toMatchObject({ reason: 'bad-credentials', code: 'ExpiredTokenException' });
    const throttled = classifyAwsError(
      sdkError('ThrottlingException', 'Rate exceeded', 3),
      'ecs:DescribeServices',
      'example-staging/web',
    );
    expect(throttled).toEqual({
      reason: 'throttled',
      action: 'ecs:DescribeServices',
      resource: 'example-staging/web',
      attempts: 3,
    });
    expect(describeAwsFailure(throttled ?? { reason: 'no-docker', environment: '' })).toContain(
      'retried with backoff 3 times and gave up',
    );
    expect(classifyAwsError(new TypeError('x is undefined'), 'a', 'b')).toBeUndefined();
  });

  test('access denied names the action and resource AWS reported', () => {
    const denied = classifyAwsError(
      sdkError(
        'AccessDeniedException',
        'User: arn:aws:iam::1:user/ci is not authorized to perform: ecr:PutLifecyclePolicy on resource: arn:aws:ecr:eu-west-1:1:repository/app',
      ),
      'ecr:PutLifecyclePolicy',
      'app',
    );
    expect(denied).toMatchObject({
      action: 'ecr:PutLifecyclePolicy',
      resource: 'arn:aws:ecr:eu-west-1:1:repository/app',
    });
  });
});

describe('the account', () => {
  let h: Harness | undefined;
  afterEach(() => h?.stop());

  test('a cluster in another account than the environment names is refused', async () => {
    h = await startHarness({ accountId: '999999999999' });
    h.emu.ecs.clusters.set(h.env.ecs.cluster, {
      arn: `arn:aws:ecs:eu-west-1:999999999999:cluster/${h.env.ecs.cluster}`,
      name: h.env.ecs.cluster,
      sent: {},
    });
    const result = await create({
      ...h.ctx(),
      taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }),
    });
    const text = result.ok ? '' : describeAwsFailure(result.failure);
    expect(text).toContain('reach account 999999999999 (as arn:aws:iam::999999999999:user/');
    expect(text).toContain('but environments/staging.ts deploys to account 123456789012');
    expect(h.emu.calls).not.toContain('RegisterTaskDefinition');
  });
});
