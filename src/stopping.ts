/**
 * How a run stops: the failures it has seen, whether new tasks may still start, and why running
 * ones were cancelled. The scheduler asks it before each start and tells it of each failure.
 *
 *   going ──a task fails (its run, a check before it: failEarly), unless -k──> stopping
 *     │   ──an error escapes a task (escaped): that task fails, the others are cancelled──┘
 *     │   ──Ctrl-C (the run's signal)──> stopping: running tasks are cancelled ("interrupted")
 *     └── a preflight check fails ──> that task fails, no other of its run (or of watch mode's
 *                                     rerun) starts (notPreflighted), and without -k stopping
 *
 *   stopping ──watch mode reruns every failure the run had (forgive)──> going
 *
 * Stopping starts nothing new; tasks already running finish, except those an escaped error or
 * Ctrl-C cancels. Each failure keeps the task's last lines of output for the summary.
 */
import { SUPERSEDED } from './abort-link.js';
import { describeFailure, failureFrom } from './failure.js';
import type { Failure } from './failure.js';
import type { PreflightFailure } from './preflight.js';
import type { RunSummary } from './report/events.js';
import type { NodeResult } from './scheduler.js';
import { locateFailure } from './source-location.js';
import type { TaskLog } from './task-log.js';

const TAIL_LINES = 20;

/** Why a task that was ready did not start. */
export const NOT_STARTED = 'not started: the run is stopping';

export interface StoppingOptions {
  /** The project root: failures are located in the user's code relative to it. */
  root: string;
  /** -k: a failure stops only what depends on it. */
  keepGoing: boolean;
  /** The run's signal: aborted on Ctrl-C. */
  signal: AbortSignal;
}

export class Stopping {
  /** Set by a failure (without -k) or an escaped error: no task starts from then on. */
  private stopping = false;
  /** Why running tasks were cancelled when the run, not a change or the user, stopped them. */
  private stopReason: string | undefined;
  /** A preflight check that failed: nothing in this run starts (preflight.ts). */
  preflightFailure: PreflightFailure | undefined;
  readonly failures: RunSummary['failures'] = [];
  private readonly tails = new Map<string, string[]>();
  /** How to fail each running task from outside its run() (escaped()). */
  private readonly escapes = new Map<string, (error: unknown) => void>();

  constructor(private readonly options: StoppingOptions) {}

  /** Whether no task may start now: a failure (without -k), an escaped error or Ctrl-C. */
  get halted(): boolean {
    return this.stopping || this.options.signal.aborted;
  }

  /** Why a running task whose own signal was aborted is cancelled. */
  cancelReason(): string {
    if (this.options.signal.aborted) return 'interrupted';
    return this.stopReason ?? SUPERSEDED;
  }

  /** One line of a task's output: the last few go with its failure into the summary. */
  tail(key: string, text: string): void {
    const tail = this.tails.get(key) ?? [];
    tail.push(text);
    if (tail.length > TAIL_LINES) tail.shift();
    this.tails.set(key, tail);
  }

  /** The task is running: rejects when an error escapes its code (see escaped()). */
  escapeRoute(key: string): Promise<never> {
    return new Promise<never>((_, reject) => this.escapes.set(key, reject));
  }

  /** The task has stopped running: an error escaping it now blames it "after it finished". */
  closeEscapeRoute(key: string): void {
    this.escapes.delete(key);
  }

  /**
   * A task's run() threw: the failure, located in the user's code and written to the task's log
   * (its stack too), is counted with its last lines and log, and (without -k) stops the run.
   */
  failed(key: string, error: unknown, log: TaskLog, logPath: string): Failure {
    const failure = locateFailure(failureFrom(error), this.options.root);
    log.write(`task failed: ${describeFailure(failure)}`);
    if (failure.reason === 'exception' && failure.stack) log.write(failure.stack);
    if (!this.options.keepGoing) this.stopping = true;
    this.failures.push({ key, failure, lastLines: this.tails.get(key) ?? [], log: logPath });
    return failure;
  }

  /** A failure found before the task ran: counted, and stopping the run, as any other. */
  failEarly(key: string, failure: Failure): void {
    if (!this.options.keepGoing) this.stopping = true;
    this.failures.push({ key, failure, lastLines: [] });
  }

  /** A node of a run whose preflight failed: the failing task fails, the others never start. */
  notPreflighted(
    key: string,
    preflight: PreflightFailure,
  ): { status: 'skipped' | 'failed'; reason: string; failure?: Failure } {
    if (preflight.key !== key) {
      return {
        status: 'skipped',
        reason: `not started: ${preflight.key}'s preflight check failed`,
      };
    }
    const failure = locateFailure(preflight.failure, this.options.root);
    // In watch mode a rerun's check may fail while other tasks run: it stops the run as any failure.
    if (!this.options.keepGoing) this.stopping = true;
    this.failures.push({ key, failure, lastLines: this.tails.get(key) ?? [] });
    return { status: 'failed', reason: 'its preflight check failed', failure };
  }

  /**
   * An error that escaped a task's code (a timer's throw, an unhandled rejection; the CLI's
   * process handlers call this): the task `key` fails with it, and since the process's state is
   * now in doubt the run stops, cancelling the other running tasks and killing their process
   * groups. With no task to blame (code outside any run()), the run itself fails with it.
   */
  escaped(
    error: unknown,
    key: string | undefined,
    live: ReadonlyMap<string, AbortController>,
  ): void {
    const fail = key === undefined ? undefined : this.escapes.get(key);
    this.stopping = true;
    this.stopReason = `stopped: ${fail ? key : 'an error'} escaped a task`;
    for (const [other, controller] of live) if (other !== key) controller.abort();
    if (fail) return fail(error);
    const failure = locateFailure(failureFrom(error), this.options.root);
    const blamed = key === undefined ? '(outside any task)' : `${key} (after it finished)`;
    this.failures.push({ key: blamed, failure, lastLines: [] });
  }

  /** Watch mode reruns these nodes: their failures no longer stop the run. */
  forgive(replaced: ReadonlySet<string>): void {
    const kept = this.failures.filter((f) => !replaced.has(f.key));
    this.failures.splice(0, this.failures.length, ...kept);
    if (kept.length === 0) this.stopping = false;
  }

  /** Why a node did not succeed, in words: its failure if it failed, else its status. */
  whyNot(key: string, result: NodeResult): string {
    const failed = this.failures.find((f) => f.key === key);
    if (failed) return describeFailure(failed.failure);
    return `${result.status}${result.reason ? ` (${result.reason})` : ''}`;
  }
}
