/**
 * Persistent tasks (dev servers) in watch mode: started by one run, they outlive it, and a later
 * run restarts one only when its fingerprint differs from the one it was started with.
 *
 *   absent ──run: start──> running ──fingerprint differs on a later run: stop, start──> running
 *                             │ exits on its own, or stop (reload dropped it, Ctrl-C)
 *                             ▼
 *                           absent
 *
 * Its dependents go on as soon as it has started; its `end` event comes when it exits. It takes
 * no concurrency slot and records nothing: there is no result to reuse.
 */
import { linkAbort } from './abort-link.js';
import { now } from './clock.js';
import { failureFrom } from './failure.js';
import type { Failure } from './failure.js';
import type { RunEvent, TaskStatus } from './report/events.js';
import { locateFailure } from './source-location.js';

/** Where persistent tasks live between runs, by node key. */
export interface Background {
  /** The fingerprint the running instance was started with; undefined when none runs. */
  fingerprintOf(key: string): string | undefined;
  /** Stops the running instance, if any; resolves once its processes are gone. */
  stop(key: string): Promise<void>;
  /** Takes over an instance just started. */
  adopt(key: string, fingerprint: string, instance: Instance): void;
}

/** A running persistent task. */
export interface Instance {
  /** Aborting it stops the task (its process groups are killed). */
  controller: AbortController;
  /** Settles (never rejects) once the task has exited. */
  done: Promise<void>;
  /** Fails the task with an error that escaped its code: it ends `failed`, its processes killed. */
  fail: (error: unknown) => void;
}

export interface Launch {
  key: string;
  /** The project root: a failure is located in the user's code relative to it. */
  root: string;
  /** The run's signal: Ctrl-C stops the task too. */
  signal: AbortSignal;
  emit: (event: RunEvent) => void;
  /** Runs the task under its own signal; settles when it exits. */
  run: (signal: AbortSignal) => Promise<void>;
}

/** Starts a task without waiting for it. */
export function launch(options: Launch): Instance {
  const { key, emit } = options;
  const controller = new AbortController();
  const unlink = linkAbort(options.signal, controller);
  let fail: (error: unknown) => void = () => {};
  const escaped = new Promise<never>((_, reject) => (fail = reject));
  const started = now();
  emit({ type: 'start', key });
  const end = (status: TaskStatus, reason: string, failure: Failure | undefined): void => {
    emit({ type: 'end', key, status, durationMs: now() - started, reason, failure });
  };
  const done = (async () => {
    try {
      await Promise.race([options.run(controller.signal), escaped]);
      end('ran', 'exited', undefined);
    } catch (error) {
      if (controller.signal.aborted) end('cancelled', 'stopped', undefined);
      else end('failed', 'exited', locateFailure(failureFrom(error), options.root));
    } finally {
      // What it started and left running (a run() an escaped error cut short) goes with it.
      controller.abort();
      unlink();
      fail = () => {};
    }
  })();
  return { controller, done, fail: (error) => fail(error) };
}

/**
 * Runs a persistent task in `background`: an instance already running with this fingerprint is
 * left alone; one with another fingerprint is stopped (its processes gone) before the new one
 * launches, unless the run is `stopping` by then.
 */
export async function startPersistent(
  background: Background,
  options: Launch & { fingerprint: string; stopping: () => boolean },
): Promise<'still-running' | 'stopping' | 'started'> {
  const { key, fingerprint } = options;
  if (background.fingerprintOf(key) === fingerprint) return 'still-running';
  await background.stop(key);
  if (options.stopping()) return 'stopping';
  background.adopt(key, fingerprint, launch(options));
  return 'started';
}

export class BackgroundTasks implements Background {
  private readonly running = new Map<string, Instance & { fingerprint: string }>();

  fingerprintOf(key: string): string | undefined {
    return this.running.get(key)?.fingerprint;
  }

  async stop(key: string): Promise<void> {
    const entry = this.running.get(key);
    if (!entry) return;
    entry.controller.abort();
    await entry.done;
  }

  adopt(key: string, fingerprint: string, instance: Instance): void {
    const entry = { ...instance, fingerprint };
    this.running.set(key, entry);
    void instance.done.finally(() => {
      if (this.running.get(key) === entry) this.running.delete(key);
    });
  }

  /** Fails the running instance of `key` with an error that escaped it; false when none runs. */
  fail(key: string, error: unknown): boolean {
    const entry = this.running.get(key);
    entry?.fail(error);
    return entry !== undefined;
  }

  keys(): string[] {
    return [...this.running.keys()];
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.keys().map((key) => this.stop(key)));
  }
}
