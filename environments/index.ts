/**
 * The environments the Taskfile turns into namespaces, and the renders each one gets.
 *
 * Every `environments/<name>.ts` other than this file is an environment (the schema is
 * src/environment.ts): adding
 * qa.ts adds qa:render and qa:deploy with no other edit. The functions here are what those tasks
 * call; the templates live in config-templates/ and the generic machinery in src/render/.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from 'taskgraph';
import { renderTemplateFile } from '../src/render/ejs.js';
import { shell } from '../src/render/escape.js';
import { RenderError } from '../src/render/failure.js';
import { checkTaskDefinition } from '../src/render/task-definition.js';
import {
  ENVIRONMENT_NAME,
  IMAGE_KEYS,
  environmentFile,
  type EcsEnvironment,
  type ImageKey,
  outputPaths,
  type Environment,
} from '../src/environment.js';

export { outputPaths };

export type { EcsEnvironment, Environment, LocalEnvironment } from '../src/environment.js';
export { defineEnvironment, validateEnvironment } from '../src/environment.js';

/** Modules in environments/ that are not environments. */
const NOT_ENVIRONMENTS = new Set(['index', 'schema']);

/** Environment names, sorted, from the `.ts` files in `dir` (e.g. `<root>/environments`). */
export function discoverEnvironments(dir: string): string[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.endsWith('.test.ts'))
    .map((file) => file.slice(0, -'.ts'.length))
    .filter((name) => !NOT_ENVIRONMENTS.has(name) && ENVIRONMENT_NAME.test(name))
    .sort();
}

/**
 * The environment that `environments/<name>.ts` exports (it validates itself), checked to be the
 * one it claims to be. The caller imports the module: Taskfile.ts does, with a template-literal
 * import that esbuild turns into a bundle of every `environments/*.ts`, so a bundled Taskfile can
 * load environments it was not written to know. Not here: a task's definition covers every module
 * its own module imports, and the render tasks import this file, so staging.ts would become part of
 * prod:render's definition (each environment reaches its tasks as data, through `vars`).
 */
export function environmentOf(name: string, module: unknown): Environment {
  const file = environmentFile(name);
  const env = (module as { default?: unknown }).default;
  const declared = typeof env === 'object' && env !== null && 'name' in env ? env.name : undefined;
  if (declared !== name) {
    throw new RenderError({
      reason: 'invalid-environment',
      file,
      issues: [
        {
          path: '(default export)',
          expected: `export default defineEnvironment('${name}', { ... })`,
          found:
            declared === undefined
              ? 'no environment'
              : `defineEnvironment(${JSON.stringify(declared)}, ...)`,
        },
      ],
    });
  }
  return env as Environment;
}

/**
 * Template paths, relative to the project root: the render tasks' inputs. Task-definition
 * templates are named by each service in the environment file (`services.<key>.template`).
 */
export const TEMPLATES = {
  nginxConfig: 'config-templates/nginx/default.conf.ejs',
} as const;

/** The task-definition templates an environment's services use, once each, sorted. */
export function taskDefinitionTemplates(env: EcsEnvironment): string[] {
  return [...new Set(Object.values(env.services).map((service) => service.template))].sort();
}

/** A rendered file, not yet written: render everything first, so a failure writes nothing. */
export interface RenderedFile {
  /** Relative to the project root, e.g. `build/staging/ecs/php-fpm.json`. */
  readonly path: string;
  readonly template: string;
  readonly content: string;
}

export interface FastcgiAddress {
  readonly host: string;
  readonly port: number;
}

export interface NginxConfigOptions {
  readonly cwd: string;
  /**
   * Where nginx sends PHP requests. ECS: the NLB from the environment, always. Local: the port the
   * local deploy started php-fpm on; defaults to the primary port.
   */
  readonly fastcgi?: FastcgiAddress;
}

/** Where the rendered nginx config sends FastCGI; also the host `nginx -t` must be able to resolve. */
export function fastcgiAddress(env: Environment, fastcgi?: FastcgiAddress): FastcgiAddress {
  if (env.kind === 'ecs') return { host: env.nlb.host, port: env.nlb.port };
  return fastcgi ?? { host: env.host, port: env.phpFpm.ports.primary };
}

/**
 * The port the nginx image's site config listens on: the container port of the services that run
 * the nginx image (80 when none declares one). They share one image, so they must agree.
 */
function nginxPort(env: EcsEnvironment): number {
  const ports = new Set(
    Object.values(env.services)
      .filter((service) => service.image === 'nginx')
      .map((service) => service.containerPort ?? 80),
  );
  if (ports.size > 1) {
    throw new RenderError({
      reason: 'invalid-environment',
      file: environmentFile(env.name),
      issues: [
        {
          path: 'services.<key>.containerPort',
          expected: 'one port for every service running the nginx image (one site config)',
          found: [...ports].join(', '),
        },
      ],
    });
  }
  return [...ports][0] ?? 80;
}

