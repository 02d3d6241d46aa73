/**
 * A glob's file list that can be reused without walking the tree again, as git's untracked cache
 * does: creating, deleting or renaming an entry changes its directory's mtime and ctime, so while
 * every directory the walk read still has the stat it had then, the walk would find the same
 * files. An unchanged 20,000-file vendor tree then costs ~2,400 directory stats instead of a
 * directory walk and 20,000 pattern matches.
 *
 * Every directory the walk *read* is recorded, not only the parents of matched files: a file
 * created under a directory that held no match must still be found. Directories the patterns
 * prune are never read and need no record; whether they are pruned depends on their path alone.
 * Each directory is stat'ed before it is read, so a change between the two shows as a mismatch.
 *
 * The racy case is the stat cache's (see file-hasher.ts): an entry created within the timestamp
 * granularity of the read can leave the directory's mtime as recorded, so a listing in which any
 * directory changed within RACY_MARGIN_MS of the walk is not reused.
 *
 * Symbolic links are followed (as tinyglobby does); a link's target can change without its
 * directory changing, so each link met is recorded with its target's stat too.
 */
import { readdirSync, statSync } from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';

/**
 * How much older than the walk (or the hashing) a stat must be to be trusted. Linux's coarse
 * timestamps lag by up to a jiffy (10 ms at HZ=100); keep a wide margin. It also makes
 * millisecond-float stats safe: any later change moves ctime by far more than their
 * sub-microsecond rounding.
 */
export const RACY_MARGIN_MS = 1000;

export interface Listing {
  /** The globs, exactly as passed to tinyglobby; a listing answers only for these. */
  readonly patterns: readonly string[];
  /** Matched files, root-relative, sorted. */
  readonly files: readonly string[];
  /** Directories read and links met: root-relative (`''` is the root), absolute when outside. */
  readonly dirs: readonly string[];
  /** Four numbers per entry of `dirs`: see stamp(). */
  readonly dirStats: readonly number[];
}

/** Lists the files the globs match and, when the tree held still, what proves the list later. */
export async function walk(
  root: string,
  patterns: readonly string[],
): Promise<{ files: string[]; listing: Listing | undefined }> {
  // Loaded on demand: an unchanged tree never needs it.
  const { globSync } = await import('tinyglobby');
  const startedMs = Date.now();
  const dirs: string[] = [];
  const dirStats: number[] = [];
  let racy = false;
  const record = (path: string) => {
    const stats = statSync(path, { throwIfNoEntry: false });
    dirs.push(toStored(root, path));
    dirStats.push(...stamp(stats));
    if (stats && Math.max(stats.mtimeMs, stats.ctimeMs) >= startedMs - RACY_MARGIN_MS) racy = true;
  };
  // tinyglobby (through fdir) reads every directory it descends into with this function, and
  // takes the matching decisions itself, so hashing and watch mode keep its exact semantics.
  const recordingReaddir = (path: string, options: { withFileTypes: true }): Dirent[] => {
    record(path);
    const entries = readdirSync(path, options);
    for (const entry of entries) if (entry.isSymbolicLink()) record(join(path, entry.name));
    return entries;
  };
  const files = globSync([...patterns], {
    cwd: root,
    dot: true,
    onlyFiles: true,
    // The adapter's type is fs.readdirSync with all its overloads; fdir only ever calls this one.
    fs: { readdirSync: recordingReaddir as unknown as typeof readdirSync },
  }).sort(compare);
  const listing = racy ? undefined : { patterns: [...patterns], files, dirs, dirStats };
  return { files, listing };
}

/** true when every directory the listing's walk read still has the stat recorded then. */
export function unchanged(root: string, listing: Listing): boolean {
  const { dirs, dirStats } = listing;
  // Stored paths are already normal (relative() made them): concatenate rather than join.
  const prefix = root.endsWith('/') ? root : `${root}/`;
  for (let i = 0; i < dirs.length; i++) {
    const dir = dirs[i] as string;
    const path = dir === '' ? root : isAbsolute(dir) ? dir : prefix + dir;
    const stats = statSync(path, { throwIfNoEntry: false });
    const j = i * 4;
    if (stats === undefined) {
      if (dirStats[j] !== -1) return false;
    } else if (
      stats.size !== dirStats[j] ||
      stats.mtimeMs !== dirStats[j + 1] ||
      stats.ctimeMs !== dirStats[j + 2] ||
      stats.ino !== dirStats[j + 3]
    ) {
      return false;
    }
  }
  return true;
}

/**
 * [size, mtimeMs, ctimeMs, ino], or -1s for nothing there. ctime as well as mtime: `rsync -a` and
 * `tar x` set a directory's mtime back after filling it, but cannot set its ctime.
 */
function stamp(stats: Stats | undefined): number[] {
  return stats ? [stats.size, stats.mtimeMs, stats.ctimeMs, stats.ino] : [-1, -1, -1, -1];
}

function toStored(root: string, path: string): string {
  const rel = relative(root, path).replace(/\\/g, '/');
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
