/** The Docker adapter as the pipeline's tasks use it: output into the task's log, aborts. */
import type { TaskContext } from 'taskgraph';
import { createDocker } from 'taskgraph/docker/docker';
import type { Docker } from 'taskgraph/docker/docker';
import { dockerImageOutput } from 'taskgraph/docker/image-output';
import type { Output } from 'taskgraph';

export function dockerFor(ctx: TaskContext): Docker {
  return createDocker({ cwd: ctx.root, onOutput: (line) => ctx.log(line), signal: ctx.signal });
}

/**
 * A local image tag as a task output: up to date while the tag names the image we built. Its
 * digest (the image id) is machine-local, so it stays out of dependents' tags.
 */
export function localImage(root: string, ref: string): Output {
  return dockerImageOutput(createDocker({ cwd: root }), ref);
}

/**
 * OCI labels from git, so an image says which commit it was built from: the commit, its time
 * (not the build's, which would make every build differ) and whether the tree was dirty.
 */
export async function gitLabels(ctx: TaskContext): Promise<Record<string, string>> {
  const git = async (args: string[]): Promise<string | undefined> => {
    try {
      return (await ctx.exec('git', args, { quiet: true })).stdout.trim();
    } catch {
      return undefined;
    }
  };
  const revision = await git(['rev-parse', 'HEAD']);
  if (revision === undefined) return { 'taskgraph.git-dirty': 'unknown' };
  const created = (await git(['show', '-s', '--format=%cI', 'HEAD'])) ?? '';
  const source = (await git(['config', '--get', 'remote.origin.url'])) ?? '';
  const dirty = (await git(['status', '--porcelain', '--untracked-files=no'])) ?? '';
  return {
    'org.opencontainers.image.revision': revision,
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.source': source,
    'taskgraph.git-dirty': dirty === '' ? 'false' : 'true',
  };
}