export async function renderNginxConfig(
  env: Environment,
  options: NginxConfigOptions,
): Promise<RenderedFile> {
  const listen = env.kind === 'ecs' ? String(nginxPort(env)) : `${env.host}:${env.nginx.port}`;
  const content = await renderTemplateFile({
    cwd: options.cwd,
    template: TEMPLATES.nginxConfig,
    escape: 'nginx',
    locals: { env, listen, fastcgi: fastcgiAddress(env, options.fastcgi) },
  });
  return { path: outputPaths(env.name).nginxConfig, template: TEMPLATES.nginxConfig, content };
}

/** Full references the image tasks produced, e.g. `<registry>/prod_example_php_fpm:0123456789ab`. */
export type ImageRefs = Readonly<Record<ImageKey, string>>;

export interface TaskDefinitionOptions {
  readonly cwd: string;
  readonly images: ImageRefs;
}

async function renderTaskDefinition(
  template: string,
  outputPath: string,
  locals: Record<string, unknown>,
  options: TaskDefinitionOptions & { readonly allowed: string },
): Promise<RenderedFile> {
  const text = await renderTemplateFile({ cwd: options.cwd, template, escape: 'json', locals });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RenderError({ reason: 'invalid-json', template, message: String(error) });
  }
  // Each task definition may name only its own image: a template that writes any other is caught.
  const check = checkTaskDefinition(parsed, { allowedImages: [options.allowed] });
  if (!check.ok) {
    throw new RenderError({
      reason: 'invalid-task-definition',
      template,
      problems: check.problems,
    });
  }
  // Re-serialised so the file's layout does not depend on the template's whitespace.
  return { path: outputPath, template, content: `${JSON.stringify(parsed, null, 2)}\n` };
}

/** An image must come from this environment's registry and repository, with a tag. */
function checkImageRefs(env: EcsEnvironment, images: ImageRefs): void {
  for (const key of IMAGE_KEYS) {
    const repository = `${env.ecr.registry}/${env.ecr.repositories[key]}`;
    const found = images[key];
    const tag = found.startsWith(`${repository}:`) ? found.slice(repository.length + 1) : '';
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) {
      throw new RenderError({
        reason: 'image-mismatch',
        environment: env.name,
        image: key,
        expected: `${repository}:<tag>`,
        found,
      });
    }
  }
}

/**
 * Every service's ECS task definition, in deploy order: its own template with `service` (its
 * entry in env.services) and `image` (the built reference of the image it names), parsed and
 * checked as RegisterTaskDefinition would.
 */
export async function renderTaskDefinitions(
  env: EcsEnvironment,
  options: TaskDefinitionOptions,
): Promise<RenderedFile[]> {
  checkImageRefs(env, options.images);
  const outputs = outputPaths(env.name);
  const files: RenderedFile[] = [];
  for (const key of env.deploy.order.flat()) {
    const service = env.services[key];
    if (service === undefined) continue;
    const image = options.images[service.image];
    files.push(
      await renderTaskDefinition(
        service.template,
        outputs.taskDefinition(key),
        { env, key, service, image, shell },
        { ...options, allowed: image },
      ),
    );
  }
  return files;
}

/** Writes each file atomically under `cwd`; call only once every render has succeeded. */
export async function writeRenderedFiles(
  files: readonly RenderedFile[],
  options: { readonly cwd: string },
): Promise<string[]> {
  const written: string[] = [];
  for (const file of files) {
    const target = path.resolve(options.cwd, file.path);
    writeFileAtomic(target, file.content);
    written.push(target);
  }
  return written;
}

function leaves(value: unknown, prefix: string, out: [string, string][]): void {
  const isScalarArray =
    Array.isArray(value) && value.every((item) => typeof item !== 'object' || item === null);
  if (typeof value === 'object' && value !== null && !isScalarArray) {
    for (const [key, item] of Object.entries(value)) {
      leaves(
        item,
        Array.isArray(value) ? `${prefix}[${key}]` : prefix === '' ? key : `${prefix}.${key}`,
        out,
      );
    }
    return;
  }
  out.push([prefix, typeof value === 'string' ? value : JSON.stringify(value)]);
}

/**
 * The resolved environment as JSON (its file's keys, validated and defaults filled in), for
 * `npx task -q ENV:config > env.json`. Secrets are references (SSM or Secrets Manager ARNs) in the
 * environment and stay so: no value is ever fetched to print.
 */
export function environmentJson(env: Environment): string {
  return JSON.stringify(env, null, 2);
}

/**
 * The resolved environment as `key.path  value` lines, for ENV:config. Secrets are references in
 * the environment file and stay references here: no value is ever fetched to print.
 */
export function describeEnvironment(env: Environment): string {
  const { name, ...settings } = env;
  const secrets = env.kind === 'ecs' ? env.secrets : {};
  const rest: Record<string, unknown> = { ...settings };
  delete rest.secrets;
  const lines: [string, string][] = [];
  leaves(rest, '', lines);
  for (const [key, ref] of Object.entries(secrets)) {
    lines.push([`secrets.${key}`, `valueFrom ${ref} (reference, resolved by ECS at task start)`]);
  }
  const width = Math.max(...lines.map(([key]) => key.length));
  return [
    `${name} (${env.kind}) from ${environmentFile(name)}`,
    ...lines.map(([key, value]) => `  ${key.padEnd(width)}  ${value}`),
  ].join('\n');
}
