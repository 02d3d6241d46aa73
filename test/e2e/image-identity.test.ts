/**
 * An image tag names one image, whatever checkout built it: two checkouts of different commits on
 * one daemon, with the same image inputs, make the same image under the same tag, so neither sees
 * its output "changed since the last run" and rebuilds over the other. It failed while images
 * carried the commit (and its time) as labels, which are not inputs.
 */
import { rm } from 'node:fs/promises';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { requireDocker } from '../support/docker-available.js';
import { Clone, imageId, statuses, taggedBy } from './support/clone.js';

const dockerReady = await requireDocker();

async function git(clone: Clone, ...args: string[]): Promise<string> {
  const identity = ['-c', 'user.name=t', '-c', 'user.email=t@example.com'];
  return (await execa('git', [...identity, ...args], { cwd: clone.dir })).stdout.trim();
}

/** Replaces the copied `.git` with a repository of the copy's own, one commit. */
async function ownRepository(clone: Clone): Promise<void> {
  await rm(clone.path('.git'), { recursive: true, force: true });
  await git(clone, 'init', '-q');
  await git(clone, 'add', '-A');
  await git(clone, 'commit', '-q', '-m', 'the copy');
}

const DEV_DOCKERFILES = ['images/php-fpm/Dockerfile', 'images/nginx/Dockerfile'];

describe.skipIf(!dockerReady)('image identity across checkouts', () => {
  const clones: Clone[] = [];
  afterAll(async () => {
    for (const clone of clones) await clone.remove();
  });

  it('two checkouts at different commits on one daemon make one image per tag; neither rebuilds over the other', async () => {
    const first = await Clone.create();
    const second = await Clone.create();
    clones.push(first, second);
    // Dev images of their own (see isolateImages), the same in both checkouts.
    await first.isolateImages();
    for (const file of DEV_DOCKERFILES) await second.write(file, await first.read(file));
    // Each checkout its own repository (a copied `.git` of a worktree would point both at the
    // worktree's HEAD); the second is one commit ahead, a commit that touches no image input.
    await ownRepository(first);
    await ownRepository(second);
    await git(second, 'commit', '-q', '--allow-empty', '-m', 'docs only');
    expect(await git(second, 'rev-parse', 'HEAD')).not.toBe(await git(first, 'rev-parse', 'HEAD'));

    const built = await first.task(['images:dev-nginx']);
    expect(built.exitCode, built.text).toBe(0);
    const ref = taggedBy(built, 'images:dev-nginx');
    const id = await imageId(ref);

    const other = await second.task(['images:dev-nginx']);
    expect(other.exitCode, other.text).toBe(0);
    expect(taggedBy(other, 'images:dev-nginx')).toBe(ref);
    expect(await imageId(ref)).toBe(id);

    // The first checkout still finds its output as it left it: nothing to rebuild.
    const dry = await first.task(['-n', 'images:dev-nginx']);
    expect(dry.exitCode, dry.text).toBe(0);
    expect(statuses(dry)).toEqual({ 'images:dev-nginx': 'up-to-date' });
    expect(dry.text).not.toContain('changed since the last run');
  });
});
