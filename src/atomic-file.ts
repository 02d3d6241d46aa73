/**
 * Crash-safe file writes: a reader sees the old content or the new, never a torn file, whatever
 * instant the writer is killed at (temp file in the same folder, fsync, rename).
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { fsync?: boolean } = {},
): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = tempPath(path);
  try {
    const fd = openSync(temp, 'w', 0o644);
    try {
      if (typeof data === 'string') writeSync(fd, data);
      else writeSync(fd, data);
      // Without fsync, a machine crash after the rename can leave an empty file under the name.
      if (options.fsync ?? true) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Folders already made by this process: a mkdir per record or log is a syscall per task. */
const madeDirs = new Set<string>();

/**
 * Runs `create`, which makes a file in `dir`, after making the folder: once per process, and
 * again if it was removed since (rm -rf .task during a watch).
 */
export async function inFolder<T>(dir: string, create: () => Promise<T>): Promise<T> {
  if (!madeDirs.has(dir)) {
    await mkdir(dir, { recursive: true });
    madeDirs.add(dir);
  }
  try {
    return await create();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dir, { recursive: true });
    return create();
  }
}

/** The same, with the I/O on libuv's threads so the event loop keeps running tasks. */
export async function writeFileAtomicAsync(
  path: string,
  data: string | Uint8Array,
  options: { fsync?: boolean } = {},
): Promise<void> {
  const temp = tempPath(path);
  try {
    const handle = await inFolder(dirname(path), () => open(temp, 'w', 0o644));
    try {
      await handle.writeFile(data);
      if (options.fsync ?? true) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Temp names: the pid, a token (a reader of a file written by an earlier process with the same
 * pid, in a container, must not collide) and a counter: no other writer uses the same name,
 * without drawing random bytes per write.
 */
const TOKEN = Math.random().toString(36).slice(2, 8);
let temps = 0;

/** Dot-prefixed and beside the target (same filesystem, so rename is atomic). */
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${TOKEN}${++temps}.tmp`);
}

export type JsonRead<T> =
  { status: 'ok'; value: T } | { status: 'missing' } | { status: 'corrupt'; error: string };

export function readJsonFile<T>(path: string): JsonRead<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing' };
    throw error;
  }
  try {
    return { status: 'ok', value: JSON.parse(text) as T };
  } catch (error) {
    return { status: 'corrupt', error: (error as Error).message };
  }
}

/** The parsed file, or undefined when it is missing or unreadable (caches, which can be rebuilt). */
export function readJson<T>(path: string): T | undefined {
  const read = readJsonFile<T>(path);
  return read.status === 'ok' ? read.value : undefined;
}
