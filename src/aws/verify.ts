/**
 * `ENV:verify`: checks, changing nothing, everything a deploy of the rendered task definitions
 * relies on, because ECS only finds out when a task starts (ResourceInitializationError ten
 * minutes into a rollout):
 *
 *   images in ECR (by digest) · execution and task roles, assumable by ecs-tasks.amazonaws.com
 *   · every secret reference (metadata only) · the log group and its retention · each service's
 *   target group (port, protocol, target type) · the cluster and the services ACTIVE
 *
 * Each check is independent: one that cannot be made (access denied) is reported as such and
 * the others still run. `fix` creates the log group or corrects its retention, the one change
 * verify may make, and only when asked (`ENV:verify[fix]`).
 *
 * Secret values are never read: SSM DescribeParameters and Secrets Manager DescribeSecret only.
 * A JSON key in a reference (`...:secret:db-AbCdEf:password::`) points into the secret's value,
 * so verify checks the secret and its version, and says the key itself was not checked.
 */
import {
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import {
  DescribeClustersCommand,
  DescribeServicesCommand,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { DescribeTargetGroupsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetRoleCommand } from '@aws-sdk/client-iam';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DescribeParametersCommand } from '@aws-sdk/client-ssm';
import { requireAccount } from './account.js';
import type { AwsContext } from './clients.js';
import { parseSecretRef, type SecretRef } from './secret-ref.js';
import { AwsFailure, awsCall, awsErrorName, runCommand, type Result } from './errors.js';
import {
  describeFindings,
  type PreflightOf,
  type RoleUse,
  type VerifyFinding,
  type VerifyProblem,
} from './verify-problems.js';

export interface VerifyOptions extends AwsContext {
  /** Rendered task definitions whose images to look for; without them images are not checked. */
  readonly taskDefinitions?: Readonly<Record<string, RegisterTaskDefinitionCommandInput>>;
  /** Create the log group or correct its retention (`ENV:verify[fix]`). */
  readonly fix?: boolean;
  /**
   * The command this verify is the preflight of, named when it stops: its cluster and services
   * are not checked then (`create` makes them, and deploy checks its services itself).
   */
  readonly preflightOf?: PreflightOf;
}

export interface VerifyReport {
  readonly environment: string;
  readonly findings: readonly VerifyFinding[];
  /** What `fix` changed. */
  readonly fixed: readonly string[];
}

// --- pure parts -------------------------------------------------------------------------------

/**
 * The services a trust policy lets assume the role with sts:AssumeRole. IAM returns the document
 * URL-encoded (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html).
 */
export function trustedServices(encoded: string): string[] {
  let document: unknown;
  try {
    document = JSON.parse(decodeURIComponent(encoded));
  } catch {
    return [];
  }
  const list = <T>(value: T | T[] | undefined): T[] =>
    value === undefined ? [] : Array.isArray(value) ? value : [value];
  const statements = list((document as { Statement?: unknown }).Statement) as {
    Effect?: string;
    Action?: string | string[];
    Principal?: { Service?: string | string[] };
  }[];
  return statements
    .filter(
      (s) =>
        s.Effect === 'Allow' && list(s.Action).some((a) => a === 'sts:AssumeRole' || a === 'sts:*'),
    )
    .flatMap((s) => list(s.Principal?.Service));
}

/** `registry/repository:tag` or `...@sha256:...`, as the rendered task definitions name images. */
export function parseImage(
  image: string,
): { repository: string; tag?: string; digest?: string } | undefined {
  const match = /^[^/]+\/([^:@]+)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(image);
  if (!match) return undefined;
  return {
    repository: match[1] as string,
    ...(match[2] === undefined ? {} : { tag: match[2] }),
    ...(match[3] === undefined ? {} : { digest: match[3] }),
  };
}

/** What each service's target group must be, from the environment: pure, so it is unit-tested. */
export function targetGroupProblems(
  service: { name: string; containerPort: number },
  arn: string,
  found: { port: number | undefined; protocol: string | undefined; targetType: string | undefined },
  networkMode: string,
): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const differs = (field: 'port' | 'protocol' | 'target type', expected: string, value: string) =>
    problems.push({
      reason: 'target-group-differs',
      service: service.name,
      arn,
      field,
      expected,
      found: value,
    });
  if (found.port !== service.containerPort) {
    differs('port', String(service.containerPort), String(found.port ?? '(none)'));
  }
  // The containers listen on TCP; a UDP target group could never reach them.
  if (found.protocol === 'UDP' || found.protocol === 'GENEVE') {
    differs('protocol', 'one over TCP (HTTP, HTTPS, TCP, TLS)', found.protocol);
  }
  // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html: awsvpc tasks register
  // by IP address, so the target type must be `ip`.
  const wanted = networkMode === 'awsvpc' ? 'ip' : 'instance';
  if (found.targetType !== wanted) differs('target type', wanted, found.targetType ?? '(none)');
  return problems;
}

