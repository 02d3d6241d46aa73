/**
 * The cache registry (settings.cacheRegistry) shared by laptops and CI: an image's tag is the
 * hash of its inputs, so whoever builds a tag first pushes it there and every other machine pulls
 * the very same image (the same digest) instead of building its own bytes from the same inputs.
 * A push to ECR then finds the same image, not one "built elsewhere".
 */
import type { TaskContext } from 'taskgraph';
import type { Docker } from '../src/docker/docker.ts';
import { settings } from './settings.ts';

/** The cache registry's name for a local `ref`, or undefined without a cache registry. */
export function cachedRef(ref: string): string | undefined {
  return settings.cacheRegistry ? `${settings.cacheRegistry}/${ref}` : undefined;
}

/** Pulls `ref` from the cache registry and tags it as `ref` and `also`; false when not there. */
export async function pullCached(
  ctx: Pick<TaskContext, 'log'>,
  docker: Docker,
  ref: string,
  also: readonly string[],
  saved: string,
): Promise<boolean> {
  const cached = cachedRef(ref);
  if (cached === undefined) return false;
  try {
    await docker.pull(cached);
    for (const target of [ref, ...also]) await docker.tag(cached, target);
    ctx.log(`pulled ${cached}: ${saved}`);
    return true;
  } catch {
    ctx.log(`${cached} is not in the cache registry; building it`);
    return false;
  }
}

/** Pushes a freshly built `ref` to the cache registry; a failure is a warning, not an error. */
export async function pushCached(
  ctx: Pick<TaskContext, 'log'>,
  docker: Docker,
  ref: string,
): Promise<void> {
  const cached = cachedRef(ref);
  if (cached === undefined) return;
  try {
    await docker.tag(ref, cached);
    await docker.push(cached);
  } catch (error) {
    ctx.log(`warning: could not push ${cached} to the cache registry: ${(error as Error).message}`);
  }
}
