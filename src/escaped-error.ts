/**
 * Errors that escape a task: a throw in a timer callback, a promise rejected with no handler.
 * Node would end the process with its raw stack, no summary, and every task's process group
 * still running. The scheduler runs each task's run() inside `withinTask`, so the CLI's
 * process-level handler can name the task whose code it was (the store follows timers and
 * promise continuations) and fail that task like any other.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const running = new AsyncLocalStorage<string>();

/** Runs `fn` (a task's run) as the task `key`: what it schedules stays attributed to it. */
export function withinTask<T>(key: string, fn: () => T): T {
  return running.run(key, fn);
}

/** The task whose code is running now, if any. */
export function currentTask(): string | undefined {
  return running.getStore();
}
