/**
 * .task/: the last good record of each task, its fingerprint detail, logs, and the run lock.
 *
 * One small file per task, written atomically, and only after the task succeeded: a run killed
 * at any instant leaves each record either as it was or as the new one. The detail (every input
 * file's hash, for --explain) is written before the record, so a record always has its detail.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';
import type { FingerprintDetail } from './fingerprint.js';

const VERSION = 1;

export interface TaskRecord {
  version: typeof VERSION;
  /** Plan key: task name plus args. */
  key: string;
  task: string;
  fingerprint: string;
  /** Output id -> digest, as they were right after the run. */
  outputs: Record<string, string>;
  finishedAt: string;
}

export class State {
  readonly stateDir: string;
  readonly logDir: string;

  constructor(
    readonly dir: string,
    private readonly warn: (message: string) => void = () => {},
  ) {
    this.stateDir = join(dir, 'state');
    this.logDir = join(dir, 'logs');
  }

  read(key: string): TaskRecord | undefined {
    const path = this.recordPath(key);
    const read = readJsonFile<TaskRecord>(path);
    if (read.status === 'missing') return undefined;
    if (read.status === 'corrupt' || read.value.version !== VERSION || read.value.key !== key) {
      this.warn(`ignoring unreadable state ${path}; the task will run again`);
      return undefined;
    }
    return read.value;
  }

  readDetail(key: string): FingerprintDetail | undefined {
    const read = readJsonFile<FingerprintDetail>(this.detailPath(key));
    return read.status === 'ok' ? read.value : undefined;
  }

  write(record: Omit<TaskRecord, 'version' | 'finishedAt'>, detail: FingerprintDetail): void {
    writeFileAtomic(this.detailPath(record.key), JSON.stringify(detail));
    const full: TaskRecord = { version: VERSION, ...record, finishedAt: new Date().toISOString() };
    writeFileAtomic(this.recordPath(record.key), JSON.stringify(full));
  }

  /** Drops the records of the named tasks (every args variant), or all records. */
  forget(tasks?: readonly string[]): string[] {
    const files = listDir(this.stateDir).filter(
      (f) => f.endsWith('.json') && !f.endsWith('.detail.json'),
    );
    const dropped: string[] = [];
    for (const name of files) {
      const read = readJsonFile<TaskRecord>(join(this.stateDir, name));
      const record = read.status === 'ok' ? read.value : undefined;
      if (tasks && (!record || !tasks.includes(record.task))) continue;
      rmSync(join(this.stateDir, name), { force: true });
      rmSync(join(this.stateDir, name.replace(/\.json$/, '.detail.json')), { force: true });
      if (record) dropped.push(record.key);
    }
    return dropped.sort();
  }

  logPath(key: string): string {
    return join(this.logDir, `${fileName(key)}.log`);
  }

  private recordPath(key: string): string {
    return join(this.stateDir, `${fileName(key)}.json`);
  }

  private detailPath(key: string): string {
    return join(this.stateDir, `${fileName(key)}.detail.json`);
  }
}

/** Readable and collision-free: `vendor_archive-1a2b3c4d5e6f`. */
function fileName(key: string): string {
  const readable = key.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return `${readable}-${hash}`;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export type LockResult = { ok: true; release: () => void } | { ok: false; pid: number };

/**
 * The run lock: one running `task` per project. A lock whose process is gone is taken over.
 * With `wait`, polls until the holder finishes (calling onWait once); otherwise fails at once.
 */
export async function acquireLock(
  dir: string,
  options: { wait: boolean; onWait?: (pid: number) => void; signal?: AbortSignal },
): Promise<LockResult> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'lock');
  let told = false;
  for (;;) {
    if (createLock(path)) return { ok: true, release: () => releaseLock(path) };
    const holder = readHolder(path);
    if (holder === undefined) continue; // released between our attempt and the read
    if (!isAlive(holder)) {
      // Re-read right before removing, so a lock another process just took over survives.
      if (readHolder(path) === holder) rmSync(path, { force: true });
      continue;
    }
    if (!options.wait) return { ok: false, pid: holder };
    if (!told) {
      options.onWait?.(holder);
      told = true;
    }
    if (options.signal?.aborted) return { ok: false, pid: holder };
    await new Promise((resolve) => setTimeout(resolve, 100));
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
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    rmSync(temp, { force: true });
  }
}

function releaseLock(path: string): void {
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
