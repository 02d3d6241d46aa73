/**
 * The image pipeline's promises, from a copy of the repository with real builds and real composer:
 * the base image (the dependency tree) is rebuilt only when composer's files change, and a source
 * change adds one small layer on top of it, never the vendor tree again.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker } from '../support/docker-available.js';
import {
  Clone,
  docker,
  layerSizes,
  layers,
  ranInOrder,
  started,
  statuses,
  taggedBy,
} from './support/clone.js';
import type { TaskRun } from './support/clone.js';

const dockerReady = await requireDocker();

describe.skipIf(!dockerReady)('image pipeline', () => {
  let clone: Clone;
  /** The first full build: its tags are what later builds are compared with. */
  let first: TaskRun;

  beforeAll(async () => {
    clone = await Clone.create();
    await clone.isolateImages();
    first = await clone.task(['images:build']);
    expect(first.exitCode, first.text).toBe(0);
  });

  afterAll(async () => {
    await clone?.remove();
  });

  it('does nothing on a second base:rebuild with nothing changed: no build, no composer', async () => {
    const run = await clone.task(['base:rebuild']);
    expect(run.exitCode, run.text).toBe(0);
    expect(statuses(run)).toEqual({
      'images:dev-php-fpm': 'up-to-date',
      'base:rebuild': 'up-to-date',
    });
    // A start event is emitted only for a task whose run function is called.
    expect(started(run)).toEqual([]);
    expect(run.events.filter((event) => event.type === 'output')).toEqual([]);
  });

  it('-n staging:render does not predict that the up-to-date image tasks will run', async () => {
    const dry = await clone.task(['-n', 'staging:render']);
    expect(dry.exitCode, dry.text).toBe(0);
    expect(statuses(dry)).toMatchObject({
      'images:dev-php-fpm': 'up-to-date',
      'base:rebuild': 'up-to-date',
      'images:build': 'up-to-date',
    });
    expect(started(dry)).toEqual([]);
  });

  it('adds only a source-sized top layer after one app file changes', async () => {
    const before = taggedBy(first, 'images:build');
    const base = taggedBy(first, 'base:rebuild');
    await clone.edit(
      'example/app/Http/Controllers/VisitController.php',
      (text) => `${text}// ${clone.nonce}\n`,
    );

    const run = await clone.task(['images:build']);
    expect(run.exitCode, run.text).toBe(0);
    expect(statuses(run)).toEqual({
      'images:dev-php-fpm': 'up-to-date',
      'base:rebuild': 'up-to-date',
      'images:build': 'ran',
    });
    const after = taggedBy(run, 'images:build');
    expect(after).not.toBe(before);

    const [old, now] = [await layers(before), await layers(after)];
    expect(now).toHaveLength(old.length);
    expect(now.slice(0, -1)).toEqual(old.slice(0, -1));
    expect(now.at(-1)).not.toBe(old.at(-1));

    // The image's newest non-empty layer is the source tree; the base's is the vendor tree.
    const [top = 0] = await layerSizes(after);
    const [vendorLayer = 0] = await layerSizes(base);
    const source = await treeBytes(clone.path('example'), ['vendor', 'packages', 'tests']);
    expect(top).toBeGreaterThanOrEqual(source * 0.5);
    expect(top).toBeLessThanOrEqual(source * 2 + 4096);
    // Not the vendor tree: that layer stays in the base and is shared, not shipped again.
    expect(vendorLayer).toBeGreaterThan(top * 3);
    expect(await layers(base)).toEqual(now.slice(0, -1));
  });

  it('reruns exactly vendor, archive, base and image, in order, after a new path package', async () => {
    const name = `example/extra-${clone.nonce}`;
    const dir = `example/packages/extra-${clone.nonce}`;
    const namespace = `Example\\Extra${clone.nonce}\\`;
    await execa('mkdir', ['-p', clone.path(dir, 'src')]);
    await clone.write(
      `${dir}/composer.json`,
      JSON.stringify(
        { name, version: '1.0.0', type: 'library', autoload: { 'psr-4': { [namespace]: 'src/' } } },
        null,
        2,
      ),
    );
    await clone.write(
      `${dir}/src/Marker.php`,
      `<?php\n\nnamespace Example\\Extra${clone.nonce};\n\nfinal class Marker {}\n`,
    );
    // The app's own path repository beside Debian's: vendor:install copies and hashes it too.
    await clone.edit('example/composer.json', (text) => {
      const json = JSON.parse(text) as { require: Record<string, string>; repositories: unknown[] };
      json.require[name] = '^1.0';
      json.repositories.push({ type: 'path', url: 'packages/*', options: { symlink: false } });
      return `${JSON.stringify(json, null, 4)}\n`;
    });
    // The lock is written by composer itself, as a developer would, in the development image.
    await composerUpdateLock(clone, taggedBy(first, 'images:dev-php-fpm'), name);

    const run = await clone.task(['images:build']);
    expect(run.exitCode, run.text).toBe(0);
    expect(ranInOrder(run)).toEqual([
      'vendor:install',
      'vendor:archive',
      'base:rebuild',
      'images:build',
    ]);
    expect(statuses(run)['images:dev-php-fpm']).toBe('up-to-date');
    // The new package reached the production image through the base image's vendor tree.
    const installed = await docker([
      ...['run', '--rm', '--network', 'none', taggedBy(run, 'images:build')],
      ...['ls', 'vendor/example'],
    ]);
    expect(installed.split('\n')).toContain(`extra-${clone.nonce}`);
  });
});

async function composerUpdateLock(clone: Clone, image: string, pkg: string): Promise<void> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  await execa('docker', [
    ...['run', '--rm', '--network', 'host', '--user', `${uid}:${gid}`],
    ...['-e', 'COMPOSER_HOME=/tmp/composer', '-e', 'COMPOSER_CACHE_DIR=/tmp/composer-cache'],
    ...['-v', `${clone.path('example')}:/app`, '-w', '/app', image],
    ...['composer', 'update', pkg, '--no-install', '--no-audit', '--no-interaction'],
  ]);
}

/** Bytes in the files under `dir`, skipping the named top-level folders (as .dockerignore does). */
async function treeBytes(dir: string, skip: readonly string[]): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const top = path.relative(dir, file).split(path.sep)[0] ?? '';
    if (!skip.includes(top)) total += (await stat(file)).size;
  }
  return total;
}
