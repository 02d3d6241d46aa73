/**
 * The local environment: `local:deploy` runs the production images on this machine as ECS runs
 * them (same images, the environment's rendered nginx config, host networking on 127.0.0.1),
 * `local:status` shows what runs and whether it is healthy, `local:down` removes it.
 *
 * local:deploy is incremental like any task: its fingerprint covers the image tags it runs (its
 * deps' fingerprints) and its outputs are the running containers themselves, so a second run with
 * nothing changed touches nothing, and a container that was removed or died makes it run again.
 * The switchover itself is described in tasks/local-plan.ts.
 */
import { task } from 'taskgraph';
import type { TaskContext } from 'taskgraph';
import { createDocker } from '../src/docker/docker.ts';
import type { Docker } from '../src/docker/docker.ts';
import { renderNginxConfig } from '../environments/index.ts';
import type { LocalEnvironment } from '../environments/index.ts';
import { dockerFor } from './docker.ts';
import { appEnvironment, databaseVolume, ensureDatabase, migrate } from './local-database.ts';
import { configuredPort, planDeploy } from './local-plan.ts';
import type { LocalContainer, Plan } from './local-plan.ts';
import {
  CONF_MOUNT,
  RUNTIME_CONF_FILE,
  appHealthOverFastcgi,
  containerName,
  containersOutput,
  failLocal,
  httpHealth,
  lastLogLines,
  listContainers,
  pingPhpFpm,
  portIsFree,
  readSiteConfig,
  roleLabels,
  switchNginx,
  waitHealthy,
  writeSiteConfig,
} from './local-runtime.ts';
import { SECRETS_FILE, localSecrets } from './local-secrets.ts';
import { deployWorkers, planWorkers } from './local-workers.ts';
import { settings, tagOf } from './settings.ts';

const HEALTH_TIMEOUT_MS = 30_000;
const PORT_VARIABLES = {
  nginx: 'TASKGRAPH_LOCAL_NGINX_PORT',
  primary: 'TASKGRAPH_LOCAL_PHP_FPM_PORT',
  alternate: 'TASKGRAPH_LOCAL_PHP_FPM_ALTERNATE_PORT',
  database: 'TASKGRAPH_LOCAL_DB_PORT',
} as const;

export function defineLocalTasks(env: LocalEnvironment): void {
  const url = `http://${env.host}:${env.nginx.port}`;

  task('deploy', {
    desc: `Build everything and run the app on ${url} with its database, worker and scheduler; php-fpm is replaced with no downtime`,
    deps: [':images:build', 'nginx', ':images:dev-mariadb'],
    vars: { env, images: settings.images },
    outputs: ({ root }) => [containersOutput(root), RUNTIME_CONF_FILE],
    run: (ctx) => deploy(ctx, env, url),
  });

  task('status', {
    desc: 'The local containers of this checkout: image, state, health',
    run: (ctx) => status(ctx, env, url),
  });

  task('down', {
    desc: "Stop and remove this checkout's local containers; the database volume stays unless `local:down[purge]`",
    args: ['purge'],
    run: async (ctx) => {
      const purge = ctx.args.purge;
      if (purge !== undefined && purge !== 'purge' && purge !== 'true')
        throw new Error(`local:down[purge]: expected "purge", got "${purge}"`);
      const docker = dockerFor(ctx);
      const containers = await listContainers(docker, ctx.root);
      if (containers.length === 0) ctx.log('nothing runs for this checkout');
      // `docker stop` sends each container's stop signal (SIGQUIT for php-fpm, SIGTERM for the
      // workers): requests and jobs in flight finish.
      const names = containers.map((container) => container.name);
      if (names.length > 0) {
        await ctx.exec('docker', ['stop', '--time', '30', ...names], { quiet: true });
        await docker.rm(names);
      }
      for (const name of names) ctx.log(`removed ${name}`);
      const volume = databaseVolume(ctx.root);
      if (purge === undefined) {
        ctx.log(`kept the database volume ${volume}: \`npx task 'local:down[purge]'\` removes it`);
        return;
      }
      const removed = await ctx.exec('docker', ['volume', 'rm', volume], {
        quiet: true,
        allowFailure: true,
      });
      ctx.log(
        removed.exitCode === 0
          ? `removed the database volume ${volume}`
          : `no database volume ${volume}`,
      );
    },
  });
}

