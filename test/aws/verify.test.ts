/**
 * ENV:verify against the emulator: with everything in place it passes and writes nothing; each
 * kind of problem is found and named with its fix; `fix` creates the log group (the one change
 * verify may make); secret values are never read.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { parseSecretRef } from '../../src/aws/secret-ref.js';
import {
  describeVerify,
  parseImage,
  targetGroupProblems,
  trustedServices,
  verify,
} from '../../src/aws/verify.js';
import type { VerifyFinding } from '../../src/aws/verify-problems.js';
import { putRole } from '../support/aws-emulator/iam.js';
import { putSecret } from '../support/aws-emulator/secrets-manager.js';
import { declared, failure, startHarness, value, type Harness } from './harness.js';
import { roleName, seedPrerequisites } from '../support/deploy-prerequisites.js';

let h: Harness;

const svc = (key: string) => declared(h, key);

beforeEach(async () => {
  h = await startHarness();
  seedPrerequisites(h.emu, h.env);
  value(
    await create({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
  );
  return () => h.stop();
});

function problems(result: Awaited<ReturnType<typeof verify>>): VerifyFinding[] {
  const f = failure(result);
  if (f.reason !== 'verify-failed') throw new Error(`expected verify-failed, got ${f.reason}`);
  return f.findings.filter((finding) => !finding.ok);
}

/** The report's FAIL lines, exactly as printed. */
function failLines(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('  FAIL'));
}

function reasons(findings: readonly VerifyFinding[]): string[] {
  return findings.map((f) => (f.ok ? 'ok' : f.problem.reason));
}

