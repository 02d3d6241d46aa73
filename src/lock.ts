/**
 * Locks in .task/, only where two runs would collide.
 *
 *   .task/locks/<pid>-<n>.claim   the task nodes a run may run (its plan less read-only tasks),
 *                                 claimed before the run starts; a node leaves the claim once it
 *                                 has ended and its record is on disk, the file goes at the end;
 *                                 a task reached through ctx.invoke joins it when invoked
 *   .task/locks/<pid>-<n>.claim.wait   the pid such a run waits for (deadlock detection)
 *   .task/state.lock              held for the milliseconds it takes to check and write a claim
 *                                 (and read the records, in the same hold), to read the records,
 *                                 or to append to and fold the journal
 *
 * So `staging:status` never waits for a `staging:deploy` watching a rollout, two runs whose plans
 * share no task go side by side, and two that share one wait for it (or fail at once with
 * --no-wait). A run claims all its nodes at once or none, under the state lock, so two waiting
 * runs never each hold what the other wants. One file per run, not per node: a no-op run of a
 * 1,000-task graph writes one file, not a thousand. A claim (with its .wait and .tmp) or lock
 * whose process is gone (a killed run) is ignored and removed.
 */
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export type TaskLocks =
  | {
      ok: true;
      /** Gives up the claim on one node (a no-op for a node not held). */
      release: (key: string) => void;
      releaseAll: () => void;
      /** Adds nodes to the claim while the run goes on (ctx.invoke): see `extend` below. */
      extend: (keys: Iterable<string>, options: LockOptions) => Promise<Extended>;
    }
  | { ok: false; pid: number; key: string };

/**
 * A claim extended; or the node another run holds (`deadlock`: that run waits for one of ours);
 * or the wait for it cut short by the signal (Ctrl-C), which is no conflict to report.
 */
export type Extended =
  | { ok: true }
  | { ok: false; reason: 'held'; pid: number; key: string; deadlock: boolean }
  | { ok: false; reason: 'aborted' };

export interface LockOptions {
  /** Wait for a held node (polling); otherwise fail at once. */
  wait: boolean;
  /** Called once, when the first wait begins: who holds what. */
  onWait?: (holder: { pid: number; key: string }) => void;
  signal?: AbortSignal;
}

/** Claims made by this process so far: each gets a file name of its own (watch mode claims per run). */
let claims = 0;

/**
 * Claims every node key for this run, or none (see the header). `alsoHolding` runs in the same
 * hold of the state lock, once the claim is sure to succeed (before its file is written, so a
 * throw leaves no claim behind): a run reads its records there instead of taking the lock twice.
 */
