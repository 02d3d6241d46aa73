/**
 * A service's deployments, simulated the way ECS's rolling-update scheduler moves them.
 *
 *   CreateService / UpdateService(new task definition)
 *        │        (the previous PRIMARY turns ACTIVE; its tasks drain)
 *        v
 *   PRIMARY IN_PROGRESS ── start tasks while all tasks ≤ maximumPercent, stop ACTIVE tasks
 *        │                 while healthy tasks ≥ minimumHealthyPercent
 *        ├─ desired tasks healthy, no ACTIVE deployment left ──> PRIMARY COMPLETED, steady state
 *        ├─ one of its tasks turned healthy (resetOnHealthyTask, the default) ──> failedTasks
 *        │     back to 0 and the breaker no longer trips: IN_PROGRESS until someone else
 *        │     ends it, however many of its other tasks keep failing
 *        └─ failedTasks ≥ threshold (circuit breaker on) ──> FAILED (no new tasks)
 *              └─ rollback on: a new PRIMARY IN_PROGRESS with the last COMPLETED task
 *                 definition; the FAILED one turns ACTIVE and stays in view until the
 *                 rollback completes, which drops it. The COMPLETED deployment returned to
 *                 turns IN_PROGRESS. Nothing is COMPLETED meanwhile, so a rollback that fails
 *                 too stalls (FAILED, no new tasks, old tasks serve, the returned-to deployment
 *                 IN_PROGRESS for good)
 *
 *   Any other ACTIVE deployment leaves the list once its last task has stopped.
 *
 * Sources: the rolling update (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html)
 * and the circuit breaker (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html;
 * its threshold in https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html).
 *
 * A healthy task and the failure count: API_DeploymentCircuitBreaker
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentCircuitBreaker.html)
 * says `resetOnHealthyTask`, true by default, makes "a task that reaches a healthy state" reset
 * the failure count to 0, and the Developer Guide page above says that once tasks of the
 * deployment reach RUNNING and pass their health checks "the failure criteria is skipped". Neither
 * bounds how many of its other tasks may fail afterwards, so the emulator takes the worst case
 * those words allow: after the first healthy task of a deployment its breaker never trips, and a
 * rollout where some new tasks serve while the others keep failing stays IN_PROGRESS until the
 * caller's own timeout ends it (as users report: aws/copilot-cli#1879, fabfuel/ecs-deploy#161;
 * https://repost.aws/knowledge-center/ecs-deployment-roll-back-failure lists "a task that
 * successfully starts, passes the health checks, but then stops" among the reasons a breaker
 * does not trip). `failedTasks` still counts failures since the last healthy task ("the number
 * of consecutively failed tasks", API_Deployment). With `resetOnHealthyTask: false` the count
 * is never reset and the threshold alone decides.
 *
 * Time moves only through tickService(service, from, to), which replays every task transition
 * due in (from, to] in order and lets the scheduler react at each, so the outcome does not
 * depend on how a test slices time. Every exported function returns a new service.
 */
import { deploymentId, hexId, uuidId } from './arn.js';
import {
  advance,
  dueAt,
  isHealthy,
  isLive,
  launchTask,
  requestStop,
  type SimTask,
  type TaskFate,
  type Timing,
} from './task-lifecycle.js';

export interface RolloutConfig {
  maximumPercent: number;
  minimumHealthyPercent: number;
  /** `resetOnHealthyTask` unset is true, as in ECS. */
  circuitBreaker: { enable: boolean; rollback: boolean; resetOnHealthyTask?: boolean | undefined };
}

export type RolloutState = 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';

/** What a deployment was made with (launch type, network configuration...): opaque here. */
export type DeploymentSettings = Record<string, unknown>;

export interface SimDeployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  taskDefinition: string;
  desiredCount: number;
  /** Failed tasks since the last healthy one (or since it started, without the reset). */
  failedTasks: number;
  /** A task of it turned healthy while the reset was on: its breaker no longer trips. */
  breakerSkipped: boolean;
  rolloutState: RolloutState;
  rolloutStateReason: string;
  createdAt: number;
  updatedAt: number;
  settings: DeploymentSettings;
}

export interface ServiceTask extends SimTask {
  readonly deploymentId: string;
}

export interface ServiceEventRecord {
  id: string;
  createdAt: number;
  message: string;
}

