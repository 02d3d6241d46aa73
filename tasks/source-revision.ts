/**
 * The commit the checkout is at, for a deploy to record on what it registers
 * (src/aws/deploy-source.ts). Never an image label: see imageLabels in tasks/docker.ts.
 */
import type { TaskContext } from 'taskgraph';
import type { DeploySource } from '../src/aws/deploy-source.ts';

/** HEAD, the dirty flag and the origin; undefined outside a git checkout. */
export async function sourceRevision(
  ctx: Pick<TaskContext, 'exec'>,
): Promise<DeploySource | undefined> {
  const git = async (args: string[]): Promise<string | undefined> => {
    try {
      return (await ctx.exec('git', args, { quiet: true })).stdout.trim();
    } catch {
      return undefined;
    }
  };
  const revision = await git(['rev-parse', 'HEAD']);
  if (revision === undefined) return undefined;
  const dirty = (await git(['status', '--porcelain', '--untracked-files=no'])) ?? '';
  const source = sourceUrl((await git(['config', '--get', 'remote.origin.url'])) ?? '');
  return { revision, dirty: dirty !== '', source };
}

/**
 * The origin as a record may carry it: a remote URL (https, ssh, git, or scp-like
 * `git@host:org/repo`) without any user, token, query string or fragment in it (a CI clone URL
 * such as `https://host/repo.git?access_token=X` carries the secret there); never a local path
 * or file:// URL, which would publish the builder's folder layout.
 */
export function sourceUrl(origin: string): string | undefined {
  const scp = /^[\w.-]+@([\w.-]+\.[\w-]+):(?!\/)([^?#]+)/.exec(origin);
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
  url.search = '';
  url.hash = '';
  return url.href;
}
