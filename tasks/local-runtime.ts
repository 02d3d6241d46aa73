/**
 * The local environment's containers: labels, observation, health checks and the nginx switch.
 * What to do is decided in tasks/local-plan.ts; this file only touches docker, files and ports.
 *
 * Why a bind-mounted config directory, not a config baked per port: switching php-fpm ports must
 * be a graceful reload of the nginx that is already serving, never a new nginx (with host
 * networking two cannot listen on one port). The directory (not the file) is mounted so an atomic
 * rename on the host is what the container sees; a mounted single file would keep its old inode.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskError, writeFileAtomic } from 'taskgraph';
import type { Output, TaskContext } from 'taskgraph';
import { createDocker } from '../src/docker/docker.ts';
import type { Docker } from '../src/docker/docker.ts';
import { isDockerFailure } from '../src/docker/errors.ts';
import type { LocalContainer, Role } from './local-plan.ts';
import { fastcgiStatus } from './local-plan.ts';

/** Rendered site config nginx reads, mounted at /etc/nginx/conf.d (the image's own location). */
export const RUNTIME_CONF_DIR = 'build/local/runtime/nginx';
export const RUNTIME_CONF_FILE = `${RUNTIME_CONF_DIR}/example.conf`;
const CONF_DIR_IN_CONTAINER = '/etc/nginx/conf.d';
const INDEX_PHP = '/var/www/example/public/index.php';

const ROLE = 'taskgraph.role';
const PORT = 'taskgraph.port';
const SERVICE = 'taskgraph.service';
const ROLES: readonly Role[] = ['nginx', 'php-fpm', 'database', 'worker'];

/**
 * Labels on every container we start. The project label (a hash of the checkout's path) keeps two
 * checkouts, or a test's copy, from ever touching each other's containers.
 */
export function projectLabels(root: string): Record<string, string> {
  const id = createHash('sha256').update(realpathSync(root)).digest('hex').slice(0, 12);
  return { 'taskgraph.environment': 'local', 'taskgraph.project': id };
}

/**
 * php-fpm containers are named by port and workers by name and image tag, since two of each run
 * side by side during a switch.
 */
export function containerName(root: string, role: string, suffix?: number | string): string {
  const id = projectLabels(root)['taskgraph.project'] ?? '';
  return `taskgraph-local-${id}-${role}${suffix === undefined ? '' : `-${suffix}`}`;
}

export function roleLabels(
  root: string,
  role: Role,
  port?: number,
  service?: string,
): Record<string, string> {
  return {
    ...projectLabels(root),
    [ROLE]: role,
    ...(port === undefined ? {} : { [PORT]: String(port) }),
    ...(service === undefined ? {} : { [SERVICE]: service }),
  };
}

