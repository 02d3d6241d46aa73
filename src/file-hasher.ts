/**
 * Globs -> sorted (path, sha256), with a persisted stat cache as git's index keeps one: a file
 * whose size, mtime, ctime and inode match the cache is not read again, so an unchanged tree
 * costs stats, not reads. Glob results are cached too, per glob set (tree-listing.ts), so an
 * unchanged tree is not walked either.
 *
 * The racy case: a file rewritten within the filesystem's timestamp granularity of the moment we
 * hashed it can keep every stat field while its content changed. Entries whose ctime is not
 * clearly older than the moment hashing started are therefore never trusted; they are re-read on
 * the next run, and trusted once they have aged past RACY_MARGIN_MS.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { HashCache } from './hash-cache.js';
import { RACY_MARGIN_MS, unchanged, walk } from './tree-listing.js';

export interface FileDigest {
  /** Relative to the root, `/`-separated. */
  readonly path: string;
  readonly sha256: string;
}

interface Candidate {
  readonly path: string;
  /** Already known from an earlier stat; saves a second one. */
  readonly stats?: Stats;
}

/** Below this much data, worker start-up costs more than hashing on the main thread. */
const PARALLEL_THRESHOLD_BYTES = 32 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

export class FileHasher {
  /** `root/`, so that the per-file hot loop concatenates instead of calling path.join. */
  private readonly prefix: string;

  private constructor(
    readonly root: string,
    private readonly cache: HashCache,
  ) {
    this.prefix = root.endsWith('/') ? root : `${root}/`;
  }

  static open(root: string, cacheFile?: string): FileHasher {
    return new FileHasher(root, HashCache.open(cacheFile));
  }

  /**
   * Every file the globs match, sorted by path; a literal directory means all files below it.
   * Synchronous (no promise) when nothing needs a tree walk or worker threads: the common case
   * of an unchanged tree, where a no-op run of a large graph must not pay an await per node.
   */
  hashInputs(patterns: readonly string[]): MaybePromise<FileDigest[]> {
    if (patterns.length === 0) return [];
    // The common case, a few literal file paths: one stat each serves both the existence check
    // and the cache lookup.
    if (allLiteral(patterns)) {
      const files: Candidate[] = [];
      let dirs: string[] | undefined;
      // Indexed loops on this path: for...of allocates per element in unoptimized code, which
      // is what runs for most of a no-op run's thousand nodes.
      for (let i = 0; i < patterns.length; i++) {
        const pattern = patterns[i] as string;
        const stats = statOrUndefined(this.absolute(pattern));
        if (stats?.isFile()) files.push({ path: normalize(pattern), stats });
        else if (stats?.isDirectory()) (dirs ??= []).push(`${trimSlash(pattern)}/**`);
      }
      if (!dirs) return this.hash(sortedUnique(files));
      const withDirs = (listed: readonly string[][]): MaybePromise<FileDigest[]> => {
        for (const paths of listed) for (const path of paths) files.push({ path });
        return this.hash(sortedUnique(files));
      };
      const listed = dirs.map((dir) => this.glob([dir]));
      return listed.every((l) => Array.isArray(l))
        ? withDirs(listed)
        : Promise.all(listed.map(async (l) => l)).then(withDirs);
    }
    return andThen(this.expand(patterns), (paths) => this.hash(paths.map((path) => ({ path }))));
  }

  /** Files matched by the globs, sorted, without hashing them (watch mode needs the list). */
  expand(patterns: readonly string[]): MaybePromise<string[]> {
    if (patterns.length === 0) return [];
    const expanded = patterns.map((p) => {
      if (p.startsWith('!') || hasMagic(p)) return p;
      return statOrUndefined(this.absolute(p))?.isDirectory() ? `${trimSlash(p)}/**` : p;
    });
    return this.glob(expanded);
  }

  /**
   * Digest of a path: a file's sha256, a directory's hash over its files' (path, sha256), or
   * undefined when nothing is there.
   */
  digestPath(path: string): MaybePromise<string | undefined> {
    const stats = statOrUndefined(this.absolute(path));
    if (!stats) return undefined;
    if (stats.isDirectory()) {
      return andThen(this.hashInputs([path]), (files) => {
        const hash = createHash('sha256');
        for (const file of files) hash.update(`${file.path}\0${file.sha256}\n`);
        return `dir:${hash.digest('hex')}`;
      });
    }
    const file = normalize(path);
    // A file the cache vouches for (every output of a no-op run): no batch of one to make.
    const known = stats.isFile() ? this.cache.lookup(file, stats) : undefined;
    if (known !== undefined) return known;
    return andThen(this.hash([{ path: file, stats }]), ([digest]) => digest?.sha256);
  }

  hashPaths(paths: readonly string[]): MaybePromise<FileDigest[]> {
    return this.hash(paths.map((path) => ({ path })));
  }

