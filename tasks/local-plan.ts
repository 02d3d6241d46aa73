/**
 * What `local:deploy` has to do, decided from what runs (pure: no docker, no files), so the
 * switchover rules read in one place and can be tested on plain data. tasks/local-runtime.ts
 * observes and applies.
 *
 * php-fpm is the part that changes on every source edit, and it is replaced the way an ECS rolling
 * deploy replaces a task (minimum 100%, maximum 200%): the new container starts beside the old one
 * on the other port and takes traffic only once healthy.
 *
 *     [nginx -> fpm@A]
 *        │ start fpm@B (the port A does not use)
 *        ▼
 *     [nginx -> fpm@A, fpm@B starting] ──B unhealthy──> remove B, fail: A keeps serving
 *        │ B answers ping and /health over FastCGI
 *        ▼
 *     rewrite site config to B, `nginx -t`, graceful reload ──rejected──> config restored, remove B
 *        │ old workers finish their requests (to A) and exit
 *        ▼
 *     [nginx -> fpm@B, fpm@A idle] ──GET /health via nginx fails──> back to A, remove B
 *        │ stop A (SIGQUIT: workers finish), remove it
 *        ▼
 *     [nginx -> fpm@B]
 *
 * nginx itself is replaced in place (a short gap) only when its image changes, i.e. public/ or
 * the site template changed; its config changes (the php-fpm port) are reloads.
 */

/** `worker`: a long-running command from the php-fpm image (environments/local.ts `workers`). */
export type Role = 'nginx' | 'php-fpm' | 'database' | 'worker';

/** One of our containers, as observed. */
export interface LocalContainer {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly state: string;
  /** Docker's health state (starting, healthy, unhealthy); undefined without a health check. */
  readonly health?: string | undefined;
  readonly role: Role;
  /** The port it listens on, from its label: FastCGI for php-fpm, HTTP for nginx, SQL. */
  readonly port: number | undefined;
  /** A worker's name in the environment's `workers`. */
  readonly service?: string | undefined;
  /** A worker's image and command, hashed (tasks/local-workers.ts): either changing replaces it. */
  readonly revision?: string | undefined;
  /** The database's: which password it was started with (tasks/local-database.ts). */
  readonly secretDigest?: string | undefined;
}

export interface Observed {
  readonly containers: readonly LocalContainer[];
  /** The php-fpm port the runtime site config (what nginx reads) points at, if written. */
  readonly configuredPort: number | undefined;
}

export interface Desired {
  readonly phpFpmImage: string;
  readonly nginxImage: string;
  readonly ports: { readonly primary: number; readonly alternate: number };
}

export type PhpFpmStep =
  | { readonly kind: 'keep'; readonly container: LocalContainer }
  /** `retire` is the container serving now, stopped once the new one took over. */
  | { readonly kind: 'start'; readonly port: number; readonly retire: LocalContainer | undefined };

export type NginxStep =
  | { readonly kind: 'keep'; readonly container: LocalContainer }
  /** `replace` is a container of ours that is stopped or runs another image. */
  | { readonly kind: 'start'; readonly replace: LocalContainer | undefined };

export interface Plan {
  /** php-fpm containers that serve nothing (left by an interrupted deploy): removed first. */
  readonly clear: readonly LocalContainer[];
  readonly phpFpm: PhpFpmStep;
  readonly nginx: NginxStep;
}

export function planDeploy(observed: Observed, desired: Desired): Plan {
  const running = (container: LocalContainer): boolean => container.state === 'running';
  const phpFpms = observed.containers.filter((container) => container.role === 'php-fpm');
  // The one nginx sends requests to: running, and on the port the site config names.
  const active = phpFpms.find(
    (container) => running(container) && container.port === observed.configuredPort,
  );
  const clear = phpFpms.filter((container) => container !== active);

  // A kept container must also be on one of today's ports: the ports are settings too.
  const onPort = active?.port === desired.ports.primary || active?.port === desired.ports.alternate;
  const phpFpm: PhpFpmStep =
    active !== undefined && onPort && active.image === desired.phpFpmImage
      ? { kind: 'keep', container: active }
      : {
          kind: 'start',
          port:
            active?.port === desired.ports.primary
              ? desired.ports.alternate
              : desired.ports.primary,
          retire: active,
        };

  const nginxes = observed.containers.filter((container) => container.role === 'nginx');
  const current = nginxes.find(
    (container) => running(container) && container.image === desired.nginxImage,
  );
  const nginx: NginxStep =
    current !== undefined
      ? { kind: 'keep', container: current }
      : { kind: 'start', replace: nginxes[0] };
  // More than one nginx cannot happen with a fixed name; extras would be cleared with the rest.
  const extraNginx = nginxes.filter(
    (container) => container !== current && container !== nginxes[0],
  );
  return { clear: [...clear, ...extraNginx], phpFpm, nginx };
}

/** The FastCGI port in a rendered site config's `upstream php_fpm { server host:port; }`. */
export function configuredPort(siteConfig: string | undefined): number | undefined {
  const match = /upstream\s+php_fpm\s*\{\s*server\s+[^\s;]+:(\d+)\s*;/.exec(siteConfig ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** FastCGI response status: php-fpm sends a `Status:` header only for codes other than 200. */
export function fastcgiStatus(response: string): number | undefined {
  // An empty body leaves no blank line once the output's final newline was stripped.
  const headerEnd = response.search(/\r?\n\r?(\n|$)/);
  if (headerEnd < 0) return undefined;
  const status = /^Status:\s*(\d{3})/im.exec(response.slice(0, headerEnd));
  return status?.[1] === undefined ? 200 : Number(status[1]);
}