export async function listContainers(docker: Docker, root: string): Promise<LocalContainer[]> {
  const found = await docker.ps({ labels: projectLabels(root) });
  return found
    .flatMap((container) => {
      // Labelled ours but no role (a migration's one-off container): not part of what serves.
      const role = ROLES.find((known) => known === container.labels[ROLE]);
      if (role === undefined) return [];
      return [
        {
          id: container.id,
          name: container.name,
          image: container.image,
          state: container.state,
          health: container.health,
          role,
          port: container.labels[PORT] === undefined ? undefined : Number(container.labels[PORT]),
          service: container.labels[SERVICE],
          revision: container.labels['taskgraph.revision'],
          secretDigest: container.labels['taskgraph.secret-digest'],
        },
      ];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Our running containers as a task output: removed, stopped or replaced containers change the
 * digest, so `local:deploy` reruns even though no input changed.
 */
export function containersOutput(root: string): Output {
  return {
    id: `local-containers:${projectLabels(root)['taskgraph.project'] ?? ''}`,
    async digest() {
      let containers: LocalContainer[];
      try {
        containers = await listContainers(createDocker({ cwd: root }), root);
      } catch (error) {
        // Unknown is not "unchanged": let the task run, where the same failure is reported well.
        if (isDockerFailure(error)) return undefined;
        throw error;
      }
      const running = containers.filter((container) => container.state === 'running');
      if (running.length === 0) return undefined;
      const lines = running.map((c) => `${c.name} ${c.id} ${c.image} ${c.state}`);
      return createHash('sha256').update(lines.join('\n')).digest('hex');
    },
  };
}

export function readSiteConfig(root: string): string | undefined {
  const file = join(root, RUNTIME_CONF_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

export function writeSiteConfig(root: string, content: string): void {
  // The temp file's name does not end in .conf, so nginx never includes a half-written one.
  writeFileAtomic(join(root, RUNTIME_CONF_FILE), content);
}

export const CONF_MOUNT = {
  source: RUNTIME_CONF_DIR,
  target: CONF_DIR_IN_CONTAINER,
  readOnly: true,
};

/** Expected local-deploy failures; rendered in one place. */
export type LocalError =
  | {
      readonly reason: 'port-taken';
      readonly port: number;
      readonly what: string;
      readonly variable: string;
    }
  | {
      readonly reason: 'unhealthy';
      readonly container: string;
      readonly image: string;
      readonly check: string;
      readonly lastLines: readonly string[];
    }
  | { readonly reason: 'nginx-config-rejected'; readonly output: string }
  | {
      readonly reason: 'migration-failed';
      readonly image: string;
      readonly exitCode: number | undefined;
      readonly lastLines: readonly string[];
    }
  | {
      readonly reason: 'worker-exited';
      readonly container: string;
      readonly image: string;
      readonly lastLines: readonly string[];
    };

export function describeLocalError(error: LocalError): string {
  switch (error.reason) {
    case 'port-taken':
      return `Port ${error.port} on 127.0.0.1 (${error.what}) is already in use by another process: stop it, or pick another port with ${error.variable}=<port> npx task local:deploy.`;
    case 'unhealthy':
      return [
        `${error.container} (${error.image}) did not become healthy: ${error.check}. Its last log lines:`,
        ...(error.lastLines.length === 0 ? ['(no output)'] : error.lastLines).map((l) => `  ${l}`),
        'The containers that were serving before keep serving. Fix the app, then run `npx task local:deploy` again.',
      ].join('\n');
    case 'nginx-config-rejected':
      return `nginx rejected the new site config (${RUNTIME_CONF_FILE}); the previous one is back in place:\n${error.output}`;
    case 'migration-failed':
      return [
        `php artisan migrate --force (${error.image}) ${error.exitCode === undefined ? 'was killed' : `exited with code ${error.exitCode}`}; nothing was switched. Laravel said:`,
        ...(error.lastLines.length === 0 ? ['(no output)'] : error.lastLines).map((l) => `  ${l}`),
        'The containers that were serving before keep serving. Fix the migration, then run `npx task local:deploy` again.',
      ].join('\n');
    case 'worker-exited':
      return [
        `${error.container} (${error.image}) stopped right after it started. Its last log lines:`,
        ...(error.lastLines.length === 0 ? ['(no output)'] : error.lastLines).map((l) => `  ${l}`),
        'The worker that ran before keeps running. Fix it, then run `npx task local:deploy` again.',
      ].join('\n');
  }
}

/** Whether nothing listens on host:port: bind it for a moment. */
export async function portIsFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** `docker logs --tail`, stdout and stderr together; empty when the container is gone. */
export async function lastLogLines(
  ctx: TaskContext,
  container: string,
  lines = 20,
): Promise<string[]> {
  const result = await ctx.exec('docker', ['logs', '--tail', '200', container], {
    quiet: true,
    allowFailure: true,
  });
  // Without the health checks' own access-log lines, which would bury what went wrong.
  return `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((line) => line.trim() !== '' && !/"GET \/(ping|index\.php)" \d{3}$/.test(line))
    .slice(-lines);
}

interface Probe {
  readonly ok: boolean;
  /** Why not, for the failure message. */
  readonly detail: string;
  /**
   * The app itself answered (an error status, not a refused connection): no start-up delay
   * explains that, so a few of those in a row fail at once instead of waiting for the deadline.
   */
  readonly answered?: boolean;
}

/** As ECS's health check `retries`: consecutive app answers that fail before giving up. */
const RETRIES = 3;

/** php-fpm's own health: its ping path over FastCGI, as the ECS health check asks it. */
export async function pingPhpFpm(ctx: TaskContext, container: string): Promise<Probe> {
  const result = await ctx.exec('docker', ['exec', container, 'php-fpm-ping'], {
    quiet: true,
    allowFailure: true,
  });
  const said = `${result.stdout} ${result.stderr}`.trim();
  return {
    ok: result.exitCode === 0,
    detail: `php-fpm-ping: ${said || `exit ${result.exitCode}`}`,
  };
}

/**
 * The app's /health over FastCGI, straight to one php-fpm: what a target group asks a new task
 * before the load balancer sends it traffic. nginx is not involved, so nothing is switched yet.
 */
export async function appHealthOverFastcgi(
  ctx: TaskContext,
  container: string,
  port: number,
): Promise<Probe> {
  const result = await ctx.exec(
    'docker',
    [
      'exec',
      ...['--env', 'REQUEST_METHOD=GET', '--env', 'REQUEST_URI=/health'],
      ...['--env', 'SCRIPT_NAME=/index.php', '--env', `SCRIPT_FILENAME=${INDEX_PHP}`],
      container,
      ...['cgi-fcgi', '-bind', '-connect', `127.0.0.1:${port}`],
    ],
    { quiet: true, allowFailure: true },
  );
  // cgi-fcgi exits non-zero on an error status, so the answer is read whatever its exit code.
  const status = fastcgiStatus(result.stdout);
  return {
    ok: status === 200,
    detail: `GET /health over FastCGI answered ${status === undefined ? 'nothing' : `HTTP ${status}`}`,
    answered: status !== undefined,
  };
}

export async function httpHealth(url: string, signal: AbortSignal): Promise<Probe> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(3000)]),
    });
    await response.arrayBuffer();
    return { ok: response.status === 200, detail: `GET ${url} answered HTTP ${response.status}` };
  } catch (error) {
    signal.throwIfAborted();
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    return { ok: false, detail: `GET ${url} failed: ${String(cause)}` };
  }
}

export async function containerState(ctx: TaskContext, container: string): Promise<string> {
  const result = await ctx.exec('docker', ['inspect', '--format', '{{.State.Status}}', container], {
    quiet: true,
    allowFailure: true,
  });
  return result.exitCode === 0 ? result.stdout.trim() : 'gone';
}

/**
 * Polls `probe` until it passes; fails as soon as the container stops running, or at the
 * deadline, with the probe's last answer.
 */
export async function waitHealthy(
  ctx: TaskContext,
  container: string,
  probe: () => Promise<Probe>,
  timeoutMs: number,
): Promise<Probe> {
  const deadline = Date.now() + timeoutMs;
  let last: Probe = { ok: false, detail: 'not checked yet' };
  let answeredFailures = 0;
  for (;;) {
    last = await probe();
    if (last.ok) return last;
    answeredFailures = last.answered === true ? answeredFailures + 1 : 0;
    if (answeredFailures >= RETRIES)
      return { ok: false, detail: `${last.detail}, ${RETRIES} times` };
    const state = await containerState(ctx, container);
    if (state !== 'running') return { ok: false, detail: `the container is ${state}` };
    if (Date.now() > deadline)
      return { ok: false, detail: `${last.detail} (for ${timeoutMs / 1000} s)` };
    await sleep(250, undefined, { signal: ctx.signal });
  }
}

/** PIDs of nginx's worker processes, read from /proc inside the container (no ps there). */
async function nginxWorkers(ctx: TaskContext, container: string): Promise<Set<string>> {
  const script =
    'for d in /proc/[0-9]*; do c=$(tr "\\0" " " < "$d/cmdline" 2>/dev/null) || continue; ' +
    'case "$c" in *"worker process"*) echo "${d#/proc/}";; esac; done';
  const result = await ctx.exec('docker', ['exec', container, 'sh', '-c', script], {
    quiet: true,
    allowFailure: true,
  });
  return new Set(result.stdout.split('\n').filter((pid) => /^\d+$/.test(pid)));
}

/**
 * Points the running nginx at `content`: atomic rewrite, `nginx -t`, graceful reload, then waits
 * until the workers that held the old config have exited, i.e. no request can still go to the old
 * php-fpm. A config nginx rejects is rolled back before anything reloads.
 */
export async function switchNginx(
  ctx: TaskContext,
  container: string,
  content: string,
): Promise<void> {
  const previous = readSiteConfig(ctx.root);
  writeSiteConfig(ctx.root, content);
  const test = await ctx.exec('docker', ['exec', container, 'nginx', '-t'], {
    quiet: true,
    allowFailure: true,
  });
  if (test.exitCode !== 0) {
    if (previous !== undefined) writeSiteConfig(ctx.root, previous);
    failLocal({ reason: 'nginx-config-rejected', output: test.stderr.trim() });
  }
  const before = await nginxWorkers(ctx, container);
  await ctx.exec('docker', ['exec', container, 'nginx', '-s', 'reload'], { quiet: true });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = await nginxWorkers(ctx, container);
    const draining = [...before].filter((pid) => now.has(pid));
    if (draining.length === 0 && now.size > 0) return;
    if (Date.now() > deadline) {
      ctx.log(`warning: nginx workers ${draining.join(', ')} still finish old requests after 30 s`);
      return;
    }
    await sleep(100, undefined, { signal: ctx.signal });
  }
}

/** Fails the task with the error in words: no stack trace, since it is the user's to fix. */
export function failLocal(error: LocalError): never {
  throw new TaskError({ reason: 'reported', message: describeLocalError(error) });
}
