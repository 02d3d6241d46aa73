/**
 * The render functions the ENV:* tasks call, run in a temp copy of the project's templates so a
 * test can break a template without touching the real ones.
 */
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  outputPaths,
  renderNginxConfig,
  renderTaskDefinitions,
  writeRenderedFiles,
} from '../../environments/index.js';
import local from '../../environments/local.js';
import staging from '../../environments/staging.js';
import { writeFileAtomic } from '../../src/atomic-file.js';
import { RenderError } from '../../src/render/failure.js';
import { withWorker } from '../support/worker-environment.js';

/** The templates staging's services name. */
const NGINX_TEMPLATE = staging.services.nginx?.template ?? '';
const PHP_FPM_TEMPLATE = staging.services.phpFpm?.template ?? '';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const images = {
  phpFpm: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/staging_example_php_fpm:0123456789ab',
  nginx: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/staging_example_nginx:0123456789ab',
};

let cwd: string;
beforeEach(async () => {
  cwd = await mkdtemp(path.join(tmpdir(), 'taskgraph-render-'));
  await cp(path.join(root, 'config-templates'), path.join(cwd, 'config-templates'), {
    recursive: true,
  });
});
afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

async function failureOf(run: () => Promise<unknown>) {
  try {
    await run();
  } catch (error) {
    if (error instanceof RenderError) return error.failure;
    throw error;
  }
  throw new Error('expected a RenderError');
}

async function breakTemplate(template: string, from: string, to: string): Promise<void> {
  const file = path.join(cwd, template);
  const source = await readFile(file, 'utf8');
  expect(source).toContain(from);
  await writeFile(file, source.replace(from, to));
}

describe('renderTaskDefinitions', () => {
  it('renders every declared service from its own template, a worker included', async () => {
    const env = withWorker(staging);
    const files = await renderTaskDefinitions(env, { cwd, images });
    expect(files.map((f) => f.path)).toEqual([
      'build/staging/ecs/php-fpm.json',
      'build/staging/ecs/nginx.json',
      'build/staging/ecs/worker.json',
    ]);
    const worker = JSON.parse(files[2]?.content ?? '') as {
      family: string;
      containerDefinitions: { image: string; command: string[]; portMappings?: unknown }[];
    };
    expect(worker.family).toBe('example-staging-worker');
    expect(worker.containerDefinitions).toHaveLength(1);
    expect(worker.containerDefinitions[0]).toMatchObject({
      image: images.phpFpm,
      command: ['php', 'artisan', 'queue:work', '--tries=3'],
    });
    expect(worker.containerDefinitions[0]).not.toHaveProperty('portMappings');
  });

  it('names the template and line of a misspelt nested variable', async () => {
    await breakTemplate(NGINX_TEMPLATE, 'env.logs.group', 'env.logs.gruop');
    const source = await readFile(path.join(cwd, NGINX_TEMPLATE), 'utf8');
    const line = source.split('\n').findIndex((text) => text.includes('env.logs.gruop')) + 1;
    expect(await failureOf(() => renderTaskDefinitions(staging, { cwd, images }))).toEqual({
      reason: 'missing-variable',
      template: 'config-templates/ecs/nginx.json.ejs',
      line,
      variable: 'env.logs.gruop',
    });
  });

  it('refuses image references from another repository or without a tag', async () => {
    const swapped = { phpFpm: images.nginx, nginx: images.phpFpm };
    expect(await failureOf(() => renderTaskDefinitions(staging, { cwd, images: swapped }))).toEqual(
      {
        reason: 'image-mismatch',
        environment: 'staging',
        image: 'phpFpm',
        expected: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/staging_example_php_fpm:<tag>',
        found: images.nginx,
      },
    );
    const untagged = { ...images, nginx: images.nginx.replace(/:.*$/, '') };
    expect(
      await failureOf(() => renderTaskDefinitions(staging, { cwd, images: untagged })),
    ).toMatchObject({
      image: 'nginx',
    });
  });

  it('refuses a template that writes an image other than the one passed', async () => {
    await breakTemplate(NGINX_TEMPLATE, '<%= image %>', '"nginx:latest"');
    expect(await failureOf(() => renderTaskDefinitions(staging, { cwd, images }))).toEqual({
      reason: 'invalid-task-definition',
      template: 'config-templates/ecs/nginx.json.ejs',
      problems: [
        {
          path: 'containerDefinitions[0].image',
          message: `"nginx:latest" is not an image this run built (built: ${images.nginx})`,
        },
      ],
    });
  });

  it('keeps a hostile env value a single JSON string', async () => {
    const value = 'x", "privileged": true, "y": "';
    const env = { ...staging, app: { env: { ...staging.app.env, APP_NAME: value } } };
    const [phpFpm] = await renderTaskDefinitions(env, { cwd, images });
    const parsed = JSON.parse(phpFpm?.content ?? '') as {
      containerDefinitions: Record<string, unknown>[];
    };
    const container = parsed.containerDefinitions[0];
    expect(container).not.toHaveProperty('privileged');
    expect(container?.environment).toContainEqual({ name: 'APP_NAME', value });
  });

  it('reports rendered text that is not JSON', async () => {
    await breakTemplate(PHP_FPM_TEMPLATE, '"essential": true,', '"essential": true');
    expect(await failureOf(() => renderTaskDefinitions(staging, { cwd, images }))).toMatchObject({
      reason: 'invalid-json',
      template: 'config-templates/ecs/php-fpm.json.ejs',
    });
  });
});

