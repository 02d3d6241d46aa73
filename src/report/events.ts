/**
 * What a run tells its reporters. The scheduler only emits these; renderers (listr2 on a TTY,
 * plain lines in CI, JSON for tools) turn them into output.
 */
import type { Failure } from '../failure.js';

export type TaskStatus = 'ran' | 'up-to-date' | 'failed' | 'skipped' | 'cancelled' | 'would-run';

export type RunEvent =
  | {
      type: 'plan';
      tasks: { key: string; deps: string[]; desc: string | undefined }[];
      /** Tasks planned mid-run by `ctx.invoke`: the task that invoked them. */
      invokedBy?: string;
      /**
       * Whose output the user asked to read: the tasks named on the command line, and for one
       * that runs nothing itself (an alias such as ENV:plan) the tasks it stands for.
       */
      targets?: string[];
    }
  | { type: 'start'; key: string }
  | { type: 'output'; key: string; stream: 'stdout' | 'stderr' | 'log'; line: string }
  | {
      type: 'end';
      key: string;
      status: TaskStatus;
      durationMs: number;
      /** Why it ran, or why it was skipped. */
      reason: string | undefined;
      failure: Failure | undefined;
    }
  | { type: 'warning'; message: string }
  | { type: 'summary'; summary: RunSummary };

export interface RunSummary {
  counts: Record<TaskStatus, number>;
  durationMs: number;
  failures: {
    key: string;
    failure: Failure;
    lastLines: string[];
    /** The task's log, relative to the root: .task/logs/<task>-<hash>.log. */
    log?: string;
  }[];
  interrupted: boolean;
}

export interface Reporter {
  emit(event: RunEvent): void;
  /** Resolves once everything is written (listr2 finishes its last frame). */
  close(): Promise<void>;
}
