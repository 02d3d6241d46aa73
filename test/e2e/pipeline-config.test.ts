/**
 * Rendered config per environment (nginx site config, ECS task definitions), from a copy of the
 * repository with real builds: a render reruns exactly when its templates, its environment or the
 * images it names change, or the code that renders (a task's definition covers the modules it
 * imports), and an environment is one file in environments/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker } from '../support/docker-available.js';
import { Clone, ranInOrder, started, statuses, taggedBy } from './support/clone.js';
import type { TaskRun } from './support/clone.js';

const dockerReady = await requireDocker();

describe.skipIf(!dockerReady)('rendered config', () => {
  let clone: Clone;

  beforeAll(async () => {
    clone = await Clone.create();
    await clone.isolateImages();
    const first = await clone.task(['render']);
    expect(first.exitCode, first.text).toBe(0);
  });

  afterAll(async () => {
    await clone?.remove();
  });

  it('skips staging:render and everything under it when nothing changed', async () => {
    const run = await clone.task(['staging:render']);
    expect(run.exitCode, run.text).toBe(0);
    expect(statuses(run)['staging:render']).toBe('up-to-date');
    expect(Object.values(statuses(run)).every((status) => status === 'up-to-date')).toBe(true);
    expect(started(run)).toEqual([]);
  });

  it('rerenders every environment after a task-definition template edit, building nothing', async () => {
    await clone.edit(
      'config-templates/ecs/php-fpm.json.ejs',
      (text) => `${text}<%# ${clone.nonce} %>\n`,
    );

    const run = await clone.task(['render']);
    expect(run.exitCode, run.text).toBe(0);
    expect(rendersThatRan(run)).toEqual(['prod:render', 'staging:render']);
  });

  it('rerenders only staging after environments/staging.ts changes', async () => {
    await clone.edit('environments/staging.ts', (text) =>
      text.replace(
        "APP_ENV: 'staging',",
        `APP_ENV: 'staging',\n      APP_MARKER: '${clone.nonce}',`,
      ),
    );

    const run = await clone.task(['render']);
    expect(run.exitCode, run.text).toBe(0);
    const ran = rendersThatRan(run);
    expect(ran).toContain('staging:render');
    expect(ran.filter((key) => !key.startsWith('staging:'))).toEqual([]);
    expect(statuses(run)['prod:render']).toBe('up-to-date');
    expect(statuses(run)['local:nginx-config']).toBe('up-to-date');
    expect(await clone.read('build/staging/ecs/php-fpm.json')).toContain(clone.nonce);
    expect(await clone.read('build/prod/ecs/php-fpm.json')).not.toContain(clone.nonce);
  });

  it('rebuilds the php-fpm image but no nginx image after a PHP-only change', async () => {
    const nginxBefore = await clone.read('build/staging/ecs/nginx.json');
    await clone.edit(
      'example/app/Http/Controllers/VisitController.php',
      (text) => `${text}// ${clone.nonce}\n`,
    );

    const run = await clone.task(['staging:render']);
    expect(run.exitCode, run.text).toBe(0);
    expect(statuses(run)).toMatchObject({
      'base:rebuild': 'up-to-date',
      'images:build': 'ran',
      'staging:nginx-config': 'up-to-date',
      'staging:nginx': 'up-to-date',
      'staging:render': 'ran',
    });
    // The task definition names the new image; the nginx one is unchanged.
    const tag = taggedBy(run, 'images:build').split(':')[1] ?? '';
    expect(await clone.read('build/staging/ecs/php-fpm.json')).toContain(
      `staging_example_php_fpm:${tag}`,
    );
    expect(await clone.read('build/staging/ecs/nginx.json')).toBe(nginxBefore);
  });

  it('gets qa:render from a new environments/qa.ts with no other edit', async () => {
    const staging = await clone.read('environments/staging.ts');
    await clone.write('environments/qa.ts', staging.replaceAll('staging', 'qa'));

    const run = await clone.task(['qa:render', 'staging:render']);
    expect(run.exitCode, run.text).toBe(0);
    expect(statuses(run)).toMatchObject({ 'qa:render': 'ran', 'staging:render': 'up-to-date' });
    const taskDefinition = await clone.read('build/qa/ecs/php-fpm.json');
    expect(taskDefinition).toContain('qa_example_php_fpm:');
    expect(taskDefinition).not.toContain('staging');
  });

  it('rerenders after an edit of the render code it imports (src/render/escape.ts), building no app image', async () => {
    await clone.edit('src/render/escape.ts', (text) => `${text}// ${clone.nonce}\n`);

    const run = await clone.task(['render']);
    expect(run.exitCode, run.text).toBe(0);
    expect(rendersThatRan(run)).toEqual(
      expect.arrayContaining(['prod:render', 'staging:render', 'staging:nginx-config']),
    );
    expect(statuses(run)).toMatchObject({
      'base:rebuild': 'up-to-date',
      'images:build': 'up-to-date',
    });
  });
});

/**
 * Tasks that ran, sorted, without `render`: it only groups the environments' renders and, with no
 * inputs or outputs, counts as run every time (as in Rake).
 */
function rendersThatRan(run: TaskRun): string[] {
  return ranInOrder(run)
    .filter((key) => key !== 'render')
    .sort();
}
