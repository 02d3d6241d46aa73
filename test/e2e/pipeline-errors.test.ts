/**
 * Bad input to the pipeline, from a copy of the repository: each failure says what failed and what
 * to do, records nothing (the next run tries again), and leaves what was built before intact.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker } from '../support/docker-available.js';
import { Clone, imageId, started, statuses, taggedBy } from './support/clone.js';

const dockerReady = await requireDocker();

describe.skipIf(!dockerReady)('pipeline failures', () => {
  let clone: Clone;
  let devNginx: string;

  beforeAll(async () => {
    clone = await Clone.create();
    await clone.isolateImages();
    const run = await clone.task(['vendor:install', 'images:dev']);
    expect(run.exitCode, run.text).toBe(0);
    devNginx = taggedBy(run, 'images:dev-nginx');
  });

  afterAll(async () => {
    await clone?.remove();
  });

  it('fails at once, saying what to do, when Docker is not running', async () => {
    const run = await clone.task(['images:dev'], {
      DOCKER_HOST: 'unix:///nonexistent.sock',
    });
    expect(run.exitCode, run.text).toBe(1);
    expect(run.text).toContain('Docker is not running');
    expect(run.text).toContain('scripts/setup.sh');
    expect(Object.values(statuses(run))).toContain('failed');
    // No retries or timeouts: a refused socket is an answer. Generous for a loaded 2-core machine.
    expect(run.durationMs).toBeLessThan(10_000);
  });

  it('renders the nginx config without Docker, saying nginx -t was skipped; CI requires the check', async () => {
    const noDocker = { DOCKER_HOST: 'unix:///nonexistent.sock' };
    const laptop = await clone.task(['prod:nginx-config'], { ...noDocker, CI: 'false' });
    expect(laptop.exitCode, laptop.text).toBe(0);
    expect(laptop.text).toMatch(
      /^\[prod:nginx-config\] nginx -t skipped: Docker is not available/m,
    );
    expect(await clone.read('build/prod/nginx/default.conf')).toContain('fastcgi_pass');

    const ci = await clone.task(['-B', 'prod:nginx-config'], noDocker);
    expect(ci.exitCode, ci.text).toBe(1);
    expect(ci.text).toContain('Docker is not running');
  });

  it('fails vendor:install with composer’s message when the lock is out of sync, keeping vendor/', async () => {
    const composerJson = await clone.read('example/composer.json');
    const before = await listing(clone.path('example/vendor'));
    try {
      await clone.edit('example/composer.json', (text) => {
        const json = JSON.parse(text) as { require: Record<string, string> };
        json.require[`example/missing-${clone.nonce}`] = '^1.0';
        return `${JSON.stringify(json, null, 4)}\n`;
      });
      const run = await clone.task(['vendor:install']);
      expect(run.exitCode, run.text).toBe(1);
      expect(statuses(run)['vendor:install']).toBe('failed');
      expect(run.text).toContain(`example/missing-${clone.nonce}`);
      expect(run.text).toMatch(/not present in the lock file/);
      expect(await listing(clone.path('example/vendor'))).toEqual(before);
    } finally {
      await clone.write('example/composer.json', composerJson);
    }
  });

  it('names the failing Dockerfile step, records nothing and keeps the old image', async () => {
    const oldId = await imageId(devNginx);
    expect(oldId).toBeDefined();
    await clone.edit('images/nginx/Dockerfile', (text) =>
      text.replace('\nEXPOSE 80', '\nRUN false\nEXPOSE 80'),
    );

    for (const attempt of [1, 2]) {
      const run = await clone.task(['images:dev-nginx']);
      expect(run.exitCode, `attempt ${attempt}: ${run.text}`).toBe(1);
      // Not "up to date" the second time: a failed build is never recorded as a success.
      expect(statuses(run)).toEqual({ 'images:dev-nginx': 'failed' });
      expect(started(run)).toEqual(['images:dev-nginx']);
      expect(run.text).toMatch(/images\/nginx\/Dockerfile, step \d+\/\d+ \(RUN false\)/);
    }
    expect(await imageId(devNginx)).toBe(oldId);
  });
});

/** path, size and mtime of every entry under `dir`: any replacement or edit shows. */
async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  const lines = await Promise.all(
    entries.map(async (entry) => {
      const info = await stat(path.join(dir, entry));
      return `${entry} ${info.size} ${info.mtimeMs} ${info.ino}`;
    }),
  );
  expect(lines.length).toBeGreaterThan(0);
  return lines.sort();
}
