/**
 * `nginx -t` on a rendered site config, inside the nginx dev image (the same nginx, modules and
 * fastcgi_params that production runs), through an injected Docker runner so tests and the real
 * adapter share this code.
 *
 * nginx resolves upstream host names while loading its config, and the NLB's private DNS name
 * resolves only inside the VPC; `--add-host` points it at 127.0.0.1 so the check tests the config,
 * not this machine's DNS.
 */
import { RenderError } from './failure.js';

/** The one Docker operation the check needs: `docker run <args>`, output being stdout+stderr. */
export interface DockerRunner {
  run(args: readonly string[]): Promise<{ readonly exitCode: number; readonly output: string }>;
}

export interface NginxTestOptions {
  /** The nginx dev image, e.g. `local_example_nginx:latest`. */
  readonly image: string;
  /** Absolute host path of the rendered config. */
  readonly configFile: string;
  /** The FastCGI upstream's host name as written in the config (an IP needs no mapping). */
  readonly upstreamHost: string;
  /** Where the production image puts the site config (images/prod/nginx.Dockerfile). */
  readonly mountAt?: string;
}

export const SITE_CONFIG_IN_IMAGE = '/etc/nginx/conf.d/example.conf';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Arguments after `docker run`. */
export function nginxTestArgs(options: NginxTestOptions): string[] {
  const hosts = IPV4.test(options.upstreamHost)
    ? []
    : ['--add-host', `${options.upstreamHost}:127.0.0.1`];
  return [
    '--rm',
    ...hosts,
    '--volume',
    `${options.configFile}:${options.mountAt ?? SITE_CONFIG_IN_IMAGE}:ro`,
    '--entrypoint',
    'nginx',
    options.image,
    '-t',
  ];
}

/** Runs `nginx -t`; throws RenderError (`nginx-test-failed`) with nginx's own words. */
export async function checkNginxConfig(
  docker: DockerRunner,
  options: NginxTestOptions & { readonly name?: string },
): Promise<void> {
  const result = await docker.run(nginxTestArgs(options));
  if (result.exitCode !== 0) {
    throw new RenderError({
      reason: 'nginx-test-failed',
      file: options.name ?? options.configFile,
      output: result.output,
    });
  }
}
