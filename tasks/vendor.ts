/**
 * The dependency tree, built only when composer's inputs change (the seed article's first step):
 * composer install inside the development image, then a deterministic archive of the result.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { namespace, task } from 'taskgraph';
import { createDeterministicTar } from '../src/archive.ts';
import { dockerFor } from './docker.ts';
import { settings, tagOf } from './settings.ts';

const app = settings.appDir;
const VENDOR_ARCHIVE = `${settings.baseContext}/vendor.tar`;
/**
 * The app's own path repositories: relative `url`s in composer.json (`packages/*`), read when the
 * Taskfile loads. composer.lock does not hash their sources, so they are inputs of their own. The
 * absolute ones (Laravel and its libraries, made from Debian's packages in /opt/composer-debian)
 * are in the development image, whose fingerprint is a dependency of vendor:install.
 */
function localPathRepositories(root: string): string[] {
  const file = join(root, app, 'composer.json');
  if (!existsSync(file)) return [];
  const json = JSON.parse(readFileSync(file, 'utf8')) as { repositories?: unknown };
  const repositories = Array.isArray(json.repositories) ? (json.repositories as unknown[]) : [];
  return repositories.flatMap((repository) => {
    const { type, url } = (repository ?? {}) as { type?: unknown; url?: unknown };
    if (type !== 'path' || typeof url !== 'string' || url.startsWith('/')) return [];
    const folder = url.replace(/^\.\//, '').split('/')[0] ?? '';
    return folder === '' || folder === '..' ? [] : [folder];
  });
}

const ownRepositories = localPathRepositories(join(import.meta.dirname, '..'));

/** What composer reads. */
export const COMPOSER_INPUTS = [
  `${app}/composer.json`,
  `${app}/composer.lock`,
  ...ownRepositories.map((folder) => `${app}/${folder}/**`),
];

namespace('vendor', () => {
  task('install', {
    desc: `composer install --no-dev into ${app}/vendor, inside the php-fpm development image`,
    deps: ['images:dev-php-fpm'],
    inputs: COMPOSER_INPUTS,
    outputs: [`${app}/vendor`],
    run: async (ctx) => {
      const staging = join(ctx.root, 'build', 'vendor-staging');
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      // composer works on a copy, so example/vendor is replaced only once it succeeded.
      for (const entry of ['composer.json', 'composer.lock', ...ownRepositories]) {
        if (existsSync(join(ctx.root, app, entry))) {
          cpSync(join(ctx.root, app, entry), join(staging, entry), { recursive: true });
        }
      }
      pinAutoloaderSuffix(staging);
      const image = `${settings.images.devPhpFpm}:${tagOf(ctx.deps['images:dev-php-fpm']?.fingerprint ?? '')}`;
      await dockerFor(ctx).run({
        image,
        pull: 'never',
        // Ours, findable (`docker ps --filter label=taskgraph.task`), and removed (--rm) when the
        // task fails or is aborted.
        labels: { 'taskgraph.task': ctx.name, 'taskgraph.run': `${process.pid}` },
        network: settings.network,
        // The invoking user's ids: no root-owned files left in the app.
        user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
        env: { COMPOSER_HOME: '/tmp/composer', COMPOSER_CACHE_DIR: '/tmp/composer-cache' },
        volumes: [{ source: staging, target: '/app' }],
        workdir: '/app',
        command: [
          'composer',
          'install',
          '--no-dev',
          '--prefer-dist',
          '--optimize-autoloader',
          '--no-interaction',
          '--no-progress',
        ],
      });
      const vendor = join(ctx.root, app, 'vendor');
      const previous = `${vendor}.previous`;
      rmSync(previous, { recursive: true, force: true });
      if (existsSync(vendor)) renameSync(vendor, previous);
      renameSync(join(staging, 'vendor'), vendor);
      rmSync(previous, { recursive: true, force: true });
      rmSync(staging, { recursive: true, force: true });
    },
  });

  task('archive', {
    desc: `${VENDOR_ARCHIVE}: vendor/ and the composer files, byte-identical for the same lock`,
    deps: ['install'],
    inputs: [`${app}/vendor/**`, `${app}/composer.json`, `${app}/composer.lock`],
    outputs: [VENDOR_ARCHIVE],
    run: async (ctx) => {
      const sha256 = await createDeterministicTar({
        cwd: join(ctx.root, app),
        entries: ['vendor', 'composer.json', 'composer.lock'],
        file: join(ctx.root, VENDOR_ARCHIVE),
      });
      ctx.log(`${VENDOR_ARCHIVE} sha256 ${sha256}`);
    },
  });
});

/**
 * Composer 2.5 names its autoloader class with a random suffix unless composer.json sets
 * `config.autoloader-suffix`, so two installs of the same lock differ in vendor/autoload.php and
 * the archive (and the base image built from it) would never be the same on two machines. Pin it
 * to the lock's content-hash in the staging copy only: the app's composer.json is not touched, and
 * composer leaves `config` other than `platform` out of that hash, so the lock stays in sync.
 */
function pinAutoloaderSuffix(staging: string): void {
  const lockFile = join(staging, 'composer.lock');
  if (!existsSync(lockFile)) return;
  const hash = (JSON.parse(readFileSync(lockFile, 'utf8')) as { 'content-hash'?: unknown })[
    'content-hash'
  ];
  if (typeof hash !== 'string') return;
  const jsonFile = join(staging, 'composer.json');
  const json = JSON.parse(readFileSync(jsonFile, 'utf8')) as { config?: Record<string, unknown> };
  if (json.config?.['autoloader-suffix'] !== undefined) return;
  json.config = { ...json.config, 'autoloader-suffix': hash };
  writeFileSync(jsonFile, `${JSON.stringify(json, null, 4)}\n`);
}