async function deploy(ctx: TaskContext, env: LocalEnvironment, url: string): Promise<void> {
  const docker = dockerFor(ctx);
  const tag = (name: string): string => tagOf(ctx.deps[name]?.fingerprint ?? '');
  const images = {
    phpFpm: `${settings.images.prodPhpFpm}:${tag('images:build')}`,
    nginx: `${settings.images.prodNginx}:${tag('local:nginx')}`,
    database: `${settings.images.devMariadb}:${tag('images:dev-mariadb')}`,
  };
  const secrets = localSecrets(ctx.root, process.env);
  const environment = appEnvironment(env, secrets);
  const containers = await listContainers(docker, ctx.root);
  const plan = planDeploy(
    { containers, configuredPort: configuredPort(readSiteConfig(ctx.root)) },
    { phpFpmImage: images.phpFpm, nginxImage: images.nginx, ports: env.phpFpm.ports },
  );
  // Every port is checked before anything changes, so a taken one leaves what runs untouched.
  if (plan.phpFpm.kind === 'start') {
    const target = plan.phpFpm.port;
    const variable =
      target === env.phpFpm.ports.primary ? PORT_VARIABLES.primary : PORT_VARIABLES.alternate;
    // A leftover container of ours on that port is removed below, so it does not count as taken.
    const ours = plan.clear.some((container) => container.port === target);
    if (!ours) await requireFreePort(env, target, 'php-fpm', variable);
  }
  const replaced = plan.nginx.kind === 'start' ? plan.nginx.replace : undefined;
  const nginxHoldsPort = replaced?.state === 'running' && replaced.port === env.nginx.port;
  if (plan.nginx.kind === 'start' && !nginxHoldsPort) {
    await requireFreePort(env, env.nginx.port, 'nginx', PORT_VARIABLES.nginx);
  }
  const databaseHoldsPort = containers.some(
    (c) => c.role === 'database' && c.state === 'running' && c.port === env.database.port,
  );
  if (!databaseHoldsPort) {
    await requireFreePort(env, env.database.port, 'database', PORT_VARIABLES.database);
  }

  // The database first, then the migrations from the new image: a failure here has switched
  // nothing, and the old php-fpm, workers and nginx keep serving.
  const database = await ensureDatabase(ctx, docker, {
    env,
    image: images.database,
    secrets,
    containers,
  });
  const workersChange = planWorkers(env.workers, containers, images.phpFpm).steps.some(
    (step) => step.keep === undefined,
  );
  if (database.started || plan.phpFpm.kind === 'start' || workersChange) {
    await migrate(ctx, docker, { image: images.phpFpm, environment });
  }
  await docker.rm(plan.clear.map((container) => container.id));

  const phpFpm = plan.phpFpm.kind === 'keep' ? plan.phpFpm.container : undefined;
  const port = plan.phpFpm.kind === 'keep' ? (phpFpm?.port ?? 0) : plan.phpFpm.port;
  const phpFpmName = phpFpm?.name ?? containerName(ctx.root, 'php-fpm', port);
  if (plan.phpFpm.kind === 'start') {
    await startPhpFpm(ctx, docker, { env, image: images.phpFpm, port, environment });
  }

  const site = await renderNginxConfig(env, {
    cwd: ctx.root,
    fastcgi: { host: env.host, port },
  });
  const nginxName = containerName(ctx.root, 'nginx');
  if (plan.nginx.kind === 'start') {
    writeSiteConfig(ctx.root, site.content);
    if (plan.nginx.replace !== undefined) await docker.rm([plan.nginx.replace.id]);
    await docker.runDetached({
      image: images.nginx,
      name: nginxName,
      network: 'host',
      pull: 'never',
      labels: roleLabels(ctx.root, 'nginx', env.nginx.port),
      volumes: [CONF_MOUNT],
    });
  } else if (plan.phpFpm.kind === 'start') {
    await switchNginx(ctx, nginxName, site.content);
  }

  const health = await waitHealthy(
    ctx,
    nginxName,
    () => httpHealth(`${url}/health`, ctx.signal),
    HEALTH_TIMEOUT_MS,
  );
  if (!health.ok) await rollBack(ctx, env, plan, { nginxName, phpFpmName, check: health.detail });

  const retire = plan.phpFpm.kind === 'start' ? plan.phpFpm.retire : undefined;
  if (retire !== undefined) {
    // Nothing sends to it any more (the old nginx workers are gone); SIGQUIT lets it finish.
    await ctx.exec('docker', ['stop', '--time', '30', retire.name], { quiet: true });
    await docker.rm([retire.id]);
    ctx.log(`stopped ${retire.name} (${retire.image})`);
  }
  // Last: the new code serves before the new workers take jobs from the queue.
  const workers = await deployWorkers(ctx, docker, {
    env,
    image: images.phpFpm,
    environment,
    containers,
  });
  ctx.log(describePlan(plan, images));
  ctx.log(`workers: ${workers.join('; ') || 'none declared'}`);
  ctx.log(
    `database: ${env.database.name} on ${env.host}:${env.database.port} (volume ${databaseVolume(ctx.root)}; secrets in ${SECRETS_FILE})`,
  );
  ctx.log(`serving on ${url}`);
}