export interface SimService {
  name: string;
  /** Prefix for the service's deterministic ids (its ARN: unique across clusters). */
  idSeed: string;
  desiredCount: number;
  config: RolloutConfig;
  /** PRIMARY first. */
  deployments: SimDeployment[];
  tasks: ServiceTask[];
  /** Newest first, at most `maxEvents`. */
  events: ServiceEventRecord[];
  lastCompleted: { id: string; taskDefinition: string; settings: DeploymentSettings } | undefined;
  serial: number;
  /** Whether "has reached a steady state" was said since the last change. */
  steady: boolean;
}

export interface RolloutEnv {
  timing: Timing;
  /** The fate of a task launched now from this task definition (the injected faults). */
  fateOf(taskDefinitionArn: string): TaskFate;
}

export const circuitBreakerReason = 'ECS deployment circuit breaker: tasks failed to start.';
const maxEvents = 100;

/** ECS: half the desired count, at least 3 and at most 200 failed tasks (API_ServiceDeploymentCircuitBreaker). */
export function failureThreshold(desiredCount: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desiredCount * 0.5)));
}

export interface NewService {
  name: string;
  idSeed: string;
  desiredCount: number;
  config: RolloutConfig;
  taskDefinition: string;
  settings: DeploymentSettings;
  now: number;
}

export function createService(init: NewService): SimService {
  const svc: SimService = {
    name: init.name,
    idSeed: init.idSeed,
    desiredCount: init.desiredCount,
    config: init.config,
    deployments: [],
    tasks: [],
    events: [],
    lastCompleted: undefined,
    serial: 0,
    steady: false,
  };
  addPrimary(svc, init.taskDefinition, init.settings, init.now);
  return svc;
}

/** UpdateService with a new task definition or forceNewDeployment. */
export function deploy(
  svc: SimService,
  change: { taskDefinition: string; settings: DeploymentSettings; now: number },
): SimService {
  const s = structuredClone(svc);
  addPrimary(s, change.taskDefinition, change.settings, change.now);
  return s;
}

/** UpdateService with only a new desiredCount and/or deployment configuration. */
export function reconfigure(
  svc: SimService,
  change: { desiredCount: number; config: RolloutConfig; now: number },
): SimService {
  const s = structuredClone(svc);
  s.config = change.config;
  if (s.desiredCount !== change.desiredCount) {
    s.desiredCount = change.desiredCount;
    s.steady = false;
    const primary = s.deployments[0];
    if (primary) {
      primary.desiredCount = change.desiredCount;
      primary.updatedAt = change.now;
    }
  }
  return s;
}

export function tickService(
  svc: SimService,
  from: number,
  to: number,
  env: RolloutEnv,
): SimService {
  const s = structuredClone(svc);
  let now = from;
  for (;;) {
    schedule(s, now, env);
    const next = nextDue(s, env.timing);
    if (next === undefined || next > to) break;
    now = Math.max(now, next);
    applyDue(s, now, env);
  }
  const horizon = to - env.timing.stoppedRetentionSeconds * 1000;
  s.tasks = s.tasks.filter((t) => t.phase !== 'STOPPED' || (t.stoppedAt ?? to) >= horizon);
  return s;
}

export function counts(tasks: readonly SimTask[]): { running: number; pending: number } {
  return {
    running: tasks.filter((t) => t.phase === 'RUNNING').length,
    pending: tasks.filter((t) => t.phase === 'PENDING').length,
  };
}

function addPrimary(
  s: SimService,
  taskDefinition: string,
  settings: DeploymentSettings,
  now: number,
) {
  for (const d of s.deployments) {
    if (d.status === 'PRIMARY') {
      d.status = 'ACTIVE';
      d.updatedAt = now;
    }
  }
  const id = deploymentId(`${s.idSeed}#${s.serial++}`);
  s.deployments.unshift({
    id,
    status: 'PRIMARY',
    taskDefinition,
    desiredCount: s.desiredCount,
    failedTasks: 0,
    breakerSkipped: false,
    rolloutState: 'IN_PROGRESS',
    rolloutStateReason: `ECS deployment ${id} in progress.`,
    createdAt: now,
    updatedAt: now,
    settings,
  });
  s.steady = false;
}

