/**
 * Contract tests for the services verify, run and logs read: the real @aws-sdk clients for
 * CloudWatch Logs, SSM, Secrets Manager (JSON 1.1), IAM and ELBv2 (query protocol, XML) against
 * the emulator, reached through the SDK's standard AWS_ENDPOINT_URL_* variables.
 */
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  PutLogEventsCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateClusterCommand,
  DescribeTasksCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, test, vi } from 'vitest';
import { manualClock, type ManualClock } from './support/aws-emulator/clock.js';
import { putTargetGroup } from './support/aws-emulator/elbv2.js';
import { putRole } from './support/aws-emulator/iam.js';
import { putLogGroup } from './support/aws-emulator/logs.js';
import { putSecret } from './support/aws-emulator/secrets-manager.js';
import { errorOf, pointSdkAt } from './support/aws-emulator/sdk-env.js';
import { startAwsEmulator, type AwsEmulator } from './support/aws-emulator/server.js';
import { putParameter } from './support/aws-emulator/ssm.js';

let emu: AwsEmulator;
let clock: ManualClock;

beforeEach(async () => {
  clock = manualClock();
  emu = await startAwsEmulator({ clock });
  pointSdkAt(emu);
  return async () => {
    vi.unstubAllEnvs();
    await emu.stop();
  };
});

describe('IAM (query protocol)', () => {
  test('GetRole returns the trust policy URL-encoded, as IAM does; a missing role is NoSuchEntity', async () => {
    putRole(emu.iam, 'exec', ['ecs-tasks.amazonaws.com']);
    const iam = new IAMClient({ region: 'us-east-1' });
    const out = await iam.send(new GetRoleCommand({ RoleName: 'exec' }));
    expect(out.Role?.Arn).toBe('arn:aws:iam::123456789012:role/exec');
    const document = out.Role?.AssumeRolePolicyDocument ?? '';
    expect(document).toMatch(/^%7B/);
    expect(JSON.parse(decodeURIComponent(document))).toMatchObject({
      Statement: [{ Principal: { Service: 'ecs-tasks.amazonaws.com' } }],
    });
    const missing = await errorOf(iam.send(new GetRoleCommand({ RoleName: 'nope' })));
    expect(missing.name).toBe('NoSuchEntityException');
    expect(missing.$metadata?.httpStatusCode).toBe(404);
    iam.destroy();
  });
});

describe('ELBv2 (query protocol)', () => {
  test('DescribeTargetGroups by ARN; one missing ARN fails the whole call', async () => {
    const arn =
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
    putTargetGroup(emu.elbv2, arn, {
      name: 'web',
      protocol: 'HTTP',
      port: 80,
      targetType: 'ip',
      vpcId: 'vpc-1',
    });
    const elb = new ElasticLoadBalancingV2Client({});
    const out = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }));
    expect(
      out.TargetGroups?.map((t) => [t.TargetGroupName, t.Protocol, t.Port, t.TargetType]),
    ).toEqual([['web', 'HTTP', 80, 'ip']]);
    const missing = await errorOf(
      elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn, `${arn.slice(0, -1)}0`] })),
    );
    expect(missing.name).toBe('TargetGroupNotFoundException');
    elb.destroy();
  });
});

describe('SSM and Secrets Manager (metadata only)', () => {
  test('DescribeParameters scans MaxResults parameters, then filters: a page can be empty with a NextToken', async () => {
    for (let i = 0; i < 12; i++) putParameter(emu.ssm, `/other/${i}`);
    putParameter(emu.ssm, '/app/KEY');
    const ssm = new SSMClient({});
    const filters = [{ Key: 'Name', Option: 'Equals', Values: ['/app/KEY'] }];
    const first = await ssm.send(new DescribeParametersCommand({ ParameterFilters: filters }));
    expect(first.Parameters).toEqual([]);
    expect(first.NextToken).toBeDefined();
    const second = await ssm.send(
      new DescribeParametersCommand({ ParameterFilters: filters, NextToken: first.NextToken }),
    );
    expect(second.Parameters?.map((p) => [p.Name, p.ARN])).toEqual([
      ['/app/KEY', 'arn:aws:ssm:us-east-1:123456789012:parameter/app/KEY'],
    ]);
    ssm.destroy();
  });

  test('DescribeSecret by full or partial ARN; DeletedDate for a secret scheduled for deletion', async () => {
    putSecret(emu.secrets, 'app/db', { suffix: 'Xy12Ab' });
    putSecret(emu.secrets, 'app/old', { deletedAt: Date.UTC(2025, 0, 2) });
    const sm = new SecretsManagerClient({});
    const full = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-Xy12Ab';
    expect((await sm.send(new DescribeSecretCommand({ SecretId: full }))).Name).toBe('app/db');
    const partial = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db';
    expect((await sm.send(new DescribeSecretCommand({ SecretId: partial }))).ARN).toBe(full);
    const old = await sm.send(new DescribeSecretCommand({ SecretId: 'app/old' }));
    expect(old.DeletedDate).toBeInstanceOf(Date);
    const missing = await errorOf(sm.send(new DescribeSecretCommand({ SecretId: 'app/none' })));
    expect(missing.name).toBe('ResourceNotFoundException');
    sm.destroy();
  });
});

