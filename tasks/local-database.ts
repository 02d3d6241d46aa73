/**
 * The local environment's database and migrations: a MariaDB container (images/mariadb) with its
 * data on a named volume that outlives it, and `php artisan migrate --force` run from the new
 * php-fpm image as a one-off container before anything is switched, gated on its exit code as the
 * ECS migration task is (src/aws/migration.ts): non-zero stops the deploy with Laravel's error and
 * leaves what serves untouched.
 */
import { createHash } from 'node:crypto';
import type { TaskContext } from 'taskgraph';
import type { Docker } from '../src/docker/docker.ts';
import { isDockerFailure } from '../src/docker/errors.ts';
import type { LocalEnvironment } from '../environments/index.ts';
import type { LocalContainer } from './local-plan.ts';
import {
  containerName,
  containerState,
  failLocal,
  lastLogLines,
  projectLabels,
  roleLabels,
} from './local-runtime.ts';
import type { LocalSecrets } from './local-secrets.ts';

const DATA_DIR = '/var/lib/mysql';
const START_TIMEOUT_MS = 90_000;
/** Label with a digest of the password the server was started with: a new one restarts it. */
const SECRET_LABEL = 'taskgraph.secret-digest';
const MIGRATE = ['php', 'artisan', 'migrate', '--force'];

/** The named volume holding the database's files: one per checkout, like the containers. */
export function databaseVolume(root: string): string {
  return `taskgraph-local-${projectLabels(root)['taskgraph.project'] ?? ''}-mariadb-data`;
}

/** What every php container of the local environment gets: the app's env, the database, secrets. */
export function appEnvironment(
  env: LocalEnvironment,
  secrets: LocalSecrets,
): Record<string, string> {
  return {
    ...env.app.env,
    DB_HOST: env.host,
    DB_PORT: String(env.database.port),
    DB_DATABASE: env.database.name,
    DB_USERNAME: env.database.user,
    DB_PASSWORD: secrets.DB_PASSWORD,
    APP_KEY: secrets.APP_KEY,
  };
}

function secretDigest(secrets: LocalSecrets): string {
  return createHash('sha256').update(secrets.DB_PASSWORD).digest('hex').slice(0, 16);
}

/**
 * Keeps the database container when it runs the wanted image with the current password, else
 * replaces it (the volume stays). Returns whether a server was started, so the caller migrates.
 */
export async function ensureDatabase(
  ctx: TaskContext,
  docker: Docker,
  options: {
    readonly env: LocalEnvironment;
    readonly image: string;
    readonly secrets: LocalSecrets;
    readonly containers: readonly LocalContainer[];
  },
): Promise<{ readonly started: boolean }> {
  const { env, image, secrets } = options;
  const digest = secretDigest(secrets);
  const current = options.containers.filter((container) => container.role === 'database');
  const keep = current.find(
    (container) =>
      container.state === 'running' &&
      container.image === image &&
      container.port === env.database.port &&
      container.secretDigest === digest,
  );
  if (keep !== undefined) return { started: false };

  await docker.rm(current.map((container) => container.id));
  const name = containerName(ctx.root, 'database');
  await docker.runDetached({
    image,
    name,
    network: 'host',
    pull: 'never',
    env: {
      MARIADB_HOST: env.host,
      MARIADB_PORT: String(env.database.port),
      MARIADB_DATABASE: env.database.name,
      MARIADB_USER: env.database.user,
      MARIADB_PASSWORD: secrets.DB_PASSWORD,
    },
    labels: { ...roleLabels(ctx.root, 'database', env.database.port), [SECRET_LABEL]: digest },
    volumes: [{ kind: 'volume', source: databaseVolume(ctx.root), target: DATA_DIR }],
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const ping = await ctx.exec('docker', ['exec', name, 'mariadb-entrypoint', 'ping'], {
      quiet: true,
      allowFailure: true,
    });
    if (ping.exitCode === 0) break;
    const state = await containerState(ctx, name);
    if (state !== 'running' || Date.now() > deadline) {
      failLocal({
        reason: 'unhealthy',
        container: name,
        image,
        check:
          state === 'running' ? 'no answer to mariadb-admin ping' : `the container is ${state}`,
        lastLines: await lastLogLines(ctx, name),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  ctx.log(`${name} (${image}) serves ${env.database.name} on ${env.host}:${env.database.port}`);
  return { started: true };
}

/**
 * `php artisan migrate --force` in a one-off container of the new image, as the pool user. Its
 * output is the task's; a non-zero exit fails the deploy with Laravel's last lines.
 */
export async function migrate(
  ctx: TaskContext,
  docker: Docker,
  options: { readonly image: string; readonly environment: Readonly<Record<string, string>> },
): Promise<void> {
  ctx.log(`migrating with ${options.image}: ${MIGRATE.join(' ')}`);
  try {
    await docker.run({
      image: options.image,
      name: `${containerName(ctx.root, 'migrate')}-${process.pid}`,
      command: MIGRATE,
      network: 'host',
      pull: 'never',
      user: 'www-data',
      env: options.environment,
      labels: { ...projectLabels(ctx.root), 'taskgraph.task': ctx.name },
    });
  } catch (error) {
    if (isDockerFailure(error) && error.error.reason === 'container-failed') {
      failLocal({
        reason: 'migration-failed',
        image: options.image,
        exitCode: error.error.exitCode,
        lastLines: error.error.lastLines,
      });
    }
    throw error;
  }
}