  private hash(files: readonly Candidate[]): MaybePromise<FileDigest[]> {
    const result = new Array<FileDigest | undefined>(files.length);
    // Made at the first miss: a no-op run has none.
    let misses: { index: number; path: string; stats: Stats }[] | undefined;
    let missBytes = 0;
    // Paths that are not files (gone, or a directory) leave gaps in `result`.
    let gaps = 0;
    for (let index = 0; index < files.length; index++) {
      const { path, stats: known } = files[index] as Candidate;
      const stats = known ?? statOrUndefined(this.prefix + path);
      if (!stats?.isFile()) {
        gaps++;
        continue;
      }
      const sha256 = this.cache.lookup(path, stats);
      if (sha256 !== undefined) {
        result[index] = { path, sha256 };
        continue;
      }
      (misses ??= []).push({ index, path, stats });
      missBytes += stats.size;
    }
    if (!misses) {
      return gaps === 0 ? (result as FileDigest[]) : result.filter((d) => d !== undefined);
    }
    // Taken after the stats but before any read, which is what the racy rule needs.
    const startedMs = Date.now();
    const missed = misses;
    const finish = (hashes: readonly string[]): FileDigest[] => {
      missed.forEach((miss, i) => {
        const sha256 = hashes[i] as string;
        result[miss.index] = { path: miss.path, sha256 };
        if (miss.stats.ctimeMs < startedMs - RACY_MARGIN_MS) {
          this.cache.remember(miss.path, miss.stats, sha256);
        } else {
          this.cache.forget(miss.path);
        }
      });
      return gaps === 0 ? (result as FileDigest[]) : result.filter((d) => d !== undefined);
    };
    if (missBytes >= PARALLEL_THRESHOLD_BYTES && missed.length > 1) {
      return hashInWorkers(missed.map((m) => this.prefix + m.path)).then(finish);
    }
    return finish(missed.map((m) => hashFile(this.prefix + m.path)));
  }

  /** `root/path`: a concatenation unless the path needs path.join's normalising (a hot path). */
  private absolute(path: string): string {
    return NEEDS_JOIN.test(path) ? join(this.root, path) : this.prefix + path;
  }

  /** Persists the cache if anything changed. */
  save(): void {
    this.cache.save();
  }

  /** The globs' files: the stored listing while its directories are unchanged, else a walk. */
  private glob(patterns: readonly string[]): MaybePromise<string[]> {
    const stored = this.cache.listing(patterns);
    if (stored && unchanged(this.root, stored)) return [...stored.files];
    return walk(this.root, patterns).then(({ files, listing }) => {
      this.cache.setListing(patterns, listing);
      return files;
    });
  }
}

/**
 * A value, or a promise of it when getting it needed I/O off the event loop. Awaiting an
 * already-known value still costs a suspension and a microtask per call; on a no-op run of a
 * large graph that is most of the scheduler's time, so the hot path passes plain values on.
 */
export type MaybePromise<T> = T | Promise<T>;

/**
 * `fn(value)`, at once when the value is known, else once the promise settles. (Not named
 * `then`: an ES module exporting `then` is a thenable, and `await import()` of it would call it.)
 */
export function andThen<T, U>(
  value: MaybePromise<T>,
  fn: (value: T) => MaybePromise<U>,
): MaybePromise<U> {
  return isPromise(value) ? value.then(fn) : fn(value);
}

/** A promise or any thenable (an Output from another copy of a library may return either). */
export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

export function hashFile(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK_BYTES, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

// Hashing runs on the main thread otherwise; a cold 200 MB tree wants every core. The worker is
// plain JS evaluated from a string so it runs the same from src/ (tests) and dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const buffer = Buffer.allocUnsafe(${CHUNK_BYTES});
parentPort.postMessage(workerData.map((path) => {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
  } finally { closeSync(fd); }
  return hash.digest('hex');
}));
`;

async function hashInWorkers(paths: string[]): Promise<string[]> {
  // Loaded here: only a cold hash of a large tree gets this far.
  const { Worker } = await import('node:worker_threads');
  const count = Math.min(availableParallelism(), 4, paths.length);
  const slices: string[][] = Array.from({ length: count }, () => []);
  paths.forEach((path, i) => slices[i % count]?.push(path));
  const results = await Promise.all(
    slices.map(
      (slice) =>
        new Promise<string[]>((resolve, reject) => {
          const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: slice });
          worker.once('message', (hashes: string[]) => {
            resolve(hashes);
            void worker.terminate();
          });
          worker.once('error', reject);
        }),
    ),
  );
  return paths.map((_, i) => results[i % count]?.[Math.floor(i / count)] as string);
}

/** A leading or doubled `/`, a `.` or `..` segment, a backslash: what path.join would rewrite. */
const NEEDS_JOIN = /^\/|\/\/|(^|\/)\.\.?(\/|$)|\\/;

function statOrUndefined(path: string): Stats | undefined {
  return statSync(path, { throwIfNoEntry: false });
}

function allLiteral(patterns: readonly string[]): boolean {
  for (let i = 0; i < patterns.length; i++) {
    const pattern = patterns[i] as string;
    if (pattern.startsWith('!') || hasMagic(pattern)) return false;
  }
  return true;
}

/** Sorted by path, each path once (a file listed twice, or also under a listed folder). */
function sortedUnique(files: Candidate[]): Candidate[] {
  if (files.length < 2) return files;
  return [...new Map(files.map((f) => [f.path, f])).values()].sort((a, b) =>
    compare(a.path, b.path),
  );
}

function hasMagic(pattern: string): boolean {
  return /[*?[\]{}()!]/.test(pattern);
}

function normalize(path: string): string {
  // Most paths need neither replacement: skip the two regex passes (run per input, per node).
  if (!path.includes('\\') && !path.startsWith('./')) return path;
  return path.replace(/\\/g, '/').replace(/^\.\//, '');
}

function trimSlash(path: string): string {
  return normalize(path).replace(/\/+$/, '');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
