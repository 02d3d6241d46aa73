/**
 * .task/: the last good record of each task, its fingerprint detail, logs, and the run lock.
 *
 * Records live in one file, state/records.json, so a no-op run of a large graph reads one file,
 * not one per task. A task's success is first appended to the journal, state/journal.jsonl, one
 * JSON line per record, and fsync'd before the write counts as done; at the end of a run the
 * journal is folded into records.json (atomically: temp file, fsync, rename) and removed. A run
 * killed at any instant therefore leaves every record either old or new: the next load applies
 * every whole line of the journal, a line cut short by the kill is not a record (it does not
 * parse), and a task that had not finished never has a line.
 *
 *   success ──> line in journal.jsonl ──(end of run)──> records.json, journal removed
 *
 * Lines that arrive while an append is in flight go out together in the next one (group commit,
 * as databases do): a rerun of 100 tasks costs a handful of fsyncs, not 100 files and renames.
 * The detail (every input file's hash, for --explain) is written before the journal line.
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
import { open, rm } from 'node:fs/promises';
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
  /** Whether journal.jsonl holds lines not yet folded into records.json. */
  private journaled = false;
  /** Lines waiting for the next append, with the callbacks of their write() calls. */
  private queued: { line: string; done: (error?: Error) => void }[] = [];
  private appending = false;

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
    await new Promise<void>((resolve, reject) => {
      this.queued.push({
        line: JSON.stringify(full),
        done: (error) => (error === undefined ? resolve() : reject(error)),
      });
      if (!this.appending) void this.append();
    });
    this.load().set(record.key, full);
    this.journaled = true;
  }

  /** Folds the journal into records.json; call once the run's writes have landed. */
  async compact(): Promise<void> {
    if (!this.journaled) return;
    const file: RecordsFile = { version: VERSION, records: Object.fromEntries(this.load()) };
    await writeFileAtomicAsync(join(this.stateDir, 'records.json'), JSON.stringify(file));
    await rm(this.journalPath(), { force: true });
    this.journaled = false;
    // Journals of earlier versions: a file per record in this folder.
    await rm(join(this.stateDir, 'journal'), { recursive: true, force: true }).catch(() => {});
  }

  /**
   * Appends every queued line in one write and one fsync, then the lines queued meanwhile, until
   * none is left. Each batch starts on a new line: the last one a killed run left may be cut.
   */
  private async append(): Promise<void> {
    this.appending = true;
    while (this.queued.length > 0) {
      const batch = this.queued;
      this.queued = [];
      let failure: Error | undefined;
      try {
        const handle = await open(this.journalPath(), 'a');
        try {
          await handle.appendFile(`\n${batch.map((entry) => entry.line).join('\n')}\n`);
          await handle.datasync();
        } finally {
          await handle.close();
        }
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      for (const entry of batch) entry.done(failure);
    }
    this.appending = false;
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
    rmSync(this.journalPath(), { force: true });
    rmSync(join(this.stateDir, 'journal'), { recursive: true, force: true });
    this.journaled = false;
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
    for (const record of [...this.readOldJournal(), ...this.readJournal()]) {
      records.set(record.key, record);
      this.journaled = true;
    }
    this.records = records;
    return records;
  }

  /**
   * The journal's records, oldest first. A line that does not parse is one a killed run was
   * writing: it never counted as recorded, so it is skipped (and said, unless it is the last).
   */
  private readJournal(): TaskRecord[] {
    let text: string;
    try {
      text = readFileSync(this.journalPath(), 'utf8');
    } catch {
      return [];
    }
    const lines = text.split('\n').filter((line) => line !== '');
    const records: TaskRecord[] = [];
    lines.forEach((line, index) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        value = undefined;
      }
      const record = value as TaskRecord | undefined;
      if (record && isRecord(record, record.key)) records.push(record);
      else if (index < lines.length - 1 || text.endsWith('\n')) {
        this.warn(`ignoring an unreadable line of ${this.journalPath()}; its task will run again`);
      }
    });
    return records;
  }

  /**
   * Records journalled by earlier versions, a file per record in state/journal/: a run killed
   * before the upgrade keeps what it finished. The next compaction removes the folder.
   */
  private readOldJournal(): TaskRecord[] {
    const dir = join(this.stateDir, 'journal');
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    const records: TaskRecord[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      const entry = readJsonFile<TaskRecord>(join(dir, name));
      if (entry.status === 'ok' && isRecord(entry.value, entry.value.key))
        records.push(entry.value);
    }
    return records;
  }

  private journalPath(): string {
    return join(this.stateDir, 'journal.jsonl');
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
