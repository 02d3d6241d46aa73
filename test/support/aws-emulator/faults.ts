/**
 * Fault injection, per emulator instance. Request faults answer the next N calls of an
 * operation with an error; task faults decide the fate of tasks launched from then on, chosen
 * by image reference or by task definition family (and revision).
 *
 *   emu.faults.throttle('DescribeServices', 2);
 *   emu.faults.failToStart({ family: 'web', revision: 3 });
 *   emu.faults.exitCode({ image: 'registry/app:migrate' }, 2);
 */
import type { TaskFate } from './task-lifecycle.js';

export type RequestFaultKind = 'throttle' | 'server-error' | 'access-denied';

export type TaskSelector =
  /** A container image, exactly as in the task definition, or its trailing `repository:tag`. */
  { image: string } | { family: string; revision?: number };

/** What a task fault needs to know about a task definition. */
export interface TaskDefinitionRef {
  family: string;
  revision: number;
  images: readonly string[];
}

interface RequestFault {
  kind: RequestFaultKind;
  operation: string;
  remaining: number;
  /** Simulated time (ms) from which the fault stops applying; unbounded when undefined. */
  until?: number;
}

interface TaskFault {
  selector: TaskSelector;
  fate: TaskFate;
  /** RunTask exit codes apply to one-off tasks only; service tasks keep serving. */
  oneOffOnly: boolean;
  /** Service tasks that still serve before `fate` applies (partlyFail); one-off tasks skip it. */
  serving?: { remaining: number };
}

/** One entry of RunTask's `failures` (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Failure.html). */
export interface RunTaskFailure {
  readonly reason: string;
  readonly detail?: string;
}

export class Faults {
  #requests: RequestFault[] = [];
  #tasks: TaskFault[] = [];
  #runTaskFailures: { failure: RunTaskFailure; remaining: number }[] = [];

  /**
   * The next `times` RunTask calls place no task and answer `failures` instead, as ECS does when
   * there is no capacity or no instance satisfies placement (the call itself succeeds):
   * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html
   */
  runTaskFailure(failure: RunTaskFailure, times = 1): this {
    this.#runTaskFailures.unshift({ failure, remaining: times });
    return this;
  }

  /** Consumes one injected RunTask failure, if any. */
  takeRunTaskFailure(): RunTaskFailure | undefined {
    const entry = this.#runTaskFailures.find((f) => f.remaining > 0);
    if (!entry) return undefined;
    entry.remaining -= 1;
    return entry.failure;
  }

  /** The next `times` calls of `operation` fail with ThrottlingException (the SDK retries). */
  throttle(operation: string, times = 1): this {
    return this.#request('throttle', operation, times);
  }

  /** The next `times` calls of `operation` fail with ServerException, status 500. */
  serverError(operation: string, times = 1): this {
    return this.#request('server-error', operation, times);
  }

  /** Calls of `operation` fail with AccessDeniedException (all of them unless `times`). */
  accessDenied(operation: string, times = Number.POSITIVE_INFINITY): this {
    return this.#request('access-denied', operation, times);
  }

  /**
   * Every call of `operation` fails with `kind` until simulated time `until` (ms): an outage
   * that outlasts the SDK's own retries, which all happen at one simulated instant (the SDK
   * sleeps real time between attempts; the emulator's clock moves only when the client's does).
   */
  outage(operation: string, kind: RequestFaultKind, until: number): this {
    this.#requests.unshift({ kind, operation, remaining: Number.POSITIVE_INFINITY, until });
    return this;
  }

  /** Matching tasks exit during start-up; they count towards the circuit breaker. */
  failToStart(selector: TaskSelector): this {
    return this.#task(selector, { kind: 'fail-to-start' }, false);
  }

  /** Matching tasks start, then fail their health check and are stopped. */
  failHealthCheck(selector: TaskSelector): this {
    return this.#task(selector, { kind: 'fail-health-check' }, false);
  }

  /**
   * The first `healthy` matching service tasks serve; every later one fails its health check: a
   * limit the new revision meets only past that many tasks (database connections, a licence, a
   * port per host). With the circuit breaker's default resetOnHealthyTask, such a rollout never
   * trips the breaker (rollout.ts). One-off tasks are not affected.
   */
  partlyFail(selector: TaskSelector, options: { healthy: number }): this {
    this.#tasks.unshift({
      selector,
      fate: { kind: 'fail-health-check' },
      oneOffOnly: false,
      serving: { remaining: options.healthy },
    });
    return this;
  }

  /** Matching tasks stay PENDING forever, so a rollout to them never finishes. */
  neverStart(selector: TaskSelector): this {
    return this.#task(selector, { kind: 'stall' }, false);
  }

  /** Matching tasks never start: their image cannot be pulled (stopCode TaskFailedToStart). */
  cannotPull(selector: TaskSelector): this {
    return this.#task(selector, { kind: 'cannot-pull' }, false);
  }

  /** Matching one-off tasks (RunTask) exit with `code` instead of 0. */
  exitCode(selector: TaskSelector, code: number): this {
    return this.#task(selector, { kind: 'exit', exitCode: code }, true);
  }

  clear(): void {
    this.#requests = [];
    this.#tasks = [];
    this.#runTaskFailures = [];
  }

  /** Consumes one injected failure for this call at simulated time `now`, if any. */
  take(operation: string, now = 0): RequestFaultKind | undefined {
    const fault = this.#requests.find(
      (f) =>
        f.operation === operation && f.remaining > 0 && (f.until === undefined || now < f.until),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    return fault.kind;
  }

  /** The fate of a task launched now; the most recently injected matching fault wins. */
  fateOf(def: TaskDefinitionRef, kind: 'service' | 'one-off'): TaskFate {
    const fault = this.#tasks.find(
      (f) =>
        (kind === 'one-off' ? f.serving === undefined : !f.oneOffOnly) && matches(f.selector, def),
    );
    if (fault?.serving !== undefined && fault.serving.remaining > 0) {
      fault.serving.remaining -= 1;
      return { kind: 'serve' };
    }
    if (fault) return fault.fate;
    return kind === 'service' ? { kind: 'serve' } : { kind: 'exit', exitCode: 0 };
  }

  #request(kind: RequestFaultKind, operation: string, times: number): this {
    this.#requests.unshift({ kind, operation, remaining: times });
    return this;
  }

  #task(selector: TaskSelector, fate: TaskFate, oneOffOnly: boolean): this {
    this.#tasks.unshift({ selector, fate, oneOffOnly });
    return this;
  }
}

function matches(selector: TaskSelector, def: TaskDefinitionRef): boolean {
  if ('image' in selector) {
    return def.images.some((i) => i === selector.image || i.endsWith(`/${selector.image}`));
  }
  return (
    selector.family === def.family &&
    (selector.revision === undefined || selector.revision === def.revision)
  );
}
