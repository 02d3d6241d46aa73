/**
 * .task/: the last good record of each task, its fingerprint detail, logs, and the run lock.
 *
 * Records live in one file, state/records.json, so a no-op run of a large graph reads one file,
 * not one per task. A task's success is first written to its own journal file
 * (state/journal/<task>.json, atomically: temp file, fsync, rename); at the end of a run the
 * journal is folded into records.json (atomically again) and removed. A run killed at any
 * instant therefore leaves every record either old or new: the next load applies whatever
 * journal files landed, and a task that had not finished never has one.
 *
 *   success ──> journal/<task>.json ──(end of run)──> records.json, journal removed
 *
 * The detail (every input file's hash, for --explain) is written before the journal entry.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic, writeFileAtomicAsync } from './atomic-file.js';
import type { FingerprintDetail } from './fingerprint.js';

const VERSION = 2;

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

interface RecordsFile {
  version: typeof VERSION;
  records: Record<string, TaskRecord>;
}

export class State {
  readonly stateDir: string;
  readonly logDir: string;
  private records: Map<string, TaskRecord> | undefined;
  /** Journal files applied or written since records.json was last written. */
  private readonly journal = new Set<string>();

  constructor(
    readonly dir: string,
    private readonly warn: (message: string) => void = () => {},
  ) {
    this.stateDir = join(dir, 'state');
    this.logDir = join(dir, 'logs');
  }

  read(key: string): TaskRecord | undefined {
    return this.load().get(key);
  }

  readDetail(key: string): FingerprintDetail | undefined {
    const read = readJsonFile<FingerprintDetail>(this.detailPath(key));
    return read.status === 'ok' ? read.value : undefined;
  }

  /** Journals a success; the detail first, so a record always has its detail. */
  async write(
    record: Omit<TaskRecord, 'version' | 'finishedAt'>,
    detail: FingerprintDetail,
  ): Promise<void> {
    // The detail only serves --explain, which ignores a torn one: it can skip the fsync.
    await writeFileAtomicAsync(this.detailPath(record.key), JSON.stringify(detail), {
      fsync: false,
    });
    const full: TaskRecord = { version: VERSION, ...record, finishedAt: new Date().toISOString() };
    const path = this.journalPath(record.key);
    await writeFileAtomicAsync(path, JSON.stringify(full));
    this.load().set(record.key, full);
    this.journal.add(path);
  }

  /** Folds the journal into records.json; call once the run's writes have landed. */
  async compact(): Promise<void> {
    if (this.journal.size === 0) return;
    const file: RecordsFile = { version: VERSION, records: Object.fromEntries(this.load()) };
    await writeFileAtomicAsync(join(this.stateDir, 'records.json'), JSON.stringify(file));
    const merged = [...this.journal];
    this.journal.clear();
    await Promise.all(merged.map((path) => rm(path, { force: true })));
    // A folder that once held a file per task still lists slowly when empty (ext4 never shrinks
    // one), and every run lists it: remove it; the next journal write makes it again.
    await rmdir(join(this.stateDir, 'journal')).catch(() => {});
  }

  /** Drops the records of the named tasks (every args variant), or all records. */
  forget(tasks?: readonly string[]): string[] {
    const records = this.load();
    const dropped = [...records.values()]
      .filter((record) => !tasks || tasks.includes(record.task))
      .map((record) => record.key);
    for (const key of dropped) {
      records.delete(key);
      rmSync(this.detailPath(key), { force: true });
    }
    this.save();
    return dropped.sort();
  }

  logPath(key: string): string {
    return join(this.logDir, `${fileName(key)}.log`);
  }

  private save(): void {
    const file: RecordsFile = { version: VERSION, records: Object.fromEntries(this.load()) };
    writeFileAtomic(join(this.stateDir, 'records.json'), JSON.stringify(file));
    for (const path of this.journal) rmSync(path, { force: true });
    this.journal.clear();
    try {
      rmdirSync(join(this.stateDir, 'journal'));
    } catch {
      // Not there, or a file landed in it: either way the next load reads what is there.
    }
  }

  private load(): Map<string, TaskRecord> {
    if (this.records) return this.records;
    const path = join(this.stateDir, 'records.json');
    const read = readJsonFile<RecordsFile>(path);
    const records = new Map<string, TaskRecord>();
    if (read.status === 'ok' && read.value.version === VERSION && read.value.records) {
      for (const [key, record] of Object.entries(read.value.records)) {
        if (isRecord(record, key)) records.set(key, record);
      }
    } else if (read.status !== 'missing') {
      this.warn(`ignoring unreadable state ${path}; its tasks will run again`);
    }
    const journalDir = join(this.stateDir, 'journal');
    for (const name of listDir(journalDir)) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const entry = readJsonFile<TaskRecord>(join(journalDir, name));
      if (entry.status === 'ok' && isRecord(entry.value, entry.value.key)) {
        records.set(entry.value.key, entry.value);
        this.journal.add(join(journalDir, name));
      } else {
        this.warn(`ignoring unreadable state ${join(journalDir, name)}; the task will run again`);
      }
    }
    this.records = records;
    return records;
  }

  private journalPath(key: string): string {
    return join(this.stateDir, 'journal', `${fileName(key)}.json`);
  }

  private detailPath(key: string): string {
    return join(this.stateDir, 'detail', `${fileName(key)}.json`);
  }
}

function isRecord(value: unknown, key: string): value is TaskRecord {
  const record = value as Partial<TaskRecord> | null;
  return (
    typeof record === 'object' &&
    record !== null &&
    record.version === VERSION &&
    record.key === key &&
    typeof record.fingerprint === 'string' &&
    typeof record.outputs === 'object'
  );
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