/**
 * Starts php-fpm on `port` beside whatever serves now and waits for its ping and the app's
 * /health over FastCGI. On failure it is removed (also on Ctrl-C) and nothing else was touched.
 */
async function startPhpFpm(
  ctx: TaskContext,
  docker: Docker,
  options: {
    readonly env: LocalEnvironment;
    readonly image: string;
    readonly port: number;
    readonly environment: Readonly<Record<string, string>>;
  },
): Promise<void> {
  const { env, image, port } = options;
  const name = containerName(ctx.root, 'php-fpm', port);
  const pool = env.phpFpm.pool;
  // The same variables the ECS task definition sets (config-templates/ecs/php-fpm.json.ejs).
  const containerEnv = {
    ...options.environment,
    PHP_FPM_HOST: env.host,
    PHP_FPM_PORT: String(port),
    PHP_FPM_PM: pool.pm,
    PHP_FPM_PM_MAX_CHILDREN: String(pool.maxChildren),
    PHP_FPM_PM_START_SERVERS: String(pool.startServers),
    PHP_FPM_PM_MIN_SPARE_SERVERS: String(pool.minSpareServers),
    PHP_FPM_PM_MAX_SPARE_SERVERS: String(pool.maxSpareServers),
    PHP_FPM_PM_MAX_REQUESTS: String(pool.maxRequests),
  };
  // Without the task's signal: removing a half-started container must still happen after Ctrl-C.
  const cleanup = createDocker({ cwd: ctx.root });
  try {
    await docker.runDetached({
      image,
      name,
      network: 'host',
      pull: 'never',
      env: containerEnv,
      labels: roleLabels(ctx.root, 'php-fpm', port),
    });
    const health = await waitHealthy(
      ctx,
      name,
      async () => {
        const ping = await pingPhpFpm(ctx, name);
        return ping.ok ? appHealthOverFastcgi(ctx, name, port) : ping;
      },
      HEALTH_TIMEOUT_MS,
    );
    if (!health.ok) {
      const lastLines = await lastLogLines(ctx, name);
      failLocal({ reason: 'unhealthy', container: name, image, check: health.detail, lastLines });
    }
    ctx.log(`${name} (${image}) is healthy on ${env.host}:${port}`);
  } catch (error) {
    await cleanup.rm([name]);
    throw error;
  }
}

/**
 * The whole path failed after the switch. With a previous php-fpm, nginx goes back to it and the
 * new one is removed; on a first deploy the containers stay for `docker logs`.
 */
