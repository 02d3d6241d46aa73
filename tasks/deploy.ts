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
import { TaskError, decodeCommand } from 'taskgraph';
import type { EcsEnvironment } from '../src/environment.ts';
import type { PreflightOf } from '../src/aws/verify-problems.ts';
import { dockerFor } from './docker.ts';
import { settings, tagOf } from './settings.ts';
import { sourceRevision } from './source-revision.ts';

/** The SDK's own variables: a change of account or endpoint must not look up to date. */
const AWS_ENV = [
  'AWS_PROFILE',
  'AWS_REGION',
  'AWS_ENDPOINT_URL_ECS',
  'AWS_ENDPOINT_URL_ECR',
  'AWS_ENDPOINT_URL_STS',
  'AWS_ENDPOINT_URL_CLOUDWATCH_LOGS',
  'AWS_ENDPOINT_URL_SSM',
  'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  'AWS_ENDPOINT_URL_IAM',
  'AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2',
];

/**
 * What every day-two read (verify, run, artisan, logs, status, diff) declares besides its own:
 * the SDK's variables, and readOnly: nothing for the run to remember and no lock, so it never
 * waits for a deploy.
 */
const DAY_TWO_READ = { env: AWS_ENV, readOnly: true } as const;

type Aws = typeof import('../src/aws/commands.ts');

/** Refuses a task's arguments before anything runs: `message` says how to call it. */
function usageError(message: string): never {
  throw new TaskError({ reason: 'reported', message });
}

/** Runs one AWS command: its report on success, its failure in words (and exit 1) otherwise. */
async function withAws<T>(...args: Parameters<typeof awsValue<T>>): Promise<void> {
  await awsValue(...args);
}

/** withAws, returning the command's value for a task that goes on with it. */
async function awsValue<T>(
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
): Promise<T> {
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
    return result.value;
  } finally {
    aws.destroyAwsClients(clients);
  }
}

/** A service by its key in the environment file or its ECS name; a usage error otherwise. */
function serviceName(env: EcsEnvironment, given: string | undefined, usage: string): string {
  const fallback = env.services[env.deploy.migrate.service]?.name;
  if (given === undefined && fallback !== undefined) return fallback;
  const found = Object.entries(env.services).find(([key, s]) => key === given || s.name === given);
  if (found) return found[1].name;
  const known = Object.entries(env.services).map(([key, s]) => `${key} (${s.name})`);
  return usageError(
    `no service ${JSON.stringify(given)} in environments/${env.name}.ts: use one of ${known.join(', ')}. ${usage}`,
  );
}

/** The command after `--`, or a usage error. */
function commandOf(value: string | undefined, usage: string): string[] {
  const command = decodeCommand(value);
  if (command === undefined || command.length === 0) {
    usageError(`no command given. ${usage}`);
  }
  return command;
}

/** ENV:run and ENV:artisan: a one-off task; `task` exits with the container's exit code. */
async function runInCluster(
  ctx: PreflightContext,
  env: EcsEnvironment,
  service: string,
  command: readonly string[],
): Promise<void> {
  const report = await awsValue(
    ctx,
    env,
    (aws, context) => aws.runOneOff({ ...context, service, command }),
    (aws, value) => aws.describeRun(value),
  );
  if (report.exitCode !== 0) {
    throw new TaskError({
      reason: 'reported',
      message: `${JSON.stringify(command)} exited ${report.exitCode} in task ${report.taskId} (${report.stoppedReason})`,
      exitCode: report.exitCode,
    });
  }
}

