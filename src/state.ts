/**
 * .task/: the last good record of each task, its fingerprint detail and logs.
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
 *
 * Runs that share no task go side by side (see lock.ts), so the journal is shared: reading the
 * records, appending and folding each hold .task/state.lock for a moment, and a fold re-reads
 * records.json and the journal from disk, so it keeps the lines another run appended.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeFileAtomic, writeFileAtomicAsync } from './atomic-file.js';
import { depDigest } from './fingerprint.js';
import type { FingerprintDetail } from './fingerprint.js';
import { keyFileName } from './key-file.js';
import { withStateLock, withStateLockSync } from './lock.js';
import { RECORDS_LAYOUT, recordOfRow, recordsFileText } from './records-file.js';

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
  /**
   * fingerprint.ts's depDigest of this fingerprint and these outputs: what a dependent hashes
   * of the task while it stays up to date, kept so that a no-op run does not hash it again.
   * Absent from records written before it was kept (then it is computed).
   */
  depDigest?: string;
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
  /** Writes in flight, by key: a run gives up a node's lock once its record is on disk. */
  private readonly inFlight = new Map<string, Promise<void>>();

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

  /**
   * Resolves once the record of `key` being written is on disk, or failed to be; undefined when
   * none is being written (a node that was up to date), so a caller need not wait a tick.
   */
  written(key: string): Promise<void> | undefined {
    return this.inFlight.get(key);
  }

  /** Journals a success; the detail first, so a record always has its detail. */
  write(
    record: Omit<TaskRecord, 'version' | 'finishedAt'>,
    detail: FingerprintDetail,
  ): Promise<void> {
    // Read before any append holds the state lock: load() takes it too, synchronously.
    this.load();
    const writing = this.writeRecord(record, detail);
    const settled = writing.catch(() => {});
    this.inFlight.set(record.key, settled);
    void settled.then(() => {
      if (this.inFlight.get(record.key) === settled) this.inFlight.delete(record.key);
    });
    return writing;
  }

  private async writeRecord(
    record: Omit<TaskRecord, 'version' | 'finishedAt'>,
    detail: FingerprintDetail,
  ): Promise<void> {
    // The detail only serves --explain, which ignores a torn one: it can skip the fsync.
    await writeFileAtomicAsync(this.detailPath(record.key), JSON.stringify(detail), {
      fsync: false,
    });
    const finishedAt = new Date().toISOString();
    const full: TaskRecord = {
      version: VERSION,
      ...record,
      finishedAt,
      depDigest: depDigest(record),
    };
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
    await withStateLock(this.dir, async () => {
      // From disk, not this run's view: another run may have journalled since we read.
      const records = this.readRecords(false);
      await writeFileAtomicAsync(this.recordsPath(), recordsFileText(records.values()));
      await rm(this.journalPath(), { force: true });
      this.records = records;
      this.journaled = false;
      // Journals of earlier versions: a file per record in this folder.
      await rm(join(this.stateDir, 'journal'), { recursive: true, force: true }).catch(() => {});
    });
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
        await withStateLock(this.dir, async () => {
          const handle = await open(this.journalPath(), 'a');
          try {
            await handle.appendFile(`\n${batch.map((entry) => entry.line).join('\n')}\n`);
            await handle.datasync();
          } finally {
            await handle.close();
          }
        });
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      for (const entry of batch) entry.done(failure);
    }
    this.appending = false;
  }

  /** Drops the records of the named tasks (every args variant), or all records. */
  forget(tasks?: readonly string[]): string[] {
    this.load(); // says once if the state is unreadable
    return withStateLockSync(this.dir, () => {
      const records = this.readRecords(false);
      const dropped = [...records.values()]
        .filter((record) => !tasks || tasks.includes(record.task))
        .map((record) => record.key);
      for (const key of dropped) {
        records.delete(key);
        rmSync(this.detailPath(key), { force: true });
      }
      writeFileAtomic(this.recordsPath(), recordsFileText(records.values()));
      rmSync(this.journalPath(), { force: true });
      rmSync(join(this.stateDir, 'journal'), { recursive: true, force: true });
      this.records = records;
      this.journaled = false;
      return dropped.sort();
    });
  }

  logPath(key: string): string {
    return join(this.logDir, `${keyFileName(key)}.log`);
  }

  /**
   * Reads the records now, if not read yet; the caller holds the state lock (a run reads them in
   * the hold in which it claims its tasks, lock.ts, rather than taking the lock again for them).
   */
  loadHolding(): void {
    this.records ??= this.readRecords(true);
  }

  private load(): Map<string, TaskRecord> {
    if (this.records) return this.records;
    // Without the state lock only when there is no state yet: a first run makes no lock file.
    const records = existsSync(this.stateDir)
      ? withStateLockSync(this.dir, () => this.readRecords(true))
      : new Map<string, TaskRecord>();
    this.records = records;
    return records;
  }

  /** records.json with the journal applied, as on disk now; call holding the state lock. */
  private readRecords(warn: boolean): Map<string, TaskRecord> {
    const path = this.recordsPath();
    const read = readJsonFile<{ version?: unknown; records?: unknown } | null>(path);
    const file = read.status === 'ok' ? read.value : undefined;
    const records = new Map<string, TaskRecord>();
    if (file?.version === RECORDS_LAYOUT && Array.isArray(file.records)) {
      for (const row of file.records as unknown[]) {
        const record = recordOfRow(row);
        if (record) records.set(record.key, record);
      }
    } else if (file?.version === 2 && file.records) {
      // The layout before (records-file.ts): an object of records by key.
      for (const [key, record] of Object.entries(file.records)) {
        if (isRecord(record, key)) records.set(key, record);
      }
    } else if (read.status !== 'missing' && warn) {
      this.warn(`ignoring unreadable state ${path}; its tasks will run again`);
    }
    for (const record of [...this.readOldJournal(), ...this.readJournal(warn)]) {
      records.set(record.key, record);
      this.journaled = true;
    }
    return records;
  }

  /**
   * The journal's records, oldest first. A line that does not parse is one a killed run was
   * writing: it never counted as recorded, so it is skipped (and said, unless it is the last).
   */
  private readJournal(warn: boolean): TaskRecord[] {
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
      else if (warn && (index < lines.length - 1 || text.endsWith('\n'))) {
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

  private recordsPath(): string {
    return join(this.stateDir, 'records.json');
  }

  private journalPath(): string {
    return join(this.stateDir, 'journal.jsonl');
  }

  private detailPath(key: string): string {
    return join(this.stateDir, 'detail', `${keyFileName(key)}.json`);
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
    // Not null: the fold lists a record's outputs (records-file.ts), and a record it cannot
    // write would stop every run's fold, not just rerun its task.
    typeof record.outputs === 'object' &&
    record.outputs !== null
  );
}
