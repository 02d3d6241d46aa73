/**
 * Why a task failed, as data. Rendered to words in one place (describeFailure), so every
 * reporter (TTY, plain, JSON) says the same thing.
 */
export type Failure =
  | { reason: 'exit-non-zero'; command: string; exitCode: number }
  | { reason: 'killed'; command: string; signal: string }
  | { reason: 'spawn-failed'; command: string; message: string }
  | { reason: 'output-missing'; output: string }
  /** A literal input path with no file (input-check.ts); `nearest`: a similar name beside it. */
  | { reason: 'input-missing'; input: string; nearest?: string }
  /** A literal input that exists, removed by an exclude pattern (`!…`) of the same task. */
  | { reason: 'input-excluded'; input: string; exclude: string }
  | { reason: 'invoke-failed'; task: string; why: string }
  /**
   * An adapter (docker, AWS) that already put its failure into words naming the next step.
   * `exitCode`: the status `task` exits with when this is the run's only failure (ENV:run ends
   * with its container's exit code).
   */
  | { reason: 'reported'; message: string; exitCode?: number }
  /** Something the task's code threw: a bug, or a plain `throw new Error()` in a Taskfile. */
  | {
      reason: 'exception';
      message: string;
      stack: string | undefined;
      /** The first frame in the user's source, `tasks/x.ts:12:5` (source-location.ts). */
      where?: string | undefined;
    };

/**
 * Throw from a task (or an adapter) to fail it with a described reason and no stack trace:
 * `new TaskError('no APP_KEY: run npx task local:secrets')`, or a Failure for an adapter's own
 * reasons (`{ reason: 'reported', message, exitCode }` also sets the run's exit code).
 */
export class TaskError extends Error {
  readonly failure: Failure;

  constructor(failure: Failure | string) {
    const described: Failure =
      typeof failure === 'string' ? { reason: 'reported', message: failure } : failure;
    super(describeFailure(described));
    this.name = 'TaskError';
    this.failure = described;
  }
}

export function describeFailure(failure: Failure): string {
  switch (failure.reason) {
    case 'exit-non-zero':
      return `\`${failure.command}\` exited with status ${failure.exitCode}`;
    case 'killed':
      return `\`${failure.command}\` was killed by ${failure.signal}`;
    case 'spawn-failed':
      return `could not start \`${failure.command}\`: ${failure.message}`;
    case 'output-missing':
      return `finished without making its output ${failure.output}; check the task's outputs`;
    case 'input-missing':
      return `input ${failure.input} does not exist${failure.nearest ? ` (did you mean ${failure.nearest}?)` : ''}; create it, or fix the task's inputs`;
    case 'input-excluded':
      return `input ${failure.input} exists, but the same task's exclude pattern ${failure.exclude} removes it; narrow that pattern, or drop the input`;
    case 'invoke-failed':
      return `invoked task ${failure.task} failed: ${failure.why}`;
    case 'reported':
      return failure.message;
    case 'exception':
      return failure.where ? `${failure.where}: ${failure.message}` : failure.message;
  }
}

export function failureFrom(error: unknown): Failure {
  if (error instanceof TaskError) return error.failure;
  if (error instanceof Error)
    return { reason: 'exception', message: error.message, stack: error.stack };
  return { reason: 'exception', message: String(error), stack: undefined };
}
