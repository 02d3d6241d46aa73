/**
 * The image pipeline (shared/DESIGN.md): development images, the base image with the dependency
 * tree, and the production image that adds only the source tree on top of it. Every tag is 12 hex
 * of the building task's fingerprint, so the same inputs make the same tag on every machine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { namespace, task } from 'taskgraph';
import { dockerFor, imageLabels, localImage } from './docker.ts';
import { pullCached, pushCached } from './image-cache.ts';
import { settings, tagOf } from './settings.ts';

const { images, appDir } = settings;

/**
 * The source tree as the production image sees it: the app folder (its build context) minus what
 * its .dockerignore drops.
 */
export function sourceInputs(root: string): string[] {
  const ignore = `${appDir}/.dockerignore`;
  const excludes = readFileSync(join(root, ignore), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('!') && line !== '*')
    // It keeps itself out of the image, but it is an input all the same (the last entry).
    .filter((line) => line !== '.dockerignore')
    .map((line) => `!${appDir}/${line.endsWith('/') ? `${line}**` : line}`);
  return [`${appDir}/**`, ...excludes, ignore];
}

function devImage(name: 'php-fpm' | 'nginx' | 'mariadb', repository: string): void {
  task(`dev-${name}`, {
    desc: `The ${name} development image (${repository}), tagged by its inputs' fingerprint`,
    inputs: [`images/${name}/**`],
    vars: { repository },
    outputs: ({ fingerprint, root }) => [localImage(root, `${repository}:${tagOf(fingerprint)}`)],
    run: async (ctx) => {
      await dockerFor(ctx).build({
        file: `images/${name}/Dockerfile`,
        context: `images/${name}`,
        tags: [`${repository}:${tagOf(ctx.fingerprint)}`, `${repository}:latest`],
        network: settings.network,
        labels: imageLabels(ctx),
      });
    },
  });
}

namespace('images', () => {
  devImage('php-fpm', images.devPhpFpm);
  devImage('nginx', images.devNginx);
  devImage('mariadb', images.devMariadb);
  task('dev', {
    desc: 'The development images',
    deps: ['dev-php-fpm', 'dev-nginx', 'dev-mariadb'],
  });
});

namespace('base', () => {
  task('rebuild', {
    desc: `The base image (${images.base}): dependencies only; pulled from the cache registry when there`,
    deps: ['images:dev-php-fpm'],
    // Never anything machine-specific (an image id): the tag must be the same on every machine.
    inputs: [
      `${appDir}/composer.json`,
      `${appDir}/composer.lock`,
      'images/base/php-fpm.Dockerfile',
    ],
    vars: { repository: images.base },
    outputs: ({ fingerprint, root }) => [localImage(root, `${images.base}:${tagOf(fingerprint)}`)],
    run: async (ctx) => {
      const docker = dockerFor(ctx);
      const ref = `${images.base}:${tagOf(ctx.fingerprint)}`;
      if (await docker.imageInspect(ref)) {
        ctx.log(`${ref} is already here`);
        return;
      }
      const latest = `${images.base}:latest`;
      if (await pullCached(ctx, docker, ref, [latest], 'no composer run needed')) return;
      // Only now is the dependency tree needed: a cache hit never runs composer.
      await ctx.invoke('vendor:archive');
      const devRef = `${images.devPhpFpm}:${tagOf(ctx.deps['images:dev-php-fpm']?.fingerprint ?? '')}`;
      await docker.build({
        file: 'images/base/php-fpm.Dockerfile',
        context: settings.baseContext,
        tags: [ref, latest],
        buildArgs: { DEV_IMAGE: devRef },
        network: settings.network,
        labels: imageLabels(ctx),
      });
      await pushCached(ctx, docker, ref);
    },
  });
});

namespace('images', () => {
  task('build', {
    desc: `The production php-fpm image (${images.prodPhpFpm}): the base plus the source tree`,
    deps: ['base:rebuild'],
    inputs: [...sourceInputs(import.meta.dirname + '/..'), 'images/prod/php-fpm.Dockerfile'],
    vars: { repository: images.prodPhpFpm },
    outputs: ({ fingerprint, root }) => [
      localImage(root, `${images.prodPhpFpm}:${tagOf(fingerprint)}`),
    ],
    run: async (ctx) => {
      const docker = dockerFor(ctx);
      const ref = `${images.prodPhpFpm}:${tagOf(ctx.fingerprint)}`;
      const latest = `${images.prodPhpFpm}:latest`;
      // Another machine's build of these inputs: the same digest everywhere, not just the tag.
      if (await pullCached(ctx, docker, ref, [latest], 'the image other machines have')) return;
      const baseRef = `${images.base}:${tagOf(ctx.deps['base:rebuild']?.fingerprint ?? '')}`;
      await docker.build({
        file: 'images/prod/php-fpm.Dockerfile',
        context: appDir,
        tags: [ref, latest],
        buildArgs: { BASE_IMAGE: baseRef },
        network: settings.network,
        labels: imageLabels(ctx),
      });
      await pushCached(ctx, docker, ref);
    },
  });

  task('prune', {
    desc: `Remove local tags beyond the newest ${settings.keepImages} per repository, unless a container uses them`,
    args: ['keep'],
    run: async (ctx) => {
      const keep = Number(ctx.args.keep ?? settings.keepImages);
      if (!Number.isInteger(keep) || keep < 0)
        throw new Error(`images:prune[keep]: expected a whole number, got "${ctx.args.keep}"`);
      const used = new Set(
        (
          await ctx.exec('docker', ['ps', '--all', '--format', '{{.Image}}'], { quiet: true })
        ).stdout
          .split('\n')
          .filter(Boolean),
      );
      for (const repository of Object.values(images)) {
        // `docker image ls` lists the newest first.
        const tags = (
          await ctx.exec(
            'docker',
            ['image', 'ls', repository, '--format', '{{.Repository}}:{{.Tag}}'],
            { quiet: true },
          )
        ).stdout
          .split('\n')
          .filter((ref) => ref !== '' && !ref.endsWith(':latest') && !ref.endsWith(':<none>'));
        const stale = tags.slice(keep).filter((ref) => !used.has(ref));
        if (stale.length > 0) {
          await ctx.exec('docker', ['image', 'rm', ...stale]);
          ctx.log(
            `${repository}: removed ${stale.length} tag(s), kept ${tags.length - stale.length}`,
          );
        }
      }
    },
  });
});
