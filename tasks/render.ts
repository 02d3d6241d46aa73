/**
 * Each environments/<name>.ts becomes a namespace (adding qa.ts gives qa:render with no other
 * edit): the nginx site config and production nginx image, the ECS task definitions that name the
 * images, and ENV:config. `render` renders every environment.
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { task } from 'taskgraph';
import type { TaskContext } from 'taskgraph';
import {
  describeEnvironment,
  environmentJson,
  fastcgiAddress,
  outputPaths,
  renderNginxConfig,
  renderTaskDefinitions,
  taskDefinitionTemplates,
  TEMPLATES,
  writeRenderedFiles,
} from '../environments/index.ts';
import type { Environment } from '../environments/index.ts';
import { serviceKeys } from '../src/environment.ts';
import { checkNginxConfig } from '../src/render/nginx-check.ts';
import { dockerFor, imageLabels, localImage } from './docker.ts';
import { settings, tagOf } from './settings.ts';

const { images, appDir } = settings;

export function defineRenderTasks(env: Environment): void {
  const paths = outputPaths(env.name);

  task('nginx-config', {
    desc: `Render ${paths.nginxConfig} and check it with nginx -t`,
    // The code that renders (this module, environments/index.ts, src/render/) is the task's
    // definition, and the environment's settings arrive through `vars`.
    inputs: [TEMPLATES.nginxConfig],
    vars: { env },
    // No `env` (CI decides only whether a missing Docker skips nginx -t): a declared env var's
    // value enters the fingerprint keyed per checkout (src/env-key.ts), and the nginx image's
    // tag derives from this task's fingerprint, so two machines would tag the same image apart.
    outputs: [paths.nginxConfig],
    run: async (ctx) => {
      const [file] = [await renderNginxConfig(env, { cwd: ctx.root })];
      // Written to a temp file beside the target and renamed only after nginx accepted it.
      const candidate = join(ctx.root, 'build', env.name, 'nginx', '.candidate.conf');
      await writeRenderedFiles([{ ...file, path: candidate }], { cwd: ctx.root });
      await nginxTest(ctx, candidate, fastcgiAddress(env).host);
      await writeRenderedFiles([file], { cwd: ctx.root });
      rmSync(candidate, { force: true });
      ctx.log(`wrote ${file.path}`);
    },
  });

  task('nginx', {
    desc: `The ${env.name} nginx production image (${images.prodNginx}): dev nginx + public/ + the site config`,
    deps: ['nginx-config', ':images:dev-nginx'],
    inputs: [
      `${appDir}/public/**`,
      paths.nginxConfig,
      'images/prod/nginx.Dockerfile',
      // It decides what of public/ reaches the image.
      '.dockerignore',
    ],
    vars: { repository: images.prodNginx },
    outputs: ({ fingerprint, root }) => [
      localImage(root, `${images.prodNginx}:${tagOf(fingerprint)}`),
    ],
    run: async (ctx) => {
      // The build context is the repository root, whose .dockerignore lets only public/ and
      // build/nginx/ through (the classic builder cannot re-include build/<env>/nginx/ by wildcard).
      const siteConfig = `build/nginx/${env.name}/site.conf`;
      mkdirSync(join(ctx.root, 'build', 'nginx', env.name), { recursive: true });
      copyFileSync(join(ctx.root, paths.nginxConfig), join(ctx.root, siteConfig));
      const devRef = `${images.devNginx}:${tagOf(ctx.deps['images:dev-nginx']?.fingerprint ?? '')}`;
      await dockerFor(ctx).build({
        file: 'images/prod/nginx.Dockerfile',
        context: '.',
        tags: [`${images.prodNginx}:${tagOf(ctx.fingerprint)}`],
        buildArgs: { DEV_IMAGE: devRef, SITE_CONFIG: siteConfig },
        network: settings.network,
        labels: imageLabels(ctx, { 'taskgraph.environment': env.name }),
      });
    },
  });

  task('config', {
    desc: `Print the resolved ${env.name} environment (secrets as references only): a table at a terminal, JSON when piped`,
    readOnly: true,
    // At a terminal a person reads it; piped (`npx task -q staging:config > env.json`) a program
    // does, so it gets JSON.
    run: (ctx) =>
      ctx.log(process.stdout.isTTY === true ? describeEnvironment(env) : environmentJson(env)),
  });

  if (env.kind !== 'ecs') {
    task('render', { desc: `Render the ${env.name} config`, deps: ['nginx-config'] });
    return;
  }

  task('render', {
    desc: `Render ${env.name}'s ECS task definitions (build/${env.name}/ecs/), building the images they name`,
    deps: [':images:build', 'nginx'],
    // Every template a service names: a worker added to the environment file is rendered (and
    // its template watched) with no edit here.
    inputs: taskDefinitionTemplates(env),
    vars: { env },
    outputs: serviceKeys(env).map((key) => paths.taskDefinition(key)),
    run: async (ctx) => {
      const tag = (name: string): string => tagOf(ctx.deps[name]?.fingerprint ?? '');
      const files = await renderTaskDefinitions(env, {
        cwd: ctx.root,
        images: {
          phpFpm: `${env.ecr.registry}/${env.ecr.repositories.phpFpm}:${tag('images:build')}`,
          nginx: `${env.ecr.registry}/${env.ecr.repositories.nginx}:${tag(`${env.name}:nginx`)}`,
        },
      });
      for (const written of await writeRenderedFiles(files, { cwd: ctx.root }))
        ctx.log(`wrote ${written}`);
    },
  });
}

/**
 * `nginx -t` in the nginx development image. In CI it always runs; elsewhere, without Docker, the
 * render says on its own line that it skipped the check.
 */
async function nginxTest(
  ctx: TaskContext,
  configFile: string,
  upstreamHost: string,
): Promise<void> {
  const info = await ctx
    .exec('docker', ['info', '--format', '{{.ServerVersion}}'], {
      quiet: true,
      allowFailure: true,
    })
    .catch(() => undefined);
  if ((!info || info.exitCode !== 0) && !isCi()) {
    ctx.log('nginx -t skipped: Docker is not available here (CI always runs it)');
    return;
  }
  // Only the check needs the image: a render without Docker still renders.
  await ctx.invoke(':images:dev-nginx');
  const image = `${images.devNginx}:latest`;
  await checkNginxConfig(
    {
      run: async (args) => {
        const result = await ctx.exec('docker', ['run', ...args], {
          quiet: true,
          allowFailure: true,
        });
        return { exitCode: result.exitCode, output: `${result.stdout}\n${result.stderr}`.trim() };
      },
    },
    {
      image,
      configFile,
      upstreamHost,
      name: outputPaths(ctx.name.split(':')[0] ?? '').nginxConfig,
    },
  );
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== 'false';
}

export function renderAll(names: readonly string[]): void {
  task('render', { desc: 'Render every environment', deps: names.map((name) => `${name}:render`) });
}