// --- the checks -------------------------------------------------------------------------------

/** A check's findings; an AWS failure (denied, throttled) becomes an `unverifiable` finding. */
async function check(what: string, body: () => Promise<VerifyFinding[]>): Promise<VerifyFinding[]> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof AwsFailure)) throw error;
    return [{ ok: false, what, problem: { reason: 'unverifiable', what, failure: error.failure } }];
  }
}

/** Runs an SDK call; the named error codes give undefined (the thing is missing). */
async function orMissing<T>(
  action: string,
  resource: string,
  codes: readonly string[],
  run: () => Promise<T>,
): Promise<T | undefined> {
  return awsCall(action, resource, async () => {
    try {
      return await run();
    } catch (error) {
      if (codes.includes(awsErrorName(error) ?? '')) return undefined;
      throw error;
    }
  });
}

/** Whether ECR has the image (by tag or digest); exported for the dry run. */
export async function checkImage(ctx: AwsContext, image: string): Promise<VerifyFinding[]> {
  const what = `image ${image}`;
  const ref = parseImage(image);
  if (!ref)
    return [
      {
        ok: false,
        what,
        problem: { reason: 'image-missing', image, detail: 'not an ECR image reference' },
      },
    ];
  const out = await orMissing(
    'ecr:DescribeImages',
    ref.repository,
    ['ImageNotFoundException', 'RepositoryNotFoundException'],
    () =>
      ctx.clients.ecr.send(
        new DescribeImagesCommand({
          registryId: ctx.env.aws.accountId,
          repositoryName: ref.repository,
          imageIds: [
            ref.digest !== undefined
              ? { imageDigest: ref.digest }
              : { imageTag: ref.tag ?? 'latest' },
          ],
        }),
      ),
  );
  const digest = out?.imageDetails?.[0]?.imageDigest;
  if (digest === undefined) {
    return [
      {
        ok: false,
        what,
        problem: {
          reason: 'image-missing',
          image,
          detail: `no such ${ref.digest !== undefined ? 'digest' : 'tag'} in ${ref.repository}`,
        },
      },
    ];
  }
  return [{ ok: true, what, note: digest }];
}

async function checkRole(ctx: AwsContext, use: RoleUse, arn: string): Promise<VerifyFinding[]> {
  const what = `${use} ${arn}`;
  const name = arn.split('/').at(-1) ?? arn;
  const out = await orMissing('iam:GetRole', arn, ['NoSuchEntityException'], () =>
    ctx.clients.iam.send(new GetRoleCommand({ RoleName: name })),
  );
  const role = out?.Role;
  if (!role) return [{ ok: false, what, problem: { reason: 'role-missing', use, arn } }];
  if (role.Arn !== arn) {
    return [
      { ok: false, what, problem: { reason: 'role-arn-differs', use, arn, found: role.Arn ?? '' } },
    ];
  }
  const trusted = trustedServices(role.AssumeRolePolicyDocument ?? '');
  if (!trusted.includes('ecs-tasks.amazonaws.com')) {
    return [{ ok: false, what, problem: { reason: 'role-not-assumable', use, arn, trusted } }];
  }
  return [{ ok: true, what }];
}

async function checkParameters(
  ctx: AwsContext,
  refs: readonly { variable: string; ref: Extract<SecretRef, { kind: 'ssm' }> }[],
): Promise<VerifyFinding[]> {
  if (refs.length === 0) return [];
  const found = new Set<string>();
  const names = [...new Set(refs.flatMap((r) => r.ref.names))];
  for (let i = 0; i < names.length; i += 50) {
    const values = names.slice(i, i + 50);
    // Best-effort pages: a page may hold none of the matches and still a NextToken.
    let token: string | undefined;
    do {
      const out = await awsCall('ssm:DescribeParameters', values.join(', '), () =>
        ctx.clients.ssm.send(
          new DescribeParametersCommand({
            ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: values }],
            MaxResults: 50,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        ),
      );
      for (const p of out.Parameters ?? []) if (p.Name !== undefined) found.add(p.Name);
      token = out.NextToken;
    } while (token !== undefined);
  }
  return refs.map(({ variable, ref }) =>
    ref.names.some((n) => found.has(n))
      ? { ok: true, what: `secret ${variable} (SSM ${ref.arn})` }
      : {
          ok: false,
          what: `secret ${variable}`,
          problem: { reason: 'parameter-missing', variable, arn: ref.arn },
        },
  );
}