describe('renderNginxConfig', () => {
  it('sends FastCGI to the address the local deploy picked', async () => {
    const file = await renderNginxConfig(local, {
      cwd,
      fastcgi: { host: '127.0.0.1', port: 9002 },
    });
    expect(file.path).toBe('build/local/nginx/default.conf');
    expect(file.content).toContain('    server 127.0.0.1:9002;\n');
    expect(file.content).toContain('    listen 127.0.0.1:8080;\n');
  });

  it('refuses a server name that would inject a directive', async () => {
    const env = {
      ...local,
      nginx: { ...local.nginx, serverNames: ['a.test', 'b.test;\nreturn 302 $x'] },
    };
    expect(await failureOf(() => renderNginxConfig(env, { cwd }))).toMatchObject({
      reason: 'unsafe-value',
      template: 'config-templates/nginx/default.conf.ejs',
    });
  });
});

describe('atomic output', () => {
  async function entries(dir: string): Promise<string[]> {
    return (await readdir(dir, { recursive: true })).map(String).sort();
  }

  it('a failed render leaves the previous output intact and no temp file', async () => {
    await writeRenderedFiles(await renderTaskDefinitions(staging, { cwd, images }), { cwd });
    const outputs = outputPaths('staging');
    const before = await readFile(path.join(cwd, outputs.taskDefinition('phpFpm')), 'utf8');
    const listing = await entries(path.join(cwd, 'build'));

    // php-fpm renders fine with the new image; nginx then fails, so neither file may change.
    await breakTemplate(NGINX_TEMPLATE, 'env.aws.region', 'env.aws.regoin');
    const next = { ...images, phpFpm: images.phpFpm.replace('0123456789ab', 'ba9876543210') };
    await expect(
      (async () =>
        writeRenderedFiles(await renderTaskDefinitions(staging, { cwd, images: next }), { cwd }))(),
    ).rejects.toThrow(RenderError);

    expect(await readFile(path.join(cwd, outputs.taskDefinition('phpFpm')), 'utf8')).toBe(before);
    expect(await entries(path.join(cwd, 'build'))).toEqual(listing);
  });

  it('a failed write removes its temp file and keeps the old content', async () => {
    const dir = path.join(cwd, 'build/staging/nginx');
    const target = path.join(dir, 'default.conf');
    writeFileAtomic(target, 'old\n');
    // A directory in the way makes the final rename fail after the temp file was written.
    writeFileAtomic(path.join(dir, 'blocked', 'keep'), 'x');
    expect(() => writeFileAtomic(path.join(dir, 'blocked'), 'new\n')).toThrow();
    expect(await entries(dir)).toEqual(['blocked', 'blocked/keep', 'default.conf']);
    expect(await readFile(target, 'utf8')).toBe('old\n');
  });
});