function nextDue(s: SimService, timing: Timing): number | undefined {
  let next: number | undefined;
  for (const t of s.tasks) {
    const due = dueAt(t, timing);
    if (due !== undefined && (next === undefined || due < next)) next = due;
  }
  return next;
}

function applyDue(s: SimService, now: number, env: RolloutEnv) {
  s.tasks = s.tasks.map((task) => {
    let current = task;
    for (let due = dueAt(current, env.timing); due !== undefined && due <= now;) {
      const step = advance(current, env.timing);
      current = { ...step.task, deploymentId: task.deploymentId };
      // A service task that exits on its own has failed, whatever its exit code.
      if (step.change === 'failed' || step.change === 'exited') recordFailure(s, current, now);
      if (step.change === 'healthy') recordHealthy(s, current);
      due = dueAt(current, env.timing);
    }
    return current;
  });
  const primary = s.deployments[0];
  if (
    primary &&
    s.config.circuitBreaker.enable &&
    primary.rolloutState === 'IN_PROGRESS' &&
    !primary.breakerSkipped &&
    primary.failedTasks >= failureThreshold(primary.desiredCount)
  ) {
    tripCircuitBreaker(s, primary, now);
  }
}

function recordFailure(s: SimService, task: ServiceTask, now: number) {
  const deployment = s.deployments.find((d) => d.id === task.deploymentId);
  if (deployment) {
    deployment.failedTasks += 1;
    deployment.updatedAt = now;
  }
  if (task.fate.kind === 'fail-health-check') {
    say(s, now, `(service ${s.name}) (task ${task.id}) failed container health checks.`);
  }
}

/** resetOnHealthyTask: the failure count starts over, and (worst case) the breaker stands down. */
function recordHealthy(s: SimService, task: ServiceTask) {
  if (s.config.circuitBreaker.resetOnHealthyTask === false) return;
  const deployment = s.deployments.find((d) => d.id === task.deploymentId);
  if (deployment?.rolloutState !== 'IN_PROGRESS') return;
  deployment.failedTasks = 0;
  deployment.breakerSkipped = true;
}

function tripCircuitBreaker(s: SimService, failed: SimDeployment, now: number) {
  failed.rolloutState = 'FAILED';
  failed.rolloutStateReason = circuitBreakerReason;
  failed.updatedAt = now;
  say(
    s,
    now,
    `(service ${s.name}) (deployment ${failed.id}) deployment failed: tasks failed to start.`,
  );
  const target = s.lastCompleted;
  if (!s.config.circuitBreaker.rollback || !target) return;
  // "When the rollback starts, the deployment changes from a COMPLETED to IN_PROGRESS": the
  // deployment returned to (still listed while its tasks serve) shows IN_PROGRESS, and until the
  // rollback completes nothing is COMPLETED, so a rollback that fails too stalls instead of rolling
  // back again (deployment-circuit-breaker.html: no COMPLETED deployment, "the deployment is
  // stalled"), and the returned-to deployment stays IN_PROGRESS for as long as it is listed.
  s.lastCompleted = undefined;
  const returnedTo = s.deployments.find((d) => d.id === target.id);
  if (returnedTo) {
    returnedTo.rolloutState = 'IN_PROGRESS';
    returnedTo.rolloutStateReason = `ECS deployment circuit breaker: rollback to deployment ${target.id} in progress.`;
    returnedTo.updatedAt = now;
  }
  addPrimary(s, target.taskDefinition, target.settings, now);
  const rollback = s.deployments[0];
  if (rollback) {
    rollback.rolloutStateReason = `ECS deployment circuit breaker: rolling back to deploymentId ${target.id}.`;
  }
  say(s, now, `(service ${s.name}) rolling back to deployment ${target.id}.`);
}