async function checkSecret(
  ctx: AwsContext,
  variable: string,
  ref: Extract<SecretRef, { kind: 'secretsmanager' }>,
): Promise<VerifyFinding[]> {
  const what = `secret ${variable}`;
  const out = await orMissing(
    'secretsmanager:DescribeSecret',
    ref.secretId,
    ['ResourceNotFoundException'],
    () => ctx.clients.secrets.send(new DescribeSecretCommand({ SecretId: ref.secretId })),
  );
  if (!out)
    return [
      { ok: false, what, problem: { reason: 'secret-missing', variable, arn: ref.secretId } },
    ];
  if (out.DeletedDate !== undefined) {
    return [
      {
        ok: false,
        what,
        problem: {
          reason: 'secret-deleted',
          variable,
          arn: ref.secretId,
          deletedAt: out.DeletedDate.toISOString(),
        },
      },
    ];
  }
  const versions = out.VersionIdsToStages ?? {};
  const stages = Object.values(versions).flat();
  const version =
    ref.versionId !== undefined && !(ref.versionId in versions)
      ? ref.versionId
      : ref.versionStage !== undefined && !stages.includes(ref.versionStage)
        ? ref.versionStage
        : undefined;
  if (version !== undefined) {
    return [
      {
        ok: false,
        what,
        problem: { reason: 'secret-version-missing', variable, arn: ref.secretId, version },
      },
    ];
  }
  const note =
    ref.jsonKey === undefined
      ? undefined
      : `JSON key "${ref.jsonKey}" not checked: that would mean reading the value`;
  return [
    {
      ok: true,
      what: `${what} (Secrets Manager ${ref.secretId})`,
      ...(note === undefined ? {} : { note }),
    },
  ];
}

async function checkSecrets(ctx: AwsContext): Promise<VerifyFinding[]> {
  const ssm: { variable: string; ref: Extract<SecretRef, { kind: 'ssm' }> }[] = [];
  const findings: Promise<VerifyFinding[]>[] = [];
  for (const [variable, arn] of Object.entries(ctx.env.secrets)) {
    const ref = parseSecretRef(arn);
    if (ref?.kind === 'ssm') ssm.push({ variable, ref });
    else if (ref) findings.push(check(`secret ${variable}`, () => checkSecret(ctx, variable, ref)));
    else
      findings.push(
        Promise.resolve([
          {
            ok: false,
            what: `secret ${variable}`,
            problem: { reason: 'secret-missing', variable, arn },
          },
        ]),
      );
  }
  findings.unshift(check('SSM parameters', () => checkParameters(ctx, ssm)));
  return (await Promise.all(findings)).flat();
}

async function checkLogGroup(
  ctx: AwsContext,
  fix: boolean,
  fixed: string[],
): Promise<VerifyFinding[]> {
  const { group, retentionDays } = ctx.env.logs;
  const what = `log group ${group}`;
  let found: { retentionInDays?: number | undefined } | undefined;
  let token: string | undefined;
  do {
    const out = await awsCall('logs:DescribeLogGroups', group, () =>
      ctx.clients.logs.send(
        new DescribeLogGroupsCommand({
          logGroupNamePrefix: group,
          ...(token === undefined ? {} : { nextToken: token }),
        }),
      ),
    );
    found = out.logGroups?.find((g) => g.logGroupName === group) ?? found;
    token = found === undefined ? out.nextToken : undefined;
  } while (token !== undefined);
  if (found?.retentionInDays === retentionDays)
    return [{ ok: true, what, note: `${retentionDays} days` }];
  if (!fix) {
    const problem: VerifyProblem = found
      ? { reason: 'log-retention-differs', group, retentionDays, found: found.retentionInDays }
      : { reason: 'log-group-missing', group, retentionDays };
    return [{ ok: false, what, problem }];
  }
  if (!found) {
    await orMissing('logs:CreateLogGroup', group, ['ResourceAlreadyExistsException'], () =>
      ctx.clients.logs.send(new CreateLogGroupCommand({ logGroupName: group })),
    );
    fixed.push(`created log group ${group}`);
  }
  await awsCall('logs:PutRetentionPolicy', group, () =>
    ctx.clients.logs.send(
      new PutRetentionPolicyCommand({ logGroupName: group, retentionInDays: retentionDays }),
    ),
  );
  fixed.push(`log group ${group}: retention ${retentionDays} days`);
  return [{ ok: true, what, note: `${retentionDays} days` }];
}

