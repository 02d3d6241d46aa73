/**
 * The image pipeline end to end, with real builds: dev images -> composer install inside the
 * php-fpm dev image -> deterministic vendor archive -> base image -> prod php-fpm and nginx
 * images -> both running on the host network, nginx passing PHP to php-fpm over FastCGI.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeterministicTar } from '../../src/archive.js';
import { createDocker, type Docker } from '../../src/docker/docker.js';
import { requireDocker } from '../support/docker-available.js';
import { freePort } from '../support/free-port.js';

const dockerReady = await requireDocker();

/** The app's database for these single-container runs; APP_KEY is made per run, as a secret is. */
const SQLITE = {
  DB_CONNECTION: 'sqlite',
  DB_DATABASE: '/tmp/app.sqlite',
  APP_KEY: `base64:${randomBytes(32).toString('base64')}`,
};
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

const UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 };

/** Bytes of build context the daemon was sent, as the builder reported it in `lines`. */
function contextBytes(lines: readonly string[]): number {
  // Classic builder: "Sending build context to Docker daemon  12.29kB"; BuildKit's plain
  // progress: "transferring context: 12.29kB".
  const pattern =
    /(?:Sending build context to Docker daemon|transferring context:)\s+([\d.]+)\s*([kMG]?B)/;
  const found = lines.map((line) => pattern.exec(line)).findLast((match) => match !== null);
  if (!found) throw new Error(`no build context size in:\n${lines.join('\n')}`);
  return Number(found[1]) * (UNITS[found[2] ?? ''] ?? Number.NaN);
}