describe('CloudWatch Logs', () => {
  test('groups, retention and events; FilterLogEvents pages with nextToken', async () => {
    const logs = new CloudWatchLogsClient({});
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/ecs/app' }));
    expect(
      (await errorOf(logs.send(new CreateLogGroupCommand({ logGroupName: '/ecs/app' })))).name,
    ).toBe('ResourceAlreadyExistsException');
    const bad = await errorOf(
      logs.send(new PutRetentionPolicyCommand({ logGroupName: '/ecs/app', retentionInDays: 8 })),
    );
    expect(bad.name).toBe('InvalidParameterException');
    await logs.send(
      new PutRetentionPolicyCommand({ logGroupName: '/ecs/app', retentionInDays: 14 }),
    );
    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/ecs/' }));
    expect(groups.logGroups?.map((g) => [g.logGroupName, g.retentionInDays])).toEqual([
      ['/ecs/app', 14],
    ]);

    await logs.send(new CreateLogStreamCommand({ logGroupName: '/ecs/app', logStreamName: 's' }));
    const t = clock.now();
    await logs.send(
      new PutLogEventsCommand({
        logGroupName: '/ecs/app',
        logStreamName: 's',
        logEvents: [
          { timestamp: t, message: 'one error' },
          { timestamp: t + 1, message: 'two' },
          { timestamp: t + 2, message: 'three error' },
        ],
      }),
    );
    const page = await logs.send(
      new FilterLogEventsCommand({ logGroupName: '/ecs/app', limit: 2 }),
    );
    expect(page.events?.map((e) => e.message)).toEqual(['one error', 'two']);
    const rest = await logs.send(
      new FilterLogEventsCommand({ logGroupName: '/ecs/app', limit: 2, nextToken: page.nextToken }),
    );
    expect(rest.events?.map((e) => e.message)).toEqual(['three error']);
    expect(rest.nextToken).toBeUndefined();
    const errors = await logs.send(
      new FilterLogEventsCommand({ logGroupName: '/ecs/app', filterPattern: 'error' }),
    );
    expect(errors.events?.map((e) => e.message)).toEqual(['one error', 'three error']);
    logs.destroy();
  });

  test('a one-off task prints its argv to its awslogs stream while it runs; StopTask stops it', async () => {
    putLogGroup(emu.logs, '/ecs/app');
    const ecs = new ECSClient({});
    const logs = new CloudWatchLogsClient({});
    await ecs.send(new CreateClusterCommand({ clusterName: 'main' }));
    const def = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'app',
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [
          {
            name: 'php',
            image: 'app:1',
            logConfiguration: {
              logDriver: 'awslogs',
              options: { 'awslogs-group': '/ecs/app', 'awslogs-stream-prefix': 'web' },
            },
          },
        ],
      }),
    );
    emu.taskOutput.print({ family: 'app' }, ['first', 'second', 'third']);
    const run = async () => {
      const out = await ecs.send(
        new RunTaskCommand({
          cluster: 'main',
          taskDefinition: def.taskDefinition?.taskDefinitionArn,
          overrides: { containerOverrides: [{ name: 'php', command: ['echo', 'a b'] }] },
        }),
      );
      return out.tasks?.[0]?.taskArn ?? '';
    };
    const arn = await run();
    const id = arn.split('/').at(-1) ?? '';
    const messages = async () =>
      (await logs.send(new FilterLogEventsCommand({ logGroupName: '/ecs/app' }))).events?.map(
        (e) => [e.logStreamName, e.message],
      );
    clock.advance(10 + 4); // provisioned, then a third of the run and the ingestion delay
    expect(await messages()).toEqual([[`web/php/${id}`, 'first']]);
    clock.advance(10);
    expect((await messages())?.map(([, m]) => m)).toEqual(['first', 'second', 'third']);

    // Unscripted output: the argv as a JSON array. StopTask part-way: exit 143, UserInitiated.
    emu.taskOutput.print({ family: 'app' }, []);
    const stopped = await run();
    clock.advance(12);
    await ecs.send(new StopTaskCommand({ cluster: 'main', task: stopped, reason: 'Ctrl-C' }));
    clock.advance(60);
    const task = (await ecs.send(new DescribeTasksCommand({ cluster: 'main', tasks: [stopped] })))
      .tasks?.[0];
    expect([
      task?.lastStatus,
      task?.stopCode,
      task?.stoppedReason,
      task?.containers?.[0]?.exitCode,
    ]).toEqual(['STOPPED', 'UserInitiated', 'Ctrl-C', 143]);
    expect(emu.writeCalls).toContain('StopTask');
    ecs.destroy();
    logs.destroy();
  });
});
