/** Task definitions rendered by the real templates for the image tags a test names. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderTaskDefinitions } from '../../environments/index.js';
import type { EcsEnvironment } from '../../src/environment.js';
import type { RenderedTaskDefinitions } from '../../src/aws/task-definitions.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type ImageTags = { readonly phpFpm: string; readonly nginx: string };

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
  const [phpFpm, nginx] = files.map((file) => JSON.parse(file.content) as never);
  if (phpFpm === undefined || nginx === undefined) throw new Error('expected two renders');
  return { phpFpm, nginx };
}
