/**
 * Rendered output per environment against checked-in files in test/golden/<env>/. A change to a
 * template or an environment shows up here as a diff to review; `UPDATE_GOLDEN=1 npx vitest run
 * test/render` rewrites the files after an intended change.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  discoverEnvironments,
  environmentOf,
  renderNginxConfig,
  renderTaskDefinitions,
  type RenderedFile,
} from '../../environments/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const update = process.env.UPDATE_GOLDEN === '1';

async function expectGolden(name: string, file: RenderedFile): Promise<void> {
  // build/<env>/ecs/php-fpm.json -> test/golden/<env>/ecs/php-fpm.json
  const golden = path.join(root, 'test/golden', name, path.relative(`build/${name}`, file.path));
  if (update) {
    await mkdir(path.dirname(golden), { recursive: true });
    await writeFile(golden, file.content);
    return;
  }
  const expected = await readFile(golden, 'utf8').catch(() => {
    throw new Error(`${golden} is missing: run UPDATE_GOLDEN=1 npx vitest run test/render`);
  });
  expect(file.content, `${file.path} differs from ${golden}`).toBe(expected);
}

describe('golden renders', () => {
  const names = discoverEnvironments(path.join(root, 'environments'));

  it('finds every environment file', () => {
    expect(names).toEqual(expect.arrayContaining(['local', 'prod', 'staging']));
  });

  for (const name of names) {
    it(`renders ${name}`, async () => {
      const env = environmentOf(name, await import(`../../environments/${name}.ts`));
      await expectGolden(name, await renderNginxConfig(env, { cwd: root }));
      if (env.kind !== 'ecs') return;
      const registry = env.ecr.registry;
      const images = {
        phpFpm: `${registry}/${env.ecr.repositories.phpFpm}:0123456789ab`,
        nginx: `${registry}/${env.ecr.repositories.nginx}:0123456789ab`,
      };
      for (const file of await renderTaskDefinitions(env, { cwd: root, images })) {
        await expectGolden(name, file);
      }
    });
  }
});