describe.skipIf(!dockerReady)('image pipeline', () => {
  const run = randomBytes(4).toString('hex');
  const labels = { 'taskgraph.test': `images-${run}` };
  const tags = {
    phpDev: `taskgraph-test/php-fpm-dev:${run}`,
    nginxDev: `taskgraph-test/nginx-dev:${run}`,
    base: `taskgraph-test/base-php-fpm:${run}`,
    phpProd: `taskgraph-test/prod-php-fpm:${run}`,
    nginxProd: `taskgraph-test/prod-nginx:${run}`,
  };
  let workspace: string;
  let docker: Docker;
  let fpmPort: number;
  let nginxPort: number;
  const log: string[] = [];

  beforeAll(async () => {
    workspace = await mkdtemp(path.join(tmpdir(), 'taskgraph-images-test-'));
    docker = createDocker({ cwd: workspace, onOutput: (line) => log.push(line) });
    // A copy of the repository's inputs, so the test never writes example/vendor or build/ in the
    // checkout, and the .dockerignore files (the root's, example/'s) are exercised as committed.
    await cp(path.join(repoRoot, 'images'), path.join(workspace, 'images'), { recursive: true });
    await cp(path.join(repoRoot, '.dockerignore'), path.join(workspace, '.dockerignore'));
    await cp(path.join(repoRoot, 'example'), path.join(workspace, 'example'), {
      recursive: true,
      filter: (source) => !source.startsWith(path.join(repoRoot, 'example', 'vendor')),
    });

    await docker.build({
      file: 'images/php-fpm/Dockerfile',
      context: 'images/php-fpm',
      tags: [tags.phpDev],
      labels,
      network: 'host',
    });
    await docker.build({
      file: 'images/nginx/Dockerfile',
      context: 'images/nginx',
      tags: [tags.nginxDev],
      labels,
      network: 'host',
    });
  });

  afterAll(async () => {
    if (docker !== undefined) {
      const containers = await docker.ps({ labels });
      await docker.rm(containers.map((container) => container.id));
      await docker.rmi([tags.nginxProd, tags.phpProd, tags.base, tags.nginxDev, tags.phpDev]);
    }
    await rm(workspace, { recursive: true, force: true });
  });

  it('installs vendor/ offline with composer inside the php-fpm dev image', async () => {
    await docker.run({
      image: tags.phpDev,
      command: [
        'composer',
        'install',
        '--no-dev',
        '--prefer-dist',
        '--optimize-autoloader',
        '--no-interaction',
      ],
      network: 'host',
      // The host user, so vendor/ in the workspace is not owned by root on developer machines.
      user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
      env: { HOME: '/tmp', COMPOSER_HOME: '/tmp/composer', COMPOSER_ALLOW_SUPERUSER: '1' },
      volumes: [{ source: 'example', target: '/app' }],
      workdir: '/app',
      labels,
    });
    const vendor = path.join(workspace, 'example/vendor');
    await expect(stat(path.join(vendor, 'autoload.php'))).resolves.toBeDefined();
    // Laravel itself, installed by composer from the Debian package the lock names.
    await expect(
      stat(path.join(vendor, 'debian/php-laravel-framework/Illuminate/Foundation/Application.php')),
    ).resolves.toBeDefined();
  });

  it('builds the base and production images from the vendor archive and the source tree', async () => {
    await createDeterministicTar({
      cwd: path.join(workspace, 'example'),
      entries: ['vendor', 'composer.json', 'composer.lock'],
      file: '../build/base/vendor.tar',
    });
    // Only the archive may bring vendor/ into an image; this marker must stay out of both.
    await writeFile(path.join(workspace, 'example/vendor/SHOULD_NOT_SHIP'), 'local only\n');

    const { size: archive } = await stat(path.join(workspace, 'build/base/vendor.tar'));
    let from = log.length;
    await docker.build({
      file: 'images/base/php-fpm.Dockerfile',
      context: 'build/base',
      tags: [tags.base],
      buildArgs: { DEV_IMAGE: tags.phpDev },
      labels,
    });
    // Each image is sent only what it uses: the base the archive (and its Dockerfile), the
    // production image the app's source, which is a few hundred kB, never the archive.
    expect(contextBytes(log.slice(from))).toBeLessThan(archive + 64_000);
    from = log.length;
    await docker.build({
      file: 'images/prod/php-fpm.Dockerfile',
      context: 'example',
      tags: [tags.phpProd],
      buildArgs: { BASE_IMAGE: tags.base },
      labels,
    });
    expect(contextBytes(log.slice(from))).toBeLessThan(1_000_000);

    const { stdout } = await docker.run({
      image: tags.phpProd,
      command: [
        'sh',
        '-c',
        [
          'cd /var/www/example && ls -A && echo --- && ls -A vendor && echo --- &&',
          'find . ! -type l \\( -user www-data -o -perm /022 \\) && echo --- && ls bootstrap/cache',
        ].join(' '),
      ],
      entrypoint: '',
      labels,
    });
    const [top = [], vendor = [], writable = [], caches = []] = splitSections(stdout);
    expect(top).toEqual(
      expect.arrayContaining(['app', 'artisan', 'public', 'resources', 'routes', 'storage']),
    );
    expect(top).not.toContain('tests');
    expect(vendor).toEqual(['autoload.php', 'composer', 'debian']);
    // The pool user owns storage/ and bootstrap/cache and nothing else; nothing is group- or
    // world-writable.
    expect(writable.length).toBeGreaterThan(0);
    for (const file of writable) expect(file).toMatch(/^\.\/(storage|bootstrap\/cache)(\/|$)/);
    // Routes and the package manifests are cached at build time; the config is not.
    expect(caches).toEqual(expect.arrayContaining(['routes-v7.php', 'packages.php']));
    expect(caches).not.toContain('config.php');
  });

  it('runs the one-off migration from the production image', async () => {
    const { stdout } = await docker.run({
      image: tags.phpProd,
      // The file first, then the image's entry point: with SQLite, caching the config connects.
      command: [
        'sh',
        '-c',
        'touch /tmp/app.sqlite && laravel-entrypoint php artisan migrate --force',
      ],
      entrypoint: '',
      env: { ...SQLITE, APP_ENV: 'production' },
      labels,
    });
    expect(stdout.join('\n')).toContain('Migrated:  2026_01_01_000000_create_visits_table');
  });

  it('serves the app through nginx and php-fpm, and answers FastCGI pings', async () => {
    fpmPort = await freePort();
    nginxPort = await freePort();
    const siteDir = path.join(workspace, 'build/nginx/test');
    await mkdir(siteDir, { recursive: true });
    await writeFile(path.join(siteDir, 'site.conf'), siteConfig({ nginxPort, fpmPort }));
    const from = log.length;
    await docker.build({
      file: 'images/prod/nginx.Dockerfile',
      context: '.',
      tags: [tags.nginxProd],
      buildArgs: { DEV_IMAGE: tags.nginxDev, SITE_CONFIG: 'build/nginx/test/site.conf' },
      labels,
    });
    // public/ and the site config: the vendor archive beside them in build/ stays out.
    expect(contextBytes(log.slice(from))).toBeLessThan(100_000);

    // SQLite inside the container keeps this test to the images; tests/e2e runs MariaDB.
    await docker.runDetached({
      image: tags.phpProd,
      network: 'host',
      env: { ...SQLITE, PHP_FPM_HOST: '127.0.0.1', PHP_FPM_PORT: String(fpmPort) },
      command: [
        'sh',
        '-c',
        [
          'touch /tmp/app.sqlite && chown www-data /tmp/app.sqlite',
          'laravel-entrypoint php artisan migrate --force',
          'exec laravel-entrypoint php-fpm8.2 --nodaemonize',
        ].join(' && '),
      ],
      entrypoint: '',
      labels,
    });
    await docker.runDetached({ image: tags.nginxProd, network: 'host', labels });

    const health = await waitFor(`http://127.0.0.1:${nginxPort}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', database: 'ok' });

    const home = await fetch(`http://127.0.0.1:${nginxPort}/`);
    expect(home.status).toBe(200);
    const html = await home.text();
    expect(html).toContain('<title>Example: visits</title>');
    expect(html).toContain('Hello from Laravel 8.83.26');

    const css = await fetch(`http://127.0.0.1:${nginxPort}/css/app.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
    expect((await fetch(`http://127.0.0.1:${nginxPort}/robots.txt`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${nginxPort}/missing`)).status).toBe(404);

    const ping = await docker.run({
      image: tags.phpDev,
      command: ['cgi-fcgi', '-bind', '-connect', `127.0.0.1:${fpmPort}`],
      env: { SCRIPT_NAME: '/ping', SCRIPT_FILENAME: '/ping', REQUEST_METHOD: 'GET' },
      network: 'host',
      labels,
    });
    expect(ping.stdout).toContain('pong');
    await docker.run({
      image: tags.phpDev,
      command: ['php-fpm-ping'],
      env: { PHP_FPM_PORT: String(fpmPort) },
      network: 'host',
      labels,
    });
  });
});

function siteConfig({ nginxPort, fpmPort }: { nginxPort: number; fpmPort: number }): string {
  return `server {
    listen 127.0.0.1:${nginxPort};
    root /var/www/example/public;

    location / {
        try_files $uri /index.php$is_args$args;
    }

    location = /index.php {
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass 127.0.0.1:${fpmPort};
    }
}
`;
}

function splitSections(lines: readonly string[]): string[][] {
  const sections: string[][] = [[]];
  for (const line of lines) {
    if (line === '---') sections.push([]);
    else sections.at(-1)?.push(line);
  }
  return sections;
}

async function waitFor(url: string, timeoutMs = 30_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.status !== 502) return response;
      last = new Error(`HTTP 502 from ${url}`);
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms: ${String(last)}`);
}