async function rollBack(
  ctx: TaskContext,
  env: LocalEnvironment,
  plan: Plan,
  failed: { nginxName: string; phpFpmName: string; check: string },
): Promise<never> {
  const lastLines = [
    ...(await lastLogLines(ctx, failed.nginxName, 10)).map((line) => `nginx: ${line}`),
    ...(await lastLogLines(ctx, failed.phpFpmName, 10)).map((line) => `php-fpm: ${line}`),
  ];
  const retire = plan.phpFpm.kind === 'start' ? plan.phpFpm.retire : undefined;
  if (retire?.port !== undefined && plan.nginx.kind === 'keep') {
    const previous = await renderNginxConfig(env, {
      cwd: ctx.root,
      fastcgi: { host: env.host, port: retire.port },
    });
    await switchNginx(ctx, failed.nginxName, previous.content);
    await createDocker({ cwd: ctx.root }).rm([failed.phpFpmName]);
  }
  return failLocal({
    reason: 'unhealthy',
    container: failed.nginxName,
    image: 'nginx -> php-fpm',
    check: failed.check,
    lastLines,
  });
}

async function requireFreePort(
  env: LocalEnvironment,
  port: number,
  what: string,
  variable: string,
): Promise<void> {
  if (!(await portIsFree(env.host, port)))
    failLocal({ reason: 'port-taken', port, what, variable });
}

function describePlan(plan: Plan, images: { phpFpm: string; nginx: string }): string {
  const phpFpm =
    plan.phpFpm.kind === 'keep'
      ? `php-fpm unchanged (${images.phpFpm})`
      : `php-fpm ${images.phpFpm} on port ${plan.phpFpm.port}${plan.phpFpm.retire === undefined ? '' : ` replaced ${plan.phpFpm.retire.image}`}`;
  const nginx =
    plan.nginx.kind === 'keep'
      ? `nginx unchanged (${images.nginx})`
      : `nginx ${images.nginx} started`;
  return `${phpFpm}; ${nginx}`;
}

async function status(ctx: TaskContext, env: LocalEnvironment, url: string): Promise<void> {
  const containers = await listContainers(dockerFor(ctx), ctx.root);
  if (containers.length === 0) {
    ctx.log('nothing runs for this checkout: start it with `npx task local:deploy`');
    return;
  }
  const active = configuredPort(readSiteConfig(ctx.root));
  for (const container of containers) {
    const health = await healthOf(ctx, container, url);
    const serving = container.role === 'php-fpm' && container.port === active ? ' (serving)' : '';
    const where =
      container.role === 'nginx'
        ? url
        : container.port === undefined
          ? '-'
          : `${env.host}:${container.port}`;
    const role = container.role === 'worker' ? (container.service ?? 'worker') : container.role;
    // Docker's own verdict too, as `docker ps` shows it: our probe and its HEALTHCHECK can differ
    // (its interval, or a health check the container has none of).
    const docker = `docker: ${container.health ?? 'no health check'}`;
    ctx.log(
      `${role.padEnd(9)} ${container.image}  ${where}  ${container.state}, ${health}${serving}, ${docker}  [${container.name}]`,
    );
  }
}

async function healthOf(ctx: TaskContext, container: LocalContainer, url: string): Promise<string> {
  if (container.state !== 'running') return 'not running';
  // A worker has nothing to ask: running is all it shows (its log says what it does).
  if (container.role === 'worker') return 'no health check';
  const probe =
    container.role === 'nginx'
      ? await httpHealth(`${url}/health`, ctx.signal)
      : container.role === 'database'
        ? await pingDatabase(ctx, container.name)
        : await pingPhpFpm(ctx, container.name);
  return probe.ok ? 'healthy' : `unhealthy: ${probe.detail}`;
}

async function pingDatabase(
  ctx: TaskContext,
  container: string,
): Promise<{ ok: boolean; detail: string }> {
  const result = await ctx.exec('docker', ['exec', container, 'mariadb-entrypoint', 'ping'], {
    quiet: true,
    allowFailure: true,
  });
  return { ok: result.exitCode === 0, detail: `mariadb-admin ping: exit ${result.exitCode}` };
}
