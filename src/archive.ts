/**
 * Deterministic tar archives: the same tree gives the same bytes on any machine, at any time, under
 * any umask or owner. The vendor archive's sha256 feeds the base image's fingerprint and Docker's
 * build cache keys on the archive's bytes, so metadata noise (mtimes from a fresh checkout, the
 * user's uid, a 0664 umask, readdir order) would rebuild an image whose contents did not change.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { create } from 'tar';

export interface DeterministicTarOptions {
  /** Directory the entries are relative to; archive paths are relative to it too. */
  readonly cwd: string;
  /** Files and directories relative to `cwd`; directories are included recursively. */
  readonly entries: readonly string[];
  /** Where to write the archive (relative to `cwd` or absolute). Replaced atomically. */
  readonly file: string;
  /** The mtime every entry gets. */
  readonly mtime?: Date;
}

/** 2000-01-01: a fixed, unremarkable date (some tools mistrust timestamps before 1980). */
export const ARCHIVE_MTIME = new Date(Date.UTC(2000, 0, 1));

/** Writes the archive and returns its sha256 (hex). */
export async function createDeterministicTar(options: DeterministicTarOptions): Promise<string> {
  const cwd = path.resolve(options.cwd);
  const file = path.resolve(cwd, options.file);
  const mtime = options.mtime ?? ARCHIVE_MTIME;

  const stats = new Map<string, Stats>();
  for (const entry of options.entries) {
    await collect(cwd, normalizeEntry(entry), stats);
  }
  // Code-unit order, not localeCompare: the order must not depend on the machine's locale.
  const paths = [...stats.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  // tar consults this cache instead of calling lstat itself, so the normalized metadata below is
  // what it writes. Keyed by absolute path, as tar's Pack looks entries up.
  const statCache = new Map<string, Stats>();
  for (const relative of paths) {
    const stat = stats.get(relative);
    if (stat !== undefined) statCache.set(path.join(cwd, relative), normalizeStat(stat, mtime));
  }

  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await create(
      {
        cwd,
        file: temporary,
        statCache,
        // We list every path ourselves in sorted order; tar's own recursion follows readdir order.
        noDirRecurse: true,
        // Leaves out atime, ctime, uid, gid, uname, gname, dev, ino and nlink, so no pax header
        // carries machine-specific values. Readers take the empty uid/gid fields as 0 (root).
        portable: true,
        mtime,
        // portable mode drops directory mtimes; put the fixed one back so directories and files
        // extract alike instead of at the epoch.
        onWriteEntry: (entry) => {
          entry.noMtime = false;
        },
      },
      paths,
    );
    const sha256 = await hashAndSync(temporary);
    await rename(temporary, file);
    return sha256;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

function normalizeEntry(entry: string): string {
  const normalized = path.posix.normalize(entry.replaceAll('\\', '/')).replace(/\/+$/, '');
  if (path.posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../')) {
    throw new Error(`archive entry must be inside cwd: ${entry}`);
  }
  return normalized;
}

async function collect(cwd: string, relative: string, into: Map<string, Stats>): Promise<void> {
  if (into.has(relative)) return;
  const stat = await lstat(path.join(cwd, relative));
  if (!stat.isFile() && !stat.isDirectory() && !stat.isSymbolicLink()) {
    // tar would silently skip sockets, fifos and devices; an archive missing files is worse.
    throw new Error(`cannot archive ${relative}: not a file, directory or symlink`);
  }
  if (relative !== '.') into.set(relative, stat);
  if (stat.isDirectory()) {
    for (const name of await readdir(path.join(cwd, relative))) {
      await collect(cwd, relative === '.' ? name : `${relative}/${name}`, into);
    }
  }
}

/** Keeps only what describes the content: type, size and whether a file is executable. */
function normalizeStat(stat: Stats, mtime: Date): Stats {
  const type = stat.mode & fsConstants.S_IFMT;
  const executable = stat.isDirectory() || stat.isSymbolicLink() || (stat.mode & 0o111) !== 0;
  stat.mode = type | (executable ? 0o755 : 0o644);
  stat.uid = 0;
  stat.gid = 0;
  // nlink 1 stops tar from writing hard links, whose presence depends on how the tree was copied.
  stat.nlink = 1;
  stat.mtime = mtime;
  return stat;
}

/** Hashes the finished archive and flushes it to disk before it is renamed into place. */
async function hashAndSync(file: string): Promise<string> {
  const handle = await open(file, 'r+');
  try {
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false })) {
      hash.update(chunk as Buffer);
    }
    await handle.sync();
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}
