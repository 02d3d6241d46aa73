/**
 * What the hasher remembers between runs, in `.task/stat-cache.json`: each file's stat and
 * sha256 (so an unchanged file is not read again) and each glob set's listing (so an unchanged
 * tree is not walked again, see tree-listing.ts).
 *
 * The file is read on every run, so its shape is chosen for JSON.parse: parallel flat arrays
 * rather than an object per file (a 20,000-key object parses ~40% slower and then wants a Map),
 * and listings name files by their row, not by a second copy of their path.
 */
import { readJson, writeFileAtomic } from './atomic-file.js';
import type { Listing } from './tree-listing.js';

/** The fields that say a file was not touched: git's index compares the same ones. */
export interface StatLike {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly ino: number;
}

interface CacheFile {
  version: 3;
  /** One row per file. */
  paths: string[];
  /** Four numbers per row: size, mtimeMs, ctimeMs, ino. */
  stats: number[];
  /** Per row; `''` when the row is only there for a listing and its content is not known. */
  sha256: string[];
  listings: StoredListing[];
}

interface StoredListing {
  patterns: string[];
  dirs: string[];
  dirStats: number[];
  /** Rows of `paths`. */
  files: number[];
}

/** Listings kept across runs: the ones used most recently (old Taskfile versions age out). */
const MAX_LISTINGS = 64;

export class HashCache {
  private dirty = false;

  private constructor(
    private readonly file: string | undefined,
    private readonly paths: string[],
    private readonly stats: number[],
    private readonly sha256: string[],
    private readonly rows: Map<string, number>,
    /** Most recently used last. */
    private readonly listings: Map<string, Listing>,
  ) {}

  static open(file: string | undefined): HashCache {
    const stored = file ? readJson<CacheFile>(file) : undefined;
    if (stored?.version !== 3) return new HashCache(file, [], [], [], new Map(), new Map());
    const { paths, stats, sha256 } = stored;
    const rows = new Map<string, number>();
    for (let i = 0; i < paths.length; i++) rows.set(paths[i] as string, i);
    const listings = new Map<string, Listing>();
    for (const { patterns, dirs, dirStats, files } of stored.listings) {
      const listing = { patterns, dirs, dirStats, files: files.map((row) => paths[row] as string) };
      listings.set(listingKey(patterns), listing);
    }
    return new HashCache(file, paths, stats, sha256, rows, listings);
  }

  /** The file's sha256 if it was hashed with exactly these stats. */
  lookup(path: string, stats: StatLike): string | undefined {
    const row = this.rows.get(path);
    if (row === undefined) return undefined;
    const i = row * 4;
    const known = this.stats;
    return known[i] === stats.size &&
      known[i + 1] === stats.mtimeMs &&
      known[i + 2] === stats.ctimeMs &&
      known[i + 3] === stats.ino
      ? this.sha256[row] || undefined
      : undefined;
  }

  remember(path: string, stats: StatLike, sha256: string): void {
    const row = this.row(path);
    const i = row * 4;
    this.stats[i] = stats.size;
    this.stats[i + 1] = stats.mtimeMs;
    this.stats[i + 2] = stats.ctimeMs;
    this.stats[i + 3] = stats.ino;
    this.sha256[row] = sha256;
    this.dirty = true;
  }

  forget(path: string): void {
    const row = this.rows.get(path);
    if (row === undefined || this.sha256[row] === '') return;
    this.sha256[row] = '';
    this.dirty = true;
  }

  /** The stored listing for these globs (marked as used: the last used are the ones kept). */
  listing(patterns: readonly string[]): Listing | undefined {
    const key = listingKey(patterns);
    const listing = this.listings.get(key);
    if (listing) {
      this.listings.delete(key);
      this.listings.set(key, listing);
    }
    return listing;
  }

  /** Stores a fresh listing, or drops the old one when the walk was racy (undefined). */
  setListing(patterns: readonly string[], listing: Listing | undefined): void {
    const key = listingKey(patterns);
    this.dirty ||= this.listings.delete(key) || listing !== undefined;
    if (listing) this.listings.set(key, listing);
  }

  /** Writes the cache if anything changed; rows nothing refers to any more are dropped. */
  save(): void {
    if (!this.file || !this.dirty) return;
    const listings = [...this.listings.values()].slice(-MAX_LISTINGS);
    const out: CacheFile = { version: 3, paths: [], stats: [], sha256: [], listings: [] };
    const newRows = new Map<string, number>();
    const keep = (path: string): number => {
      let row = newRows.get(path);
      if (row !== undefined) return row;
      row = out.paths.length;
      newRows.set(path, row);
      out.paths.push(path);
      const old = this.rows.get(path);
      const known = old !== undefined && this.sha256[old] !== '';
      for (let k = 0; k < 4; k++) out.stats.push(known ? (this.stats[old * 4 + k] as number) : -1);
      out.sha256.push(known ? (this.sha256[old] as string) : '');
      return row;
    };
    this.paths.forEach((path, row) => {
      if (this.sha256[row] !== '') keep(path);
    });
    for (const { patterns, dirs, dirStats, files } of listings) {
      out.listings.push({
        patterns: [...patterns],
        dirs: [...dirs],
        dirStats: [...dirStats],
        files: files.map(keep),
      });
    }
    // A cache: rename keeps readers from a torn file, and if a machine crash leaves it empty it
    // is rebuilt by hashing again, so it skips the fsync (tens of ms for a large tree's cache).
    writeFileAtomic(this.file, JSON.stringify(out), { fsync: false });
    this.dirty = false;
  }

  private row(path: string): number {
    let row = this.rows.get(path);
    if (row === undefined) {
      row = this.paths.length;
      this.rows.set(path, row);
      this.paths.push(path);
      this.stats.push(-1, -1, -1, -1);
      this.sha256.push('');
    }
    return row;
  }
}

function listingKey(patterns: readonly string[]): string {
  return patterns.join('\0');
}
