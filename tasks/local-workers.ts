/**
 * The local environment's workers: long-running commands from the php-fpm image (the queue worker,
 * the scheduler), declared as data in environments/local.ts `workers`. They take no traffic, so
 * replacing one is: start the new container, see it still running after a moment, then stop the
 * old one; the image's entry point passes the stop signal on as SIGTERM, on which `queue:work`
 * finishes its current job before it exits (images/php-fpm/laravel-entrypoint).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskContext } from 'taskgraph';
import type { Docker } from '../src/docker/docker.ts';
import type { LocalEnvironment } from '../environments/index.ts';
import type { LocalContainer } from './local-plan.ts';
import { containerName, failLocal, lastLogLines, roleLabels } from './local-runtime.ts';

/** How long a new worker must keep running before the old one stops (a bad config exits sooner). */
const SETTLE_MS = 3_000;
/** Seconds `docker stop` gives a worker to finish its job (queue:work's retry_after is 90). */
const STOP_TIMEOUT_S = '60';

export interface WorkerStep {
  readonly service: string;
  readonly command: readonly string[];
  /** The wanted image and command, hashed: the container's label and part of its name. */
  readonly revision: string;
  /** Running this revision: nothing to do. */
  readonly keep: LocalContainer | undefined;
  /** Everything else of this service (old images, stopped ones): removed once the new one runs. */
  readonly retire: readonly LocalContainer[];
}

/**
 * Pure: per declared worker, keep or replace (a new image or a new command); containers of workers
 * no longer declared go.
 */
export function planWorkers(
  workers: LocalEnvironment['workers'],
  containers: readonly LocalContainer[],
  image: string,
): { readonly steps: readonly WorkerStep[]; readonly orphans: readonly LocalContainer[] } {
  const ours = containers.filter((container) => container.role === 'worker');
  const steps = Object.entries(workers).map(([service, { command }]) => {
    const revision = createHash('sha256')
      .update(JSON.stringify([image, command]))
      .digest('hex')
      .slice(0, 12);
    const mine = ours.filter((container) => container.service === service);
    const keep = mine.find(
      (container) => container.state === 'running' && container.revision === revision,
    );
    const retire = mine.filter((container) => container !== keep);
    return { service, command, revision, keep, retire };
  });
  const orphans = ours.filter(
    (container) => container.service === undefined || !(container.service in workers),
  );
  return { steps, orphans };
}

export async function deployWorkers(
  ctx: TaskContext,
  docker: Docker,
  options: {
    readonly env: LocalEnvironment;
    readonly image: string;
    readonly environment: Readonly<Record<string, string>>;
    readonly containers: readonly LocalContainer[];
  },
): Promise<string[]> {
  const { steps, orphans } = planWorkers(options.env.workers, options.containers, options.image);
  const done: string[] = [];
  for (const step of steps) {
    if (step.keep !== undefined) {
      done.push(`${step.service} unchanged`);
      continue;
    }
    const name = containerName(ctx.root, step.service, step.revision);
    // A stopped one of the same name (an earlier failed attempt) would block the name.
    await docker.rm(step.retire.filter((c) => c.name === name).map((c) => c.id));
    await docker.runDetached({
      image: options.image,
      name,
      command: step.command,
      network: 'host',
      pull: 'never',
      // The pool user, as php-fpm's workers: storage/ and bootstrap/cache are writable by it only.
      user: 'www-data',
      env: options.environment,
      labels: {
        ...roleLabels(ctx.root, 'worker', undefined, step.service),
        'taskgraph.revision': step.revision,
      },
      // As an ECS service replaces a task that exits: `queue:work --max-time` ends on purpose.
      restart: 'unless-stopped',
      // The php-fpm image's HEALTHCHECK pings php-fpm on 127.0.0.1:9000, which a worker does not
      // run, so docker would call every worker unhealthy. A worker takes no traffic: running is
      // its health, and the restart policy replaces one that exits.
      noHealthcheck: true,
    });
    await sleep(SETTLE_MS, undefined, { signal: ctx.signal });
    // Restarted already means it exited: a broken worker, not one that ended its --max-time.
    if (!(await runningSinceStart(ctx, name))) {
      const lastLines = await lastLogLines(ctx, name);
      await docker.rm([name]);
      failLocal({ reason: 'worker-exited', container: name, image: options.image, lastLines });
    }
    await stop(
      ctx,
      docker,
      step.retire.filter((c) => c.name !== name),
    );
    done.push(`${step.service} ${options.image}${step.retire.length > 0 ? ' (replaced)' : ''}`);
  }
  await stop(ctx, docker, orphans);
  return done;
}

async function runningSinceStart(ctx: TaskContext, container: string): Promise<boolean> {
  const result = await ctx.exec(
    'docker',
    ['inspect', '--format', '{{.State.Status}} {{.RestartCount}}', container],
    { quiet: true, allowFailure: true },
  );
  return result.exitCode === 0 && result.stdout.trim() === 'running 0';
}

async function stop(
  ctx: TaskContext,
  docker: Docker,
  containers: readonly LocalContainer[],
): Promise<void> {
  const running = containers.filter((container) => container.state === 'running');
  if (running.length > 0) {
    const names = running.map((container) => container.name);
    await ctx.exec('docker', ['stop', '--time', STOP_TIMEOUT_S, ...names], { quiet: true });
  }
  await docker.rm(containers.map((container) => container.id));
}
