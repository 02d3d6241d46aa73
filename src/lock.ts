/**
 * Locks in .task/, only where two runs would collide.
 *
 *   .task/locks/<task>.lock   one per task node a run may run (its plan less read-only tasks),
 *                             taken before the run starts and given up when the node has ended
 *                             and its record is on disk
 *   .task/state.lock          held for the milliseconds it takes to read the records or to
 *                             append to and fold the journal, so one run never loses another's
 *
 * So `staging:status` never waits for a `staging:deploy` watching a rollout, two runs whose plans
 * share no task go side by side, and two that share one wait for it (or fail at once with
 * --no-wait). A run takes its node locks in one order (sorted), so two waiting runs cannot each
 * hold what the other wants. A lock names its holder's pid; a lock whose holder is gone (a killed
 * run) is taken over.
 */
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { keyFileName } from './key-file.js';

export type TaskLocks =
  | {
      ok: true;
      /** Gives up the lock of one node (a no-op for a node not held). */
      release: (key: string) => void;
      releaseAll: () => void;
    }
  | { ok: false; pid: number; key: string };

export interface LockOptions {
  /** Wait for a held lock (polling); otherwise fail at once. */
  wait: boolean;
  /** Called once, when the first wait begins: who holds what. */
  onWait?: (holder: { pid: number; key: string }) => void;
  signal?: AbortSignal;
}

/** Takes the lock of each node key (in sorted order); all of them, or none on failure. */
export async function acquireTaskLocks(
  dir: string,
  keys: Iterable<string>,
  options: LockOptions,
): Promise<TaskLocks> {
  const folder = join(dir, 'locks');
  const held = new Map<string, string>();
  const release = (key: string): void => {
    const path = held.get(key);
    if (path === undefined) return;
    held.delete(key);
    releaseLock(path);
  };
  const releaseAll = (): void => [...held.keys()].forEach(release);
  let told = false;
  for (const key of [...new Set(keys)].sort()) {
    if (held.size === 0) mkdirSync(folder, { recursive: true });
    const path = join(folder, `${keyFileName(key)}.lock`);
    for (;;) {
      const holder = tryLock(path);
      if (holder === undefined) break;
      if (!options.wait || options.signal?.aborted) {
        releaseAll();
        return { ok: false, pid: holder, key };
      }
      if (!told) {
        options.onWait?.({ pid: holder, key });
        told = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    held.set(key, path);
  }
  return { ok: true, release, releaseAll };
}

/** Runs `fn` holding .task/state.lock; waits (briefly, synchronously) while another run holds it. */
export function withStateLockSync<T>(dir: string, fn: () => T): T {
  const path = stateLockPath(dir);
  while (tryLock(path) !== undefined) sleepSync(5);
  try {
    return fn();
  } finally {
    releaseLock(path);
  }
}

/** Runs `fn` holding .task/state.lock, waiting without blocking the event loop. */
export async function withStateLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const path = stateLockPath(dir);
  while (tryLock(path) !== undefined) await new Promise((resolve) => setTimeout(resolve, 5));
  try {
    return await fn();
  } finally {
    releaseLock(path);
  }
}

function stateLockPath(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return join(dir, 'state.lock');
}

/** Locks this process holds: taking one again would wait for itself forever. */
const heldHere = new Set<string>();

/** Takes the lock at `path`: undefined when taken, else the pid of the live process holding it. */
function tryLock(path: string): number | undefined {
  if (heldHere.has(path)) throw new Error(`bug: ${path} taken twice by one process`);
  for (;;) {
    if (createLock(path)) return undefined;
    const holder = readHolder(path);
    if (holder === undefined) continue; // released between our attempt and the read
    if (isAlive(holder)) return holder;
    // Re-read right before removing, so a lock another process just took over survives.
    if (readHolder(path) === holder) rmSync(path, { force: true });
  }
}

/** Creates the lock with our pid in it in one step (link fails if it exists), never half-written. */
function createLock(path: string): boolean {
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w');
  writeSync(fd, String(process.pid));
  closeSync(fd);
  try {
    linkSync(temp, path);
    heldHere.add(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    rmSync(temp, { force: true });
  }
}

function releaseLock(path: string): void {
  heldHere.delete(path);
  if (readHolder(path) === process.pid) rmSync(path, { force: true });
}

function readHolder(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    return Number.isFinite(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
