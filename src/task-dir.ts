/**
 * Whether this run may write .task/. One `sudo npx task` leaves a root-owned .task/ behind, and
 * a checkout can sit on a read-only mount: either way the user gets one line naming the path,
 * its owner and the fix, not an EACCES stack from deep inside a run (or a warning per task).
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, sep } from 'node:path';

export interface AccessProblem {
  /** The file or folder that cannot be written. */
  path: string;
  reason: 'permission' | 'read-only' | 'immutable' | 'not-a-folder';
  /** The owner of `path` (or of the nearest folder above it that exists). */
  ownerUid: number | undefined;
}

/** Folders of .task/ a run writes into, and the one file it appends to in place. */
const FOLDERS = ['', 'cache', 'logs', 'locks', 'state', join('state', 'detail')];
const APPENDED = [join('state', 'journal.jsonl')];

/** The first thing under `dir` (the project's .task/) this process could not write, if any. */
export function checkTaskDir(dir: string): AccessProblem | undefined {
  const top = stat(dir);
  if (!top) return writable(dirname(dir));
  for (const folder of FOLDERS) {
    const path = join(dir, folder);
    const stats = stat(path);
    if (!stats) continue; // made when first needed, inside a folder checked here
    if (!stats.isDirectory()) return { path, reason: 'not-a-folder', ownerUid: stats.uid };
    const problem = writable(path);
    if (problem) return problem;
  }
  for (const file of APPENDED) {
    const path = join(dir, file);
    if (stat(path)) {
      const problem = writable(path);
      if (problem) return problem;
    }
  }
  return undefined;
}

/** The problem behind an error a write under .task/ threw, when it is one of access. */
export function accessProblemOf(error: unknown): AccessProblem | undefined {
  const { code, path } = (error ?? {}) as NodeJS.ErrnoException;
  if (typeof path !== 'string' || !path.split('/').includes('.task')) return undefined;
  const reason = reasonOf(code);
  if (!reason) return undefined;
  // ENOTDIR names the path being made; the trouble is the file above it where a folder belongs.
  const at = reason === 'not-a-folder' ? existingAbove(path) : path;
  return { path: at, reason, ownerUid: ownerOf(at) };
}

export function describeAccessProblem(problem: AccessProblem): string {
  const { path } = problem;
  const taskDir = taskDirOf(path);
  const me = userInfo().username;
  const owner = problem.ownerUid === undefined ? 'unknown' : userName(problem.ownerUid);
  switch (problem.reason) {
    case 'permission':
      return (
        `cannot write ${path}: it belongs to ${owner}, and this run is ${me}. ` +
        `Fix: \`sudo chown -R ${me} ${taskDir}\` (or \`sudo rm -rf ${taskDir}\`: it only holds state a run rebuilds)`
      );
    case 'immutable':
      return `cannot write ${path} (owner ${owner}): the operation is not permitted, as for a file marked immutable. Fix: \`lsattr -d ${path}\`, then \`sudo chattr -R -i ${taskDir}\``;
    case 'read-only':
      return `cannot write ${path} (owner ${owner}): the file system is read-only. Fix: run from a writable copy of the project`;
    case 'not-a-folder':
      return `cannot write under ${path} (owner ${owner}): it is a file where a folder belongs. Fix: \`rm ${path}\``;
  }
}

/**
 * The project's .task/ folder holding `path`: the first path component named exactly `.task`.
 * Not a substring search: a temp file such as `.taskfile.mjs.map.1.tmp` deep in .task/cache also
 * contains ".task", and a fix naming `.../bundle-…/.task` points at a path that does not exist.
 */
function taskDirOf(path: string): string {
  const parts = path.split(sep);
  const at = parts.indexOf('.task');
  return at === -1 ? path : parts.slice(0, at + 1).join(sep);
}

function writable(path: string): AccessProblem | undefined {
  try {
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (error) {
    const reason = reasonOf((error as NodeJS.ErrnoException).code) ?? 'permission';
    return { path, reason, ownerUid: ownerOf(path) };
  }
}

function reasonOf(code: string | undefined): AccessProblem['reason'] | undefined {
  switch (code) {
    case 'EACCES':
      return 'permission';
    case 'EPERM':
      return 'immutable';
    case 'EROFS':
      return 'read-only';
    case 'ENOTDIR':
      return 'not-a-folder';
    default:
      return undefined;
  }
}

function stat(path: string): Stats | undefined {
  try {
    // A missing path is the common case (the journal exists only until a run folds it): no
    // exception, whose stack trace costs more than the stat, on every run.
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // under a file (ENOTDIR)
  }
}

function ownerOf(path: string): number | undefined {
  return stat(existingAbove(path))?.uid;
}

/** `path` itself if it exists, else the nearest folder above it that does. */
function existingAbove(path: string): string {
  let at = path;
  while (!stat(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/** The account name of a uid from /etc/passwd, else the number. */
function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && Number(id) === uid) return name;
    }
  } catch {
    // No passwd file (a minimal container): the number still says who.
  }
  return `uid ${uid}`;
}
