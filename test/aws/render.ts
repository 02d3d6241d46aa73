/** Task definitions rendered by the real templates for the image tags a test names. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTaskDefinitions } from '../../environments/index.js';
import { serviceKeys, type EcsEnvironment, type ImageKey } from '../../src/environment.js';
import type { RenderedTaskDefinitions } from '../../src/aws/task-definitions.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The tag of each built image (a service names the image it runs, not a tag). */
export type ImageTags = Readonly<Record<ImageKey, string>>;

/** The image reference a task definition names, e.g. for emulator fault selectors. */
export function imageRef(env: EcsEnvironment, key: keyof ImageTags, tag: string): string {
  return `${env.ecr.registry}/${env.ecr.repositories[key]}:${tag}`;
}

export async function renderFor(
  env: EcsEnvironment,
  tags: ImageTags,
): Promise<RenderedTaskDefinitions> {
  const files = await renderTaskDefinitions(env, {
    cwd: ROOT,
    images: {
      phpFpm: imageRef(env, 'phpFpm', tags.phpFpm),
      nginx: imageRef(env, 'nginx', tags.nginx),
    },
  });
  // One file per service, in deploy order.
  const keys = serviceKeys(env);
  if (files.length !== keys.length) throw new Error(`expected ${keys.length} renders`);
  const rendered: Record<string, RenderedTaskDefinitions[string]> = {};
  files.forEach((file, i) => {
    rendered[keys[i] ?? ''] = JSON.parse(file.content) as RenderedTaskDefinitions[string];
  });
  return rendered;
}
