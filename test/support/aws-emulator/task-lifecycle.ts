/**
 * One simulated ECS task, from launch to stop.
 *
 *   PENDING ──provision──> RUNNING ──health check passes──> RUNNING (healthy)
 *     │  └ stall: stays PENDING     │ exit fate: after runSeconds ──> STOPPED (exitCode)
 *     │ fail-to-start               │ fail-health-check
 *     v                             v
 *   STOPPED <───────────────────────┘
 *   STOPPED <──drain── STOPPING <── stop requested (scheduler, scale-in, rollout)
 *
 * A task's fate is decided once, when it is launched (from the faults injected at that
 * moment), so advancing a task is a pure function of the task, the timing and the time.
 */

export type TaskFate =
  /** A service task: passes its health check and runs until the scheduler stops it. */
  | { kind: 'serve' }
  /** A one-off task (RunTask): runs for `runSeconds`, then its containers exit. */
  | { kind: 'exit'; exitCode: number }
  /** The essential container exits during start-up. */
  | { kind: 'fail-to-start' }
  /**
   * The image cannot be pulled: the task stops before any container ran, with stopCode
   * TaskFailedToStart and no exit codes (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
   */
  | { kind: 'cannot-pull' }
  /** Starts, then fails its health check and is stopped. */
  | { kind: 'fail-health-check' }
  /** Never leaves PENDING (no capacity, an image pull that hangs): a rollout that never ends. */
  | { kind: 'stall' };

export type TaskPhase = 'PENDING' | 'RUNNING' | 'STOPPING' | 'STOPPED';

export type StopCode =
  'EssentialContainerExited' | 'TaskFailedToStart' | 'ServiceSchedulerInitiated' | 'UserInitiated';

export interface TaskStop {
  readonly reason: string;
  readonly code: StopCode;
  readonly exitCode: number | undefined;
}

export interface SimTask {
  readonly id: string;
  readonly taskDefinitionArn: string;
  readonly fate: TaskFate;
  readonly createdAt: number;
  readonly phase: TaskPhase;
  /** When the task entered `phase` (ms): transitions are due relative to it. */
  readonly phaseSince: number;
  readonly healthy: boolean;
  readonly startedAt?: number;
  readonly stoppingAt?: number;
  readonly stoppedAt?: number;
  readonly stop?: TaskStop;
}

/** Simulated durations, in seconds. */
export interface Timing {
  /** PENDING -> RUNNING (image pull, ENI attachment). */
  provisionSeconds: number;
  /** RUNNING -> healthy, or -> stopped for a task that fails its health check. */
  healthCheckSeconds: number;
  /** STOPPING -> STOPPED (load balancer deregistration delay, SIGTERM grace). */
  drainSeconds: number;
  /** How long a one-off (RunTask) task runs before its containers exit. */
  runSeconds: number;
  /** Stopped tasks stay visible to DescribeTasks this long, as in ECS (about an hour). */
  stoppedRetentionSeconds: number;
}

export const defaultTiming: Timing = {
  provisionSeconds: 10,
  healthCheckSeconds: 10,
  drainSeconds: 5,
  runSeconds: 10,
  stoppedRetentionSeconds: 3600,
};

/** What a transition meant, for the scheduler's bookkeeping (failed tasks, events). */
export type TaskChange = 'running' | 'healthy' | 'failed' | 'exited' | 'stopped';

export function launchTask(
  id: string,
  taskDefinitionArn: string,
  fate: TaskFate,
  at: number,
): SimTask {
  return {
    id,
    taskDefinitionArn,
    fate,
    createdAt: at,
    phase: 'PENDING',
    phaseSince: at,
    healthy: false,
  };
}

/** When the task's next transition is due, or undefined if it will not move on its own. */
export function dueAt(task: SimTask, timing: Timing): number | undefined {
  const after = (seconds: number) => task.phaseSince + seconds * 1000;
  switch (task.phase) {
    case 'PENDING':
      return task.fate.kind === 'stall' ? undefined : after(timing.provisionSeconds);
    case 'RUNNING':
      if (task.fate.kind === 'exit') return after(timing.runSeconds);
      return task.healthy ? undefined : after(timing.healthCheckSeconds);
    case 'STOPPING':
      return after(timing.drainSeconds);
    case 'STOPPED':
      return undefined;
  }
}

/** Applies the transition that is due (the caller checked `dueAt(task) <= now`). */
export function advance(task: SimTask, timing: Timing): { task: SimTask; change: TaskChange } {
  const at = dueAt(task, timing);
  if (at === undefined) throw new Error(`task ${task.id} has no transition due`);
  switch (task.phase) {
    case 'PENDING':
      if (task.fate.kind === 'fail-to-start') {
        const stop = exited(1);
        return { task: stopped(task, at, stop), change: 'failed' };
      }
      if (task.fate.kind === 'cannot-pull') {
        const stop: TaskStop = {
          reason:
            'CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref: not found',
          code: 'TaskFailedToStart',
          exitCode: undefined,
        };
        return { task: stopped(task, at, stop), change: 'failed' };
      }
      return {
        task: { ...task, phase: 'RUNNING', phaseSince: at, startedAt: at },
        change: 'running',
      };
    case 'RUNNING':
      if (task.fate.kind === 'exit') {
        return { task: stopped(task, at, exited(task.fate.exitCode)), change: 'exited' };
      }
      if (task.fate.kind === 'fail-health-check') {
        const stop: TaskStop = {
          reason: 'Task failed container health checks',
          code: 'ServiceSchedulerInitiated',
          exitCode: 137,
        };
        return { task: stopped(task, at, stop), change: 'failed' };
      }
      return { task: { ...task, healthy: true }, change: 'healthy' };
    case 'STOPPING':
      return {
        task: { ...task, phase: 'STOPPED', phaseSince: at, stoppedAt: at },
        change: 'stopped',
      };
    case 'STOPPED':
      throw new Error(`task ${task.id} is already stopped`);
  }
}

/** Advances a task through every transition due up to `now`. */
export function advanceUntil(task: SimTask, now: number, timing: Timing): SimTask {
  let current = task;
  for (let due = dueAt(current, timing); due !== undefined && due <= now;) {
    current = advance(current, timing).task;
    due = dueAt(current, timing);
  }
  return current;
}

/** The scheduler (or a user) stops a task: running tasks drain first, pending ones just go. */
export function requestStop(task: SimTask, at: number, reason: string): SimTask {
  const stop: TaskStop = { reason, code: 'ServiceSchedulerInitiated', exitCode: undefined };
  switch (task.phase) {
    case 'PENDING':
      return stopped(task, at, stop);
    case 'RUNNING':
      return { ...task, phase: 'STOPPING', phaseSince: at, stoppingAt: at, stop };
    case 'STOPPING':
    case 'STOPPED':
      return task;
  }
}

export function isLive(task: SimTask): boolean {
  return task.phase === 'PENDING' || task.phase === 'RUNNING';
}

export function isHealthy(task: SimTask): boolean {
  return task.phase === 'RUNNING' && task.healthy;
}

function exited(exitCode: number): TaskStop {
  return {
    reason: 'Essential container in task exited',
    code: 'EssentialContainerExited',
    exitCode,
  };
}

function stopped(task: SimTask, at: number, stop: TaskStop): SimTask {
  return { ...task, phase: 'STOPPED', phaseSince: at, stoppingAt: at, stoppedAt: at, stop };
}