/** One pass of the service scheduler at time `now`: stop what must go, start what is missing. */
function schedule(s: SimService, now: number, env: RolloutEnv) {
  const primary = s.deployments[0];
  if (!primary) return;
  const desired = s.desiredCount;
  const stopped: string[] = [];
  const stop = (task: ServiceTask) => {
    const reason = `Scaling activity initiated by (deployment ${primary.id})`;
    s.tasks = s.tasks.map((t) =>
      t.id === task.id ? { ...requestStop(t, now, reason), deploymentId: t.deploymentId } : t,
    );
    stopped.push(task.id);
  };
  const ofPrimary = () => s.tasks.filter((t) => t.deploymentId === primary.id && isLive(t));

  // Scale-in: pending tasks go first, then the newest.
  const surplus = ofPrimary().length - desired;
  if (surplus > 0) {
    const order = [...ofPrimary()].sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt);
    order.slice(0, surplus).forEach(stop);
  }

  // Old deployments drain, as long as enough healthy tasks remain (never behind a FAILED one).
  if (primary.rolloutState !== 'FAILED') {
    const old = s.tasks.filter((t) => t.deploymentId !== primary.id && isLive(t));
    old.filter((t) => !isHealthy(t)).forEach(stop);
    const minHealthy = Math.ceil((desired * s.config.minimumHealthyPercent) / 100);
    const primaryHealthy = ofPrimary().filter(isHealthy).length;
    let healthy = s.tasks.filter(isHealthy).length;
    for (const t of old.filter(isHealthy)) {
      if (primaryHealthy < desired && healthy - 1 < minHealthy) break;
      stop(t);
      healthy -= 1;
    }
  }
  if (stopped.length > 0) {
    const list = stopped.map((id) => `(task ${id})`).join(' ');
    say(s, now, `(service ${s.name}) has stopped ${stopped.length} running tasks: ${list}.`);
  }

  // Launch within maximumPercent, counting tasks that are still draining.
  if (primary.rolloutState !== 'FAILED') {
    const occupied = s.tasks.filter((t) => t.phase !== 'STOPPED').length;
    const maxTotal = Math.floor((desired * s.config.maximumPercent) / 100);
    const launch = Math.min(desired - ofPrimary().length, maxTotal - occupied);
    const started: string[] = [];
    for (let i = 0; i < launch; i++) {
      const id = hexId(`${s.idSeed}#${s.serial++}`);
      const task = launchTask(id, primary.taskDefinition, env.fateOf(primary.taskDefinition), now);
      s.tasks.push({ ...task, deploymentId: primary.id });
      started.push(id);
    }
    if (started.length > 0) {
      const list = started.map((id) => `(task ${id})`).join(' ');
      say(s, now, `(service ${s.name}) has started ${started.length} tasks: ${list}.`);
    }
  }

  settle(s, primary, now);
}

/** Drops drained deployments, completes the PRIMARY, announces a steady state. */
function settle(s: SimService, primary: SimDeployment, now: number) {
  const busy = (d: SimDeployment) =>
    s.tasks.some((t) => t.deploymentId === d.id && t.phase !== 'STOPPED');
  // A FAILED deployment stays in view (ACTIVE, with its reason) while the rollback runs.
  const rollingBack = primary.rolloutState === 'IN_PROGRESS';
  s.deployments = s.deployments.filter(
    (d) => d === primary || busy(d) || (d.rolloutState === 'FAILED' && rollingBack),
  );
  for (const d of s.deployments) {
    if (d !== primary)
      d.desiredCount = s.tasks.filter((t) => t.deploymentId === d.id && isLive(t)).length;
  }
  const live = s.tasks.filter((t) => t.deploymentId === primary.id && isLive(t));
  const settled =
    !s.deployments.some((d) => d !== primary && busy(d)) &&
    live.length === s.desiredCount &&
    live.every(isHealthy);
  if (!settled) return;
  if (primary.rolloutState === 'IN_PROGRESS') {
    s.deployments = [primary];
    primary.rolloutState = 'COMPLETED';
    primary.rolloutStateReason = `ECS deployment ${primary.id} completed.`;
    primary.updatedAt = now;
    s.lastCompleted = {
      id: primary.id,
      taskDefinition: primary.taskDefinition,
      settings: primary.settings,
    };
    say(s, now, `(service ${s.name}) (deployment ${primary.id}) deployment completed.`);
  }
  if (!s.steady && primary.rolloutState === 'COMPLETED') {
    s.steady = true;
    say(s, now, `(service ${s.name}) has reached a steady state.`);
  }
}

function rank(t: SimTask): number {
  return t.phase === 'PENDING' ? 0 : 1;
}

function say(s: SimService, now: number, message: string) {
  s.events.unshift({ id: uuidId(`${s.idSeed}#event${s.serial++}`), createdAt: now, message });
  s.events.length = Math.min(s.events.length, maxEvents);
}
