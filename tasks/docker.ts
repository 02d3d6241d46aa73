/** The Docker adapter as the pipeline's tasks use it: output into the task's log, aborts. */
import type { TaskContext } from 'taskgraph';
import { createDocker } from '../src/docker/docker.ts';
import type { Docker } from '../src/docker/docker.ts';
import { dockerImageOutput } from '../src/docker/image-output.ts';
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
  const source = sourceUrl((await git(['config', '--get', 'remote.origin.url'])) ?? '');
  const dirty = (await git(['status', '--porcelain', '--untracked-files=no'])) ?? '';
  return {
    'org.opencontainers.image.revision': revision,
    'org.opencontainers.image.created': created,
    ...(source === undefined ? {} : { 'org.opencontainers.image.source': source }),
    'taskgraph.git-dirty': dirty === '' ? 'false' : 'true',
  };
}

/**
 * The origin as a label may carry it: a remote URL (https, ssh, git, or scp-like
 * `git@host:org/repo`) without any user or token in it; never a local path or file:// URL, which
 * would publish the builder's folder layout with the image.
 */
export function sourceUrl(origin: string): string | undefined {
  const scp = /^[\w.-]+@([\w.-]+\.[\w-]+):(?!\/)(.+)$/.exec(origin);
  if (scp) return `ssh://${scp[1]}/${scp[2]}`;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  if (!['https:', 'http:', 'ssh:', 'git:', 'git+ssh:'].includes(url.protocol) || !url.hostname) {
    return undefined;
  }
  url.username = '';
  url.password = '';
  return url.href;
}