async function checkTargetGroup(
  ctx: AwsContext,
  service: { name: string; containerPort: number },
  arn: string,
): Promise<VerifyFinding[]> {
  const what = `${service.name}: target group ${arn}`;
  // One ARN per call: DescribeTargetGroups fails whole when any ARN is missing.
  const out = await orMissing(
    'elasticloadbalancing:DescribeTargetGroups',
    arn,
    ['TargetGroupNotFoundException'],
    () => ctx.clients.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] })),
  );
  const tg = out?.TargetGroups?.[0];
  if (!tg)
    return [
      { ok: false, what, problem: { reason: 'target-group-missing', service: service.name, arn } },
    ];
  const problems = targetGroupProblems(
    service,
    arn,
    { port: tg.Port, protocol: tg.Protocol, targetType: tg.TargetType },
    ctx.env.network.mode,
  );
  if (problems.length === 0)
    return [
      { ok: true, what, note: `${tg.Protocol ?? ''} ${tg.Port ?? ''}, ${tg.TargetType ?? ''}` },
    ];
  return problems.map((problem) => ({ ok: false, what, problem }));
}

async function checkClusterAndServices(
  ctx: AwsContext,
  services: readonly string[],
): Promise<VerifyFinding[]> {
  const cluster = ctx.env.ecs.cluster;
  const out = await awsCall('ecs:DescribeClusters', cluster, () =>
    ctx.clients.ecs.send(new DescribeClustersCommand({ clusters: [cluster] })),
  );
  const status = out.clusters?.[0]?.status;
  if (status !== 'ACTIVE') {
    return [
      {
        ok: false,
        what: `cluster ${cluster}`,
        problem: {
          reason: 'cluster-missing',
          cluster,
          ...(status === undefined ? {} : { status }),
        },
      },
    ];
  }
  const described = await awsCall('ecs:DescribeServices', `${cluster}/${services.join(',')}`, () =>
    ctx.clients.ecs.send(new DescribeServicesCommand({ cluster, services: [...services] })),
  );
  return [
    { ok: true, what: `cluster ${cluster}` },
    ...services.map((name): VerifyFinding => {
      const live = described.services?.find((s) => s.serviceName === name);
      const state = live?.status ?? 'MISSING';
      return state === 'ACTIVE'
        ? { ok: true, what: `service ${name}` }
        : {
            ok: false,
            what: `service ${name}`,
            problem: { reason: 'service-not-active', cluster, service: name, status: state },
          };
    }),
  ];
}

function imagesOf(definitions: VerifyOptions['taskDefinitions']): string[] {
  const images = Object.values(definitions ?? {}).flatMap((d) =>
    (d.containerDefinitions ?? []).map((c) => c.image ?? ''),
  );
  return [...new Set(images)].filter((i) => i !== '');
}

/** Every check, in the report's order; fails (`verify-failed`) when any finds a problem. */
export async function verify(options: VerifyOptions): Promise<Result<VerifyReport>> {
  return runCommand(async () => {
    const ctx = options;
    const { env } = ctx;
    const fixed: string[] = [];
    // `fix` writes (the log group): never into an account the environment does not name.
    if (options.fix === true) await requireAccount(ctx);
    const services = Object.values(env.services);
    const groups = await Promise.all([
      ...imagesOf(options.taskDefinitions).map((image) =>
        check(`image ${image}`, () => checkImage(ctx, image)),
      ),
      check(`execution role`, () => checkRole(ctx, 'execution role', env.ecs.executionRoleArn)),
      check(`task role`, () => checkRole(ctx, 'task role', env.ecs.taskRoleArn)),
      checkSecrets(ctx),
      check(`log group ${env.logs.group}`, () => checkLogGroup(ctx, options.fix === true, fixed)),
      ...services.flatMap((s) => {
        const arn = s.loadBalancer?.targetGroupArn;
        if (arn === undefined) return [];
        const wanted = { name: s.name, containerPort: s.containerPort ?? 0 };
        return [check(`${s.name}: target group`, () => checkTargetGroup(ctx, wanted, arn))];
      }),
      ...(options.preflightOf !== undefined
        ? []
        : [
            check(`cluster ${env.ecs.cluster}`, () =>
              checkClusterAndServices(
                ctx,
                services.map((s) => s.name),
              ),
            ),
          ]),
    ]);
    const findings = groups.flat();
    if (findings.some((f) => !f.ok)) {
      throw new AwsFailure({
        reason: 'verify-failed',
        environment: env.name,
        findings,
        fixed,
        ...(options.preflightOf === undefined ? {} : { preflightOf: options.preflightOf }),
      });
    }
    return { environment: env.name, findings, fixed };
  });
}

export function describeVerify(report: VerifyReport): string {
  return describeFindings(report.environment, report.findings, report.fixed);
}
