/**
 * ECR and ECS for each ECS environment: ENV:push, ENV:create, ENV:deploy and the day-two
 * commands. The AWS SDK is imported only when one of these runs (a lazy chunk of the bundled
 * Taskfile), so every other `npx task` starts without it.
 *
 * Credentials come from the SDK's default chain, endpoints from its standard variables
 * (AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS): nothing here reads them from an environment file.
 */
import { task } from 'taskgraph';
import type { PreflightContext } from 'taskgraph';
import { TaskError } from 'taskgraph';
import type { EcsEnvironment } from '../src/environment.ts';
import { dockerFor } from './docker.ts';
import { settings, tagOf } from './settings.ts';

/** The SDK's own variables: a change of account or endpoint must not look up to date. */
const AWS_ENV = [
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_ENDPOINT_URL_ECS',
  'AWS_ENDPOINT_URL_ECR',
  'AWS_ENDPOINT_URL_STS',
];

type Aws = typeof import('../src/aws/commands.ts');

/** Runs one AWS command: its report on success, its failure in words (and exit 1) otherwise. */
async function withAws<T>(
  ctx: PreflightContext,
  env: EcsEnvironment,
  command: (
    aws: Aws,
    context: import('../src/aws/clients.ts').AwsContext,
    /** The task definitions ENV:render wrote (build/ENV/ecs/), read when a command needs them. */
    rendered: () => ReturnType<Aws['readRenderedTaskDefinitions']>,
  ) => Promise<
    { ok: true; value: T } | { ok: false; failure: import('../src/aws/errors.ts').AwsFailureData }
  >,
  describe: (aws: Aws, value: T) => string,
): Promise<void> {
  const aws = await import('../src/aws/commands.ts');
  const clients = aws.createAwsClients(env);
  try {
    const result = await command(
      aws,
      { env, clients, clock: aws.systemClock, log: (line) => ctx.log(line), signal: ctx.signal },
      () => aws.readRenderedTaskDefinitions(env, { cwd: ctx.root }),
    );
    if (!result.ok) {
      throw new TaskError({
        reason: 'reported',
        message: aws.describeAwsFailure(result.failure, { environment: env.name }),
      });
    }
    ctx.log(describe(aws, result.value));
  } finally {
    aws.destroyAwsClients(clients);
  }
}

export function defineDeployTasks(env: EcsEnvironment): void {
  const { images } = settings;
  const name = env.name;
  /** Before anything a deploy depends on builds: credentials that reach this account (STS). */
  const accountCheck = (ctx: PreflightContext): Promise<void> =>
    withAws(
      ctx,
      env,
      (aws, context) => aws.checkAccount(context),
      (_aws, who) => `AWS account ${who.account} (${who.arn})`,
    );

  task('push', {
    desc: `Push ${name}'s images to ECR (only tags the registry lacks)`,
    deps: [':images:build', 'nginx'],
    env: AWS_ENV,
    preflight: accountCheck,
    run: (ctx) =>
      withAws(
        ctx,
        env,
        (aws, context) => {
          const tag = (dep: string): string => tagOf(ctx.deps[dep]?.fingerprint ?? '');
          return aws.push({
            ...context,
            docker: dockerFor(ctx),
            images: {
              phpFpm: {
                source: `${images.prodPhpFpm}:${tag('images:build')}`,
                tag: tag('images:build'),
              },
              nginx: {
                source: `${images.prodNginx}:${tag(`${name}:nginx`)}`,
                tag: tag(`${name}:nginx`),
              },
            },
          });
        },
        (aws, value) => aws.describePush(value),
      ),
  });

  task('create', {
    desc: `Create ${name}'s ECS cluster and services (refuses to touch services that exist)`,
    deps: ['render', 'push'],
    env: AWS_ENV,
    preflight: accountCheck,
    run: (ctx) =>
      withAws(
        ctx,
        env,
        async (aws, context, rendered) =>
          aws.create({ ...context, taskDefinitions: await rendered() }),
        (aws, value) => aws.describeCreate(value),
      ),
  });

  task('deploy', {
    desc: `Deploy to ${name}: push, register what changed, migrate, roll out, verify, roll back on failure`,
    deps: ['push', 'render'],
    args: ['force'],
    env: AWS_ENV,
    preflight: accountCheck,
    run: (ctx) =>
      withAws(
        ctx,
        env,
        async (aws, context, rendered) =>
          aws.deploy({
            ...context,
            taskDefinitions: await rendered(),
            force: ctx.args.force === 'true',
          }),
        (aws, value) => aws.describeDeploy(value),
      ),
  });

  task('rollback', {
    desc: `Roll a ${name} service back to its previous revision (or [service,revision])`,
    args: ['service', 'revision'],
    env: AWS_ENV,
    run: (ctx) => {
      const { service, revision } = ctx.args;
      if (revision !== undefined && (!service || !/^\d+$/.test(revision))) {
        throw new TaskError({
          reason: 'reported',
          message: `usage: npx task '${name}:rollback[service,revision]', e.g. '${name}:rollback[php-fpm,12]'`,
        });
      }
      return withAws(
        ctx,
        env,
        (aws, context) =>
          aws.rollback({
            ...context,
            ...(service ? { service } : {}),
            ...(revision ? { revision: Number(revision) } : {}),
          }),
        (aws, value) => aws.describeRollback(value),
      );
    },
  });

  task('status', {
    desc: `${name}'s services: deployments, revisions and image tags running`,
    env: AWS_ENV,
    readOnly: true,
    run: (ctx) =>
      withAws(
        ctx,
        env,
        (aws, context) => aws.status(context),
        (aws, value) => aws.describeStatus(value),
      ),
  });

  task('diff', {
    desc: `Rendered ${name} task definitions against the live ones (changes nothing)`,
    deps: ['render'],
    env: AWS_ENV,
    readOnly: true,
    run: (ctx) =>
      withAws(
        ctx,
        env,
        async (aws, context, rendered) =>
          aws.diff({ ...context, taskDefinitions: await rendered() }),
        (aws, value) => aws.describeDiff(value),
      ),
  });

  task('deregister', {
    desc: `Deregister old ${name} task definition revisions (keep the last N, never one in use)`,
    args: ['keep'],
    env: AWS_ENV,
    run: (ctx) =>
      withAws(
        ctx,
        env,
        (aws, context) =>
          aws.deregister({ ...context, ...(ctx.args.keep ? { keep: Number(ctx.args.keep) } : {}) }),
        (aws, value) => aws.describeDeregister(value),
      ),
  });

  task('scale', {
    desc: `Set a ${name} service's desired count and wait until it holds: scale[service,count]`,
    args: ['service', 'count'],
    env: AWS_ENV,
    run: (ctx) => {
      const { service, count } = ctx.args;
      if (!service || !count || !/^\d+$/.test(count)) {
        throw new TaskError({
          reason: 'reported',
          message: `usage: npx task '${name}:scale[service,count]', e.g. '${name}:scale[php-fpm,4]'`,
        });
      }
      return withAws(
        ctx,
        env,
        (aws, context) => aws.scale({ ...context, service, count: Number(count) }),
        (aws, value) => aws.describeScale(value),
      );
    },
  });
}