export async function acquireTaskLocks(
  dir: string,
  keys: Iterable<string>,
  options: LockOptions,
  alsoHolding?: () => void,
): Promise<TaskLocks> {
  const held = new Set(keys);
  const folder = join(dir, 'locks');
  const path = join(folder, `${process.pid}-${claims++}.claim`);
  let told = false;
  for (; held.size > 0;) {
    const conflict = await withStateLock(dir, async () => {
      mkdirSync(folder, { recursive: true });
      const found = firstConflict(folder, held);
      if (found) return found;
      alsoHolding?.();
      // Readers of a claim hold the state lock too: the first write needs no temp file.
      writeFileSync(path, JSON.stringify([...held]));
      return undefined;
    });
    if (!conflict) break;
    if (!options.wait || options.signal?.aborted) return { ok: false, ...conflict };
    if (!told) {
      options.onWait?.(conflict);
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // A claim only shrinks after this, so a rewrite needs no state lock; batched, since a no-op
  // run ends a thousand nodes at once and then removes the file anyway.
  let timer: NodeJS.Timeout | undefined;
  const release = (key: string): void => {
    if (!held.delete(key) || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (held.size > 0) writeClaim(path, held);
    }, 50);
    timer.unref();
  };
  const releaseAll = (): void => {
    held.clear();
    if (timer) clearTimeout(timer);
    timer = undefined;
    removeFile(path);
  };
  /**
   * Claims more nodes mid-run (a task reached through ctx.invoke), waiting as a planned node
   * does. Unlike the all-at-once start, this run holds nodes while it waits, so two runs could
   * each wait for what the other holds: a waiting run says whom it waits for in
   * `<claim>.wait`, and a run that would wait for a run waiting (through others) for it fails
   * instead. Both steps happen under the state lock, so of two runs closing a cycle the second
   * always sees it.
   */
  const extend = async (keys: Iterable<string>, options: LockOptions): Promise<Extended> => {
    const wanted = new Set([...keys].filter((key) => !held.has(key)));
    const waitPath = `${path}.wait`;
    let told = false;
    try {
      while (wanted.size > 0) {
        // Async: mid-run, this process's journal append may hold the state lock (across its
        // awaits); a synchronous wait here would wait for ourselves.
        const conflict = await withStateLock(dir, async () => {
          mkdirSync(folder, { recursive: true });
          const found = firstConflict(folder, wanted, path);
          if (!found) {
            for (const key of wanted) held.add(key);
            writeClaim(path, held);
            return undefined;
          }
          // Said and checked in one step, and unsaid at once by the run that gives up, so of
          // two runs closing a cycle exactly one gives up: the other goes on.
          writeFileSync(waitPath, String(found.pid));
          const deadlock = waitsFor(folder, found.pid, process.pid);
          if (deadlock) removeFile(waitPath);
          return { ...found, deadlock };
        });
        if (!conflict) break;
        if (options.signal?.aborted) return { ok: false, reason: 'aborted' };
        if (conflict.deadlock || !options.wait) return { ok: false, reason: 'held', ...conflict };
        if (!told) {
          options.onWait?.(conflict);
          told = true;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      removeFile(waitPath);
    }
    return { ok: true };
  };
  return { ok: true, release, releaseAll, extend };
}

/** Whether the run `from` waits, directly or through other waiting runs, for the run `target`. */
function waitsFor(folder: string, from: number, target: number): boolean {
  const seen = new Set<number>();
  for (let pid: number | undefined = from; pid !== undefined && !seen.has(pid);) {
    seen.add(pid);
    const prefix: string = `${pid}-`;
    const name: string | undefined = readdirSync(folder).find(
      (n) => n.startsWith(prefix) && n.endsWith('.wait'),
    );
    pid = name === undefined || !isAlive(pid) ? undefined : readHolder(join(folder, name));
    if (pid === target) return true;
  }
  return false;
}

/** The files of a run's claim: the claim, whom it waits for, a rewrite under way. */
const CLAIM_FILE = /\.claim(\.wait|\.tmp)?$/;

/**
 * The first node of `keys` another live run claims. The claim files of dead runs are removed:
 * a killed run's `.wait` left behind would be followed by waitsFor once its pid is reused.
 */
function firstConflict(
  folder: string,
  keys: ReadonlySet<string>,
  /** This run's own claim, when extending it. */
  own?: string,
): { pid: number; key: string } | undefined {
  for (const name of readdirSync(folder)) {
    if (!CLAIM_FILE.test(name)) continue;
    const pid = Number.parseInt(name, 10);
    const path = join(folder, name);
    if (!Number.isFinite(pid) || !isAlive(pid)) {
      removeFile(path);
      continue;
    }
    if (!name.endsWith('.claim') || path === own) continue;
    let claimed: unknown;
    try {
      claimed = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      continue; // gone since the listing (its run ended)
    }
    if (!Array.isArray(claimed)) continue;
    const key = (claimed as unknown[]).find(
      (k): k is string => typeof k === 'string' && keys.has(k),
    );
    if (key !== undefined) return { pid, key };
  }
  return undefined;
}

/**
 * Temp file and rename: a reader sees the old claim or the new, never half of one (a shrinking
 * claim is rewritten without the state lock).
 */
function writeClaim(path: string, keys: ReadonlySet<string>): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, JSON.stringify([...keys]));
  renameSync(temp, path);
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

/**
 * Runs `fn` holding .task/state.lock, waiting without blocking the event loop, for another run
 * or for another holder in this process (the journal's append holds it across awaits while a
 * task's ctx.invoke extends the claim).
 */
export async function withStateLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const path = stateLockPath(dir);
  while (heldHere.has(path) || tryLock(path) !== undefined) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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
    if (readHolder(path) === holder) removeFile(path);
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
    removeFile(temp);
  }
}

function releaseLock(path: string): void {
  heldHere.delete(path);
  if (readHolder(path) === process.pid) removeFile(path);
}

/**
 * unlink, where a missing file is no error: rmSync's recursive machinery (a module of its own,
 * loaded on first use) is not needed for one file, on the start-up path of every run.
 */
function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
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
