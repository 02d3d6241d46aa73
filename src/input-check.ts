/**
 * Inputs that match nothing. A literal path that does not exist is an error, as Rake's "Don't
 * know how to build": hashed as an empty set, `inputs: ['package.jsn']` would run once and then
 * stay up to date forever. A glob that matches no file is a warning (an empty folder can be
 * legitimate), said once per run for each task and pattern.
 *
 * This runs for every node of every run, no-op runs included, so it works from the sorted list
 * the hasher already made: a binary search per literal path, and a glob is matched only when the
 * counts cannot tell (several globs, or literals beside the glob), with picomatch loaded then.
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Failure } from './failure.js';
import type { FileDigest, MaybePromise } from './file-hasher.js';
import { isPromise } from './file-hasher.js';
import type { RunEvent } from './report/events.js';
import { suggest } from './suggestion.js';

export interface Unmatched {
  /** Literal paths (no glob characters) with no file at or below them. */
  readonly missing: readonly string[];
  /** Globs, or literal folders, that matched no file; said as a warning. */
  readonly empty: MaybePromise<readonly string[]>;
}

const NONE: Unmatched = { missing: [], empty: [] };

/** What of `patterns` matched nothing in `files` (sorted by path, as the hasher returns them). */
export function unmatchedInputs(
  patterns: readonly string[],
  files: readonly FileDigest[],
  root: string,
): Unmatched {
  if (patterns.length === 0) return NONE;
  let missing: string[] | undefined;
  let literalFiles = 0;
  const globs: string[] = [];
  // Indexed: for...of allocates per element in unoptimized code (see fingerprint.ts).
  for (let i = 0; i < patterns.length; i++) {
    const raw = patterns[i] as string;
    if (raw.startsWith('!')) continue;
    if (/[*?[\]{}()]/.test(raw)) {
      globs.push(raw);
      continue;
    }
    const path =
      raw.startsWith('./') || raw.endsWith('/')
        ? raw.replace(/^\.\//, '').replace(/\/+$/, '')
        : raw;
    const found = countUnder(files, path);
    literalFiles += found;
    if (found === 0) (missing ??= []).push(path);
  }
  // Every literal path found, no glob: the common case, once per node of every run.
  if (missing === undefined && globs.length === 0) return NONE;
  // A literal folder that exists but holds no file reads as a missing path; tell them apart.
  const missingPaths = missing?.filter((path) => !isFolder(root, path)) ?? [];
  const emptyFolders = missing?.filter((path) => isFolder(root, path)) ?? [];
  if (globs.length === 0) return { missing: missingPaths, empty: emptyFolders };
  if (files.length === 0) return { missing: missingPaths, empty: [...emptyFolders, ...globs] };
  // A file no literal accounts for came from the one glob (a file under a literal may
  // match it too, so equal counts prove nothing).
  if (globs.length === 1 && files.length > literalFiles) {
    return { missing: missingPaths, empty: emptyFolders };
  }
  return {
    missing: missingPaths,
    empty: import('picomatch').then(({ default: picomatch }) => [
      ...emptyFolders,
      ...globs.filter((glob) => {
        const matches = picomatch(glob.replace(/^\.\//, ''), { dot: true });
        return !files.some((file) => matches(file.path));
      }),
    ]),
  };
}

/**
 * The failure for a literal input the hasher found no file for. Most often it does not exist
 * (then the nearest name beside it is offered); but it may exist and be removed by one of the
 * task's own exclude patterns, which globbing applies to every pattern, literals included.
 */
export async function missingInput(
  path: string,
  options: { root: string; patterns: readonly string[] },
): Promise<Failure> {
  const { root, patterns } = options;
  if (existsSync(join(root, path))) {
    const exclude = await excludeOf(path, patterns);
    if (exclude !== undefined) return { reason: 'input-excluded', input: path, exclude };
  }
  let names: string[] = [];
  try {
    names = readdirSync(join(root, dirname(path)));
  } catch {
    // Its folder is missing too: no suggestion.
  }
  const [nearest] = suggest(basename(path), names);
  return {
    reason: 'input-missing',
    input: path,
    ...(nearest ? { nearest: join(dirname(path), nearest) } : {}),
  };
}

/** The first exclude pattern (`!…`) that removes `path`: it, or a folder above it. */
async function excludeOf(path: string, patterns: readonly string[]): Promise<string | undefined> {
  const excludes = patterns.filter((pattern) => pattern.startsWith('!'));
  if (excludes.length === 0) return undefined;
  const { default: picomatch } = await import('picomatch');
  const covered: string[] = [];
  for (let at = path; at !== '.' && at !== ''; at = dirname(at)) covered.push(at);
  return excludes.find((exclude) => {
    // Matched as the file hasher's glob does: dot files included, `./` dropped.
    const matches = picomatch(exclude.slice(1).replace(/^\.\//, ''), { dot: true });
    return covered.some((candidate) => matches(candidate));
  });
}

/** Files equal to `path` or below it, by binary search in the sorted list. */
function countUnder(files: readonly FileDigest[], path: string): number {
  const first = lowerBound(files, path);
  let count = 0;
  for (let i = first; i < files.length; i++) {
    const file = (files[i] as FileDigest).path;
    if (file === path || file.startsWith(`${path}/`)) count++;
    else if (file > `${path}/\uffff`) break;
  }
  return count;
}

function lowerBound(files: readonly FileDigest[], path: string): number {
  let low = 0;
  let high = files.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((files[mid] as FileDigest).path < path) low = mid + 1;
    else high = mid;
  }
  return low;
}

function isFolder(root: string, path: string): boolean {
  try {
    return readdirSync(join(root, path)) !== undefined;
  } catch {
    return false;
  }
}

/** Warns of each input glob that matched no file, once per run for each task and pattern. */
export class EmptyInputWarnings {
  private readonly warned = new Set<string>();

  constructor(private readonly emit: (event: RunEvent) => void) {}

  /** Warns of `empty`; a promise when the patterns are known only later (see Unmatched). */
  check(task: string, empty: MaybePromise<readonly string[]>): Promise<void> | undefined {
    if (!isPromise(empty) && empty.length === 0) return undefined;
    const warn = (patterns: readonly string[]): void => {
      for (const pattern of patterns) {
        const key = `${task}\0${pattern}`;
        if (this.warned.has(key)) continue;
        this.warned.add(key);
        this.emit({ type: 'warning', message: `task ${task}: input ${pattern} matches no file` });
      }
    };
    if (!isPromise(empty)) {
      warn(empty);
      return undefined;
    }
    return empty.then(warn, () => {});
  }
}