describe('pure parts', () => {
  test('secret references: SSM names, Secrets Manager ARN with JSON key, stage and version', () => {
    expect(parseSecretRef('arn:aws:ssm:eu-west-1:123456789012:parameter/app/KEY')).toMatchObject({
      kind: 'ssm',
      names: ['/app/KEY'],
    });
    expect(parseSecretRef('arn:aws:ssm:eu-west-1:123456789012:parameter/KEY')).toMatchObject({
      names: ['KEY', '/KEY'],
    });
    expect(
      parseSecretRef(
        'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-Xy12Ab:password:AWSPREVIOUS:',
      ),
    ).toEqual({
      kind: 'secretsmanager',
      arn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-Xy12Ab:password:AWSPREVIOUS:',
      secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-Xy12Ab',
      jsonKey: 'password',
      versionStage: 'AWSPREVIOUS',
      versionId: undefined,
    });
    expect(parseSecretRef('not-an-arn')).toBeUndefined();
  });

  test('trust policies are URL-decoded; only Allow + sts:AssumeRole counts', () => {
    const doc = (statement: object) =>
      encodeURIComponent(JSON.stringify({ Statement: [statement] }));
    expect(
      trustedServices(
        doc({
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { Service: ['ecs-tasks.amazonaws.com', 'ec2.amazonaws.com'] },
        }),
      ),
    ).toEqual(['ecs-tasks.amazonaws.com', 'ec2.amazonaws.com']);
    expect(
      trustedServices(
        doc({
          Effect: 'Deny',
          Action: 'sts:AssumeRole',
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
        }),
      ),
    ).toEqual([]);
    expect(
      trustedServices(
        doc({
          Effect: 'Allow',
          Action: 'sts:TagSession',
          Principal: { Service: 'ecs-tasks.amazonaws.com' },
        }),
      ),
    ).toEqual([]);
    expect(trustedServices('%7Bnot json')).toEqual([]);
  });

  test('image references and target group expectations', () => {
    expect(parseImage('1.dkr.ecr.eu-west-1.amazonaws.com/app/php:abc')).toEqual({
      repository: 'app/php',
      tag: 'abc',
    });
    expect(parseImage(`r/app@sha256:${'a'.repeat(64)}`)).toEqual({
      repository: 'app',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    const service = { name: 'web', containerPort: 80 };
    expect(
      targetGroupProblems(
        service,
        'tg',
        { port: 80, protocol: 'HTTP', targetType: 'ip' },
        'awsvpc',
      ),
    ).toEqual([]);
    expect(
      targetGroupProblems(
        service,
        'tg',
        { port: 8080, protocol: 'UDP', targetType: 'instance' },
        'awsvpc',
      ).map((p) =>
        p.reason === 'target-group-differs' ? `${p.field}: ${p.found} -> ${p.expected}` : p.reason,
      ),
    ).toEqual([
      'port: 8080 -> 80',
      'protocol: UDP -> one over TCP (HTTP, HTTPS, TCP, TLS)',
      'target type: instance -> ip',
    ]);
  });
});

describe('verify', () => {
  test('everything in place: every check ok, no write call, no secret value read', async () => {
    const before = h.emu.calls.length;
    const report = value(await verify(h.ctx()));
    const calls = h.emu.calls.slice(before);
    expect(reasons(report.findings).every((r) => r === 'ok')).toBe(true);
    expect(report.findings.map((f) => f.what)).toEqual(
      expect.arrayContaining([
        `execution role ${h.env.ecs.executionRoleArn}`,
        `task role ${h.env.ecs.taskRoleArn}`,
        `log group ${h.env.logs.group}`,
        `cluster ${h.env.ecs.cluster}`,
        `service ${svc('phpFpm').name}`,
        `service ${svc('nginx').name}`,
      ]),
    );
    expect(describeVerify(report)).toContain('JSON key "password" not checked');
    expect(calls.filter((c) => !/^(Describe|Get|List)/.test(c))).toEqual([]);
    expect(calls).not.toContain('GetParameter');
    expect(calls).not.toContain('GetParameters');
    expect(calls).not.toContain('GetSecretValue');
    expect(calls).toEqual(
      expect.arrayContaining([
        'GetRole',
        'DescribeParameters',
        'DescribeSecret',
        'DescribeLogGroups',
        'DescribeTargetGroups',
        'DescribeClusters',
        'DescribeServices',
      ]),
    );
  });

  test('finds each kind of problem, each named with its fix', async () => {
    const { env, emu } = h;
    emu.iam.roles.delete(roleName(env.ecs.executionRoleArn));
    putRole(emu.iam, roleName(env.ecs.taskRoleArn), ['ec2.amazonaws.com']);
    emu.ssm.parameters.clear();
    putSecret(emu.secrets, 'example/staging/db', {
      suffix: 'Xy12Ab',
      deletedAt: Date.UTC(2025, 0, 3),
    });
    emu.logs.groups.get(env.logs.group)!.retentionInDays = undefined;
    emu.elbv2.targetGroups.delete(svc('nginx').loadBalancer?.targetGroupArn ?? '');
    emu.elbv2.targetGroups.get(svc('phpFpm').loadBalancer?.targetGroupArn ?? '')!.targetType =
      'instance';
    const found = problems(await verify(h.ctx()));
    expect(reasons(found).sort()).toEqual(
      [
        'log-retention-differs',
        'parameter-missing',
        'role-missing',
        'role-not-assumable',
        'secret-deleted',
        'target-group-differs',
        'target-group-missing',
      ].sort(),
    );
    const fpmGroup = svc('phpFpm').loadBalancer?.targetGroupArn ?? '';
    const webGroup = svc('nginx').loadBalancer?.targetGroupArn ?? '';
    // Each line names its subject once (the role, the secret, the target group's ARN).
    expect(failLines(describeAwsFailure(failure(await verify(h.ctx()))))).toEqual([
      `  FAIL  the execution role ${env.ecs.executionRoleArn} does not exist: create it in IAM (trusting ecs-tasks.amazonaws.com), or fix ecs.executionRoleArn in environments/staging.ts.`,
      `  FAIL  ECS tasks cannot assume the task role ${env.ecs.taskRoleArn}: its trust policy allows ec2.amazonaws.com; add "Principal": {"Service": "ecs-tasks.amazonaws.com"} with sts:AssumeRole.`,
      `  FAIL  secret APP_KEY: SSM parameter ${env.secrets.APP_KEY} does not exist: create it (\`aws ssm put-parameter --type SecureString ...\`) or fix secrets.APP_KEY in environments/staging.ts.`,
      '  FAIL  secret DB_PASSWORD: arn:aws:secretsmanager:eu-west-1:123456789012:secret:example/staging/db-Xy12Ab is scheduled for deletion (2025-01-03T00:00:00.000Z), so ECS cannot read it: restore it (`aws secretsmanager restore-secret`) or point secrets.DB_PASSWORD elsewhere.',
      `  FAIL  log group ${env.logs.group} keeps logs forever, not 14 as environments/staging.ts says: correct it with \`npx task staging:verify[fix]\`.`,
      `  FAIL  ${svc('phpFpm').name}: target group ${fpmGroup} has target type instance, the service needs ip: change the target group (a new one, since port, protocol and target type are fixed at creation) or the service in environments/staging.ts.`,
      `  FAIL  ${svc('nginx').name}: target group ${webGroup} does not exist: create it or fix the service's targetGroupArn in environments/staging.ts.`,
    ]);
  });

  test('a missing secret, log group or cluster', async () => {
    const { env, emu } = h;
    emu.secrets.secrets.clear();
    emu.logs.groups.clear();
    emu.ecs.clusters.clear();
    const found = problems(await verify(h.ctx()));
    expect(reasons(found).sort()).toEqual([
      'cluster-missing',
      'log-group-missing',
      'secret-missing',
    ]);
    expect(failLines(describeAwsFailure(failure(await verify(h.ctx()))))).toEqual([
      '  FAIL  secret DB_PASSWORD: Secrets Manager secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:example/staging/db-Xy12Ab does not exist: create it or fix secrets.DB_PASSWORD in environments/staging.ts.',
      `  FAIL  log group ${env.logs.group} does not exist, so tasks would fail with ResourceInitializationError: create it with \`npx task staging:verify[fix]\`.`,
      `  FAIL  cluster ${env.ecs.cluster} does not exist: create it with \`npx task staging:create\`.`,
    ]);
  });

  test("as a command's preflight: no cluster or service check, and the last line names the command that stopped", async () => {
    h.emu.logs.groups.clear();
    h.emu.ecs.clusters.clear();
    const lastLine = async (preflightOf?: 'create' | 'deploy' | 'dry-run') =>
      describeAwsFailure(
        failure(await verify({ ...h.ctx(), ...(preflightOf ? { preflightOf } : {}) })),
      )
        .split('\n')
        .at(-1);
    expect(await lastLine('create')).toBe(
      'staging: 1 problem found; `npx task staging:create` stopped before building or pushing anything: nothing was created.',
    );
    expect(await lastLine('deploy')).toBe(
      'staging: 1 problem found; `npx task staging:deploy` stopped before building or pushing anything: nothing was deployed.',
    );
    expect(await lastLine('dry-run')).toBe(
      'staging: 1 problem found; the dry run (`npx task staging:deploy -- --dry-run`) stopped where the deploy would.',
    );
    // ENV:verify itself checks the cluster too, and stops nothing.
    expect(await lastLine()).toBe(
      'staging: 2 problems found; fix them, then run `npx task staging:verify` again.',
    );
  });

  test('[fix] creates the log group with the retention, then verify passes; without fix nothing is written', async () => {
    h.emu.logs.groups.clear();
    const before = h.emu.writeCalls.length;
    failure(await verify(h.ctx()));
    expect(h.emu.writeCalls.length).toBe(before);
    const fixed = value(await verify({ ...h.ctx(), fix: true }));
    expect(fixed.fixed).toEqual([
      `created log group ${h.env.logs.group}`,
      `log group ${h.env.logs.group}: retention 14 days`,
    ]);
    expect(h.emu.logs.groups.get(h.env.logs.group)?.retentionInDays).toBe(14);
    value(await verify(h.ctx()));
  });

  test('a check that is denied is reported as unverifiable; the others still run', async () => {
    h.emu.faults.accessDenied('GetRole');
    const found = problems(await verify(h.ctx()));
    expect(reasons(found)).toEqual(['unverifiable', 'unverifiable']);
    expect(failLines(describeAwsFailure(failure(await verify(h.ctx()))))).toEqual([
      `  FAIL  could not check execution role: the deploying identity may not call iam:GetRole on *; grant it (verify only reads).`,
      `  FAIL  could not check task role: the deploying identity may not call iam:GetRole on *; grant it (verify only reads).`,
    ]);
  });

  test('a secret version stage that does not exist', async () => {
    const arn =
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:example/staging/db-Xy12Ab:password:AWSPENDING:';
    const found = problems(
      await verify(h.ctx({ env: { ...h.env, secrets: { ...h.env.secrets, DB_PASSWORD: arn } } })),
    );
    expect(
      found.map((f) =>
        f.ok
          ? ''
          : f.problem.reason === 'secret-version-missing'
            ? f.problem.version
            : f.problem.reason,
      ),
    ).toEqual(['AWSPENDING']);
  });
});