export function defineDeployTasks(env: EcsEnvironment): void {
  const { images } = settings;
  const name = env.name;
  /** The usage of a task called with bracketed args, quoted as a shell needs it. */
  const bracketUsage = (form: string, example: string): string =>
    `usage: npx task '${name}:${form}', e.g. '${name}:${example}'`;
  /** Before anything a deploy depends on builds: credentials that reach this account (STS). */
  const accountCheck = (ctx: PreflightContext): Promise<void> =>
    withAws(
      ctx,
      env,
      (aws, context) => aws.checkAccount(context),
      (_aws, who) => `AWS account ${who.account} (${who.arn})`,
    );
  /**
   * Before anything is built or pushed: the account, then what a deploy relies on besides the
   * images (roles, secrets, log group, target groups). A missing secret stops here, and the
   * message names the command that stopped (`create`, `deploy`, a dry run).
   */
  const verifyBefore =
    (command: PreflightOf) =>
    async (ctx: PreflightContext): Promise<void> => {
      await accountCheck(ctx);
      await withAws(
        ctx,
        env,
        (aws, context) => aws.verify({ ...context, preflightOf: command }),
        (aws, value) => aws.describeVerify(value),
      );
    };

  task('verify', {
    desc: `Check what a ${name} deploy relies on (images, roles, secrets, log group, target groups, services); verify[fix] creates the log group`,
    deps: ['render'],
    args: ['mode'],
    ...DAY_TWO_READ,
    run: (ctx) => {
      const { mode } = ctx.args;
      if (mode !== undefined && mode !== 'fix') {
        usageError(
          `usage: npx task ${name}:verify, or '${name}:verify[fix]' to create the log group or correct its retention`,
        );
      }
      return withAws(
        ctx,
        env,
        async (aws, context, rendered) =>
          aws.verify({ ...context, taskDefinitions: await rendered(), fix: mode === 'fix' }),
        (aws, value) => aws.describeVerify(value),
      );
    },
  });

  const runUsage = `usage: npx task ${name}:run -- [--service=SERVICE] CMD ARGS...`;
  task('run', {
    desc: `Run a command as a one-off ${name} task (a service's task definition and network), streaming its output: run -- [--service=S] CMD...`,
    args: ['command', 'service'],
    ...DAY_TWO_READ,
    run: (ctx) =>
      runInCluster(
        ctx,
        env,
        serviceName(env, ctx.args.service, runUsage),
        commandOf(ctx.args.command, runUsage),
      ),
  });

  const artisanUsage = `usage: npx task ${name}:artisan -- ARGS... (e.g. migrate:status)`;
  task('artisan', {
    desc: `Run \`php artisan ARGS\` as a one-off ${name} task, streaming its output: artisan -- migrate:status`,
    args: ['command'],
    ...DAY_TWO_READ,
    run: (ctx) =>
      runInCluster(ctx, env, serviceName(env, undefined, artisanUsage), [
        'php',
        'artisan',
        ...commandOf(ctx.args.command, artisanUsage),
      ]),
  });

  task('logs', {
    desc: `Follow ${name}'s container logs, each line prefixed with its task: logs -- [--service=S] [--since=10m] [--filter=WORDS] [--follow=false]`,
    args: ['service', 'since', 'filter', 'follow'],
    ...DAY_TWO_READ,
    run: async (ctx) => {
      const usage = `usage: npx task ${name}:logs -- [--service=S] [--since=10m|2h|ISO time] [--filter=WORDS] [--follow=false]`;
      const services = Object.values(env.services).filter(
        (s) =>
          ctx.args.service === undefined || s.name === serviceName(env, ctx.args.service, usage),
      );
      const aws = await import('../src/aws/commands.ts');
      const since = aws.parseSince(ctx.args.since ?? '10m', Date.now());
      if (since === undefined) {
        usageError(`--since: ${usage}`);
      }
      await withAws(
        ctx,
        env,
        (aws, context) =>
          aws.logs({
            ...context,
            services: services.map((s) => s.name),
            since,
            follow: ctx.args.follow !== 'false',
            ...(ctx.args.filter === undefined ? {} : { filter: ctx.args.filter }),
          }),
        (_aws, printed) => `${printed} line${printed === 1 ? '' : 's'}`,
      );
    },
  });

  task('push', {
    desc: `Push ${name}'s images to ECR (only tags the registry lacks)`,
    deps: [':images:build', 'nginx'],
    env: AWS_ENV,
    // Push writes to ECR only; what ECS needs besides is create's and deploy's preflight.
    preflight: accountCheck,
    run: (ctx) =>
      withAws(
        ctx,
        env,
        (aws, context) => {
          // The fingerprint lets push accept an image built elsewhere from the same inputs.
          const built = (dep: string, repository: string) => {
            const fingerprint = ctx.deps[dep]?.fingerprint ?? '';
            const tag = tagOf(fingerprint);
            return { source: `${repository}:${tag}`, tag, fingerprint };
          };
          return aws.push({
            ...context,
            docker: dockerFor(ctx),
            images: {
              phpFpm: built('images:build', images.prodPhpFpm),
              nginx: built(`${name}:nginx`, images.prodNginx),
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
    preflight: verifyBefore('create'),
    run: (ctx) =>
      withAws(
        ctx,
        env,
        async (aws, context, rendered) =>
          aws.create({ ...context, taskDefinitions: await rendered() }),
        (aws, value) => aws.describeCreate(value),
      ),
  });

  /** `-- --dry-run` (or `--dry-run=true`): print what a deploy would do, writing nothing. */
  const dryRun = (args: { readonly 'dry-run'?: string }): boolean =>
    args['dry-run'] !== undefined && args['dry-run'] !== 'false';

  task('deploy', {
    desc: `Deploy to ${name}: push, register what changed, migrate, roll out, verify, roll back on failure; \`-- --dry-run\` prints what it would do and writes nothing`,
    args: ['force', 'dry-run'],
    // A dry run reads the rendered task definitions (they name the images, built locally) and
    // asks AWS only read calls; ENV:push writes to ECR, so it is no prerequisite of a dry run.
    deps: (args) => (dryRun(args) ? ['render'] : ['push', 'render']),
    // A dry run writes nothing, so its own node takes no lock; its deps (render, the images)
    // are still claimed: two dry runs wait for each other only while one builds or renders.
    readOnly: dryRun,
    env: AWS_ENV,
    // A dry run stops where the deploy would: in verify's checks, before anything is built.
    preflight: (ctx) => verifyBefore(dryRun(ctx.args) ? 'dry-run' : 'deploy')(ctx),
    run: (ctx) =>
      dryRun(ctx.args)
        ? withAws(
            ctx,
            env,
            async (aws, context, rendered) =>
              aws.dryRun({ ...context, taskDefinitions: await rendered() }),
            (aws, value) => aws.describeDryRun(value),
          )
        : withAws(
            ctx,
            env,
            async (aws, context, rendered) =>
              aws.deploy({
                ...context,
                // Recorded on the revisions this deploy registers, never in an image.
                source: await sourceRevision(ctx),
                taskDefinitions: await rendered(),
                force: ctx.args.force === 'true',
              }),
            (aws, value) => aws.describeDeploy(value),
          ),
  });

  task('plan', {
    desc: `The same as \`${name}:deploy -- --dry-run\`: what a deploy would push, register, migrate and update; writes nothing`,
    deps: [{ task: 'deploy', args: { 'dry-run': 'true' } }],
  });

  task('rollback', {
    desc: `Roll a ${name} service back to its previous revision (or [service,revision])`,
    args: ['service', 'revision'],
    env: AWS_ENV,
    run: (ctx) => {
      const { service, revision } = ctx.args;
      if (revision !== undefined && (!service || !/^\d+$/.test(revision))) {
        usageError(bracketUsage('rollback[service,revision]', 'rollback[php-fpm,12]'));
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
    ...DAY_TWO_READ,
    run: (ctx) =>
      withAws(
        ctx,
        env,
        (aws, context) => aws.status(context),
        (aws, value) => aws.describeStatus(value),
      ),
  });

  task('diff', {
    desc: `Rendered ${name} task definitions and service settings against the live ones, as a unified diff (changes nothing)`,
    deps: ['render'],
    ...DAY_TWO_READ,
    run: (ctx) =>
      withAws(
        ctx,
        env,
        async (aws, context, rendered) => {
          const taskDefinitions = await rendered();
          const summary = await aws.diff({ ...context, taskDefinitions });
          if (!summary.ok) return summary;
          // Coloured on a terminal only: a CI log or a pipe gets plain `diff -u` text.
          const color = process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined;
          const unified = await aws.unifiedServiceDiff({ ...context, taskDefinitions, color });
          if (!unified.ok) return unified;
          return { ok: true, value: { summary: summary.value, unified: unified.value } };
        },
        (aws, value) =>
          `${aws.describeDiff(value.summary)}\n${aws.describeUnifiedDiff(value.unified)}`,
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
        usageError(bracketUsage('scale[service,count]', 'scale[php-fpm,4]'));
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
