/**
 * Build settings, in one place: a team pointing this pipeline at its own Laravel app edits this
 * file (or sets the variables below), not the tasks.
 */

/*
 * TASKGRAPH_BUILD_NETWORK and TASKGRAPH_CACHE_REGISTRY are deliberately not in any fingerprint:
 * they change how an image is made or where it is looked for, never what is in it, and a tag
 * must be the same on every machine for the same content.
 */
export const settings = {
  /** The app being shipped, relative to the repository root. */
  appDir: 'example',
  /**
   * The base image's build context (images/base/php-fpm.Dockerfile), where vendor:archive writes
   * vendor.tar: the archive sits alone there, so the daemon is sent it and nothing else, and no
   * other image's context holds it.
   */
  baseContext: 'build/base',
  images: {
    devPhpFpm: 'local_example_php_fpm',
    devNginx: 'local_example_nginx',
    /** The local environment's database server (staging and prod use a managed one). */
    devMariadb: 'local_example_mariadb',
    base: 'base_prod_example_php_fpm',
    prodPhpFpm: 'prod_example_php_fpm',
    prodNginx: 'prod_example_nginx',
  },
  /**
   * Network for RUN steps and composer: `host` works on machines whose containers have no bridge
   * (CI sandboxes) and everywhere else too.
   */
  network: process.env.TASKGRAPH_BUILD_NETWORK || 'host',
  platform: 'linux/amd64',
  /**
   * A registry shared between laptops and CI (`host:port/prefix`), used as a cache for base
   * images: none by default. Credentials are docker's own (`docker login`).
   */
  cacheRegistry: process.env.TASKGRAPH_CACHE_REGISTRY || undefined,
  /** Local tags of each image repository kept by images:prune. */
  keepImages: 5,
} as const;

/** The tag of a content-addressed image: 12 hex of the fingerprint of the task that builds it. */
export function tagOf(fingerprint: string): string {
  return fingerprint.slice(0, 12);
}
