/** A task's output of its last run, kept in .task/logs/<task>.log. */
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { inFolder } from './atomic-file.js';

export interface TaskLog {
  write(line: string): void;
  /** Resolves once every line is on disk. */
  close(): Promise<void>;
}

/**
 * The task's log of this run. Lines are batched and appended off the event loop (a synchronous
 * open and write per task was a measurable share of a large run), within a tick of being
 * printed, so a long-running task's log is still live. A run with no output removes the old log.
 */
export function openLog(path: string): TaskLog {
  let pending = '';
  let started = false;
  let flushing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    if (pending === '') return flushing;
    const text = pending;
    pending = '';
    const first = !started;
    started = true;
    flushing = flushing.then(async () => {
      if (first) {
        await inFolder(dirname(path), () => writeFile(path, text));
      } else {
        await appendFile(path, text);
      }
    });
    return flushing;
  };
  return {
    write: (line) => {
      if (pending === '') setImmediate(() => void flush().catch(() => {}));
      pending += `${line}\n`;
    },
    close: async () => {
      await flush();
      if (!started) await rm(path, { force: true });
    },
  };
}
