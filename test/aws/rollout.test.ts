/**
 * The rollout verdict, pure, over DescribeServices-shaped snapshots: the cases other tools get
 * wrong (a circuit-breaker rollback reported as success, a silent timeout) and the progress lines.
 */
import { describe, expect, test } from 'vitest';
import { backoffDelay, backoffSchedule } from '../../src/aws/backoff.js';
import { notOurs } from '../../src/aws/restore.js';
import {
  breakerNeverTripped,
  progressLines,
  rolloutVerdict,
  type DeploymentSnapshot,
  type ServiceSnapshot,
} from '../../src/aws/rollout.js';

const v1 = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:1';
const v2 = 'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:2';
const ours = { deploymentId: 'ecs-svc/2', taskDefinition: v2 };
const time = { elapsedMs: 1000, timeoutMs: 900_000 };

function deployment(overrides: Partial<DeploymentSnapshot>): DeploymentSnapshot {
  return {
    id: 'ecs-svc/2',
    status: 'PRIMARY',
    taskDefinition: v2,
    desiredCount: 2,
    pendingCount: 0,
    runningCount: 2,
    failedTasks: 0,
    rolloutState: 'COMPLETED',
    rolloutStateReason: undefined,
    createdAt: 0,
    ...overrides,
  };
}

function service(
  deployments: DeploymentSnapshot[],
  overrides: Partial<ServiceSnapshot> = {},
): ServiceSnapshot {
  const primary = deployments.find((d) => d.status === 'PRIMARY');
  return {
    name: 'web',
    status: 'ACTIVE',
    taskDefinition: primary?.taskDefinition ?? v1,
    desiredCount: 2,
    runningCount: deployments.reduce((sum, d) => sum + d.runningCount, 0),
    pendingCount: 0,
    deployments,
    events: [],
    deploymentConfiguration: undefined,
    ...overrides,
  };
}

const old = deployment({ id: 'ecs-svc/1', status: 'ACTIVE', taskDefinition: v1, runningCount: 2 });

describe('rolloutVerdict', () => {
  test('ours PRIMARY, COMPLETED, alone, all running: succeeded', () => {
    expect(rolloutVerdict(service([deployment({})]), ours, time)).toEqual({ state: 'succeeded' });
  });

  test('COMPLETED but the old deployment still drains, or tasks missing: still in progress', () => {
    expect(rolloutVerdict(service([deployment({}), old]), ours, time).state).toBe('in-progress');
    const short = deployment({ runningCount: 1 });
    expect(rolloutVerdict(service([short]), ours, time).state).toBe('in-progress');
  });

  test('circuit breaker FAILED with rollback in progress: failed, rolling back (not success)', () => {
    const rollback = deployment({
      id: 'ecs-svc/3',
      taskDefinition: v1,
      rolloutState: 'IN_PROGRESS',
      runningCount: 0,
    });
    const failed = deployment({
      status: 'ACTIVE',
      rolloutState: 'FAILED',
      rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
    });
    expect(rolloutVerdict(service([rollback, failed, old]), ours, time)).toEqual({
      state: 'failed',
      cause: 'circuit-breaker',
      reason: 'ECS deployment circuit breaker: tasks failed to start.',
      rolledBack: 'in-progress',
    });
  });

  test('our deployment gone and the old revision COMPLETED (a finished rollback): failed', () => {
    const back = deployment({
      id: 'ecs-svc/3',
      taskDefinition: v1,
      rolloutStateReason: 'ECS deployment ecs-svc/3 completed.',
    });
    const events = [
      { id: 'e1', createdAt: 0, message: '(service web) rolling back to deployment ecs-svc/1.' },
    ];
    expect(rolloutVerdict(service([back], { events }), ours, time)).toMatchObject({
      state: 'failed',
      cause: 'rolled-back',
      rolledBack: 'completed',
    });
  });

  test("an earlier deploy's ECS rollback, still among the events, does not make ours rolled back", () => {
    const mine = { ...ours, createdAt: 1000 };
    const theirs = deployment({
      id: 'ecs-svc/3',
      taskDefinition: v1,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: 'ECS deployment ecs-svc/3 in progress.',
      createdAt: 2000,
    });
    const replaced = deployment({ status: 'ACTIVE', rolloutState: 'IN_PROGRESS', createdAt: 1000 });
    const events = [
      {
        id: 'e1',
        createdAt: 1500,
        message: '(service web) has started 2 tasks: (task a) (task b).',
      },
      { id: 'e0', createdAt: 500, message: '(service web) rolling back to deployment ecs-svc/0.' },
    ];
    expect(rolloutVerdict(service([theirs, replaced], { events }), mine, time)).toMatchObject({
      state: 'failed',
      cause: 'superseded',
      rolledBack: 'no',
    });
    // The same event after ours started is ECS's rollback of ours.
    const rollback = [{ ...events[1], id: 'e2', createdAt: 2000 }] as typeof events;
    expect(
      rolloutVerdict(service([theirs, replaced], { events: rollback }), mine, time),
    ).toMatchObject({ cause: 'rolled-back' });
  });

  test('someone else deployed over ours with the same revision: superseded', () => {
    const theirs = deployment({ id: 'ecs-svc/9', rolloutState: 'IN_PROGRESS' });
    expect(rolloutVerdict(service([theirs]), ours, time)).toMatchObject({ cause: 'superseded' });
  });

  test('the service reports a task definition that is not ours: failed', () => {
    expect(
      rolloutVerdict(service([deployment({})], { taskDefinition: v1 }), ours, time),
    ).toMatchObject({
      cause: 'foreign-task-definition',
    });
  });

  test('past the deadline: failed with the counts, not a silent wait', () => {
    const stuck = deployment({ rolloutState: 'IN_PROGRESS', runningCount: 0, pendingCount: 2 });
    const verdict = rolloutVerdict(service([stuck, old]), ours, {
      elapsedMs: 900_000,
      timeoutMs: 900_000,
    });
    expect(verdict).toMatchObject({ state: 'failed', cause: 'timeout' });
    if (verdict.state === 'failed') expect(verdict.reason).toContain('running 0, pending 2');
  });

  test('a missing or draining service: failed (missing only once reads had time to catch up)', () => {
    expect(rolloutVerdict(undefined, ours, time)).toEqual({ state: 'in-progress' });
    expect(rolloutVerdict(undefined, ours, { ...time, elapsedMs: 61_000 })).toMatchObject({
      cause: 'service-gone',
    });
    expect(
      rolloutVerdict(service([deployment({})], { status: 'DRAINING' }), ours, time),
    ).toMatchObject({ cause: 'service-gone' });
  });

  test('without a rollout state (circuit breaker off), steady alone is success', () => {
    expect(
      rolloutVerdict(service([deployment({ rolloutState: undefined })]), ours, time).state,
    ).toBe('succeeded');
  });
});

describe('notOurs (restore.ts): what a restore leaves alone, and where it is instead', () => {
  test("someone else's deployment over ours, or a revision we did not deploy: theirs, named", () => {
    const theirs = deployment({ id: 'ecs-svc/3', taskDefinition: v1, rolloutState: 'IN_PROGRESS' });
    const mine = deployment({ status: 'ACTIVE', rolloutState: 'IN_PROGRESS' });
    expect(notOurs(service([theirs, mine]), ours)).toEqual({
      why: expect.stringMatching(/^deployment ecs-svc\/3 of .*web:1 replaced ours/) as unknown,
      taskDefinition: v1,
    });
    expect(notOurs(service([deployment({})], { taskDefinition: v1 }), ours)).toEqual({
      why: `it runs ${v1}, which this run did not deploy`,
      taskDefinition: v1,
    });
    expect(notOurs(service([deployment({ rolloutState: 'IN_PROGRESS' })]), ours)).toBeUndefined();
  });
});

describe('breakerNeverTripped', () => {
  const partly = deployment({ rolloutState: 'IN_PROGRESS', runningCount: 1, pendingCount: 1 });
  const breaker = (cb: { enable: boolean; rollback: boolean; resetOnHealthyTask?: boolean }) =>
    service([partly, old], {
      deploymentConfiguration: { deploymentCircuitBreaker: cb },
    });

  test('breaker on, reset on by default, tasks of ours running and stopped: explained', () => {
    expect(breakerNeverTripped(breaker({ enable: true, rollback: true }), ours, 12)).toBe(
      'the circuit breaker never tripped: 12 new tasks stopped, but each new task that turned healthy reset its failure count (resetOnHealthyTask), so ECS kept replacing the failing ones with 1 running and only this timeout ended the rollout',
    );
  });

  test('not the reason: breaker off, reset off, nothing stopped, nothing of ours running', () => {
    const on = { enable: true, rollback: true };
    expect(breakerNeverTripped(breaker({ enable: false, rollback: false }), ours, 12)).toBe(
      undefined,
    );
    expect(
      breakerNeverTripped(breaker({ ...on, resetOnHealthyTask: false }), ours, 12),
    ).toBeUndefined();
    expect(breakerNeverTripped(breaker(on), ours, 0)).toBeUndefined();
    const none = service([{ ...partly, runningCount: 0 }, old], {
      deploymentConfiguration: { deploymentCircuitBreaker: on },
    });
    expect(breakerNeverTripped(none, ours, 12)).toBeUndefined();
  });
});

describe('progressLines', () => {
  test('reports changed deployments and each new event once, oldest first', () => {
    const seen = new Set<string>();
    const first = service(
      [deployment({ rolloutState: 'IN_PROGRESS', runningCount: 0, pendingCount: 2 }), old],
      {
        events: [
          { id: 'e2', createdAt: Date.UTC(2025, 0, 1, 0, 0, 10), message: 'has started 2 tasks' },
          { id: 'e1', createdAt: Date.UTC(2025, 0, 1, 0, 0, 5), message: 'deployment started' },
        ],
      },
    );
    expect(progressLines(undefined, first, seen)).toEqual([
      'web: PRIMARY ecs-svc/2 web:2 IN_PROGRESS: desired 2, running 0, pending 2, failed 0',
      'web: ACTIVE ecs-svc/1 web:1 COMPLETED: desired 2, running 2, pending 0, failed 0',
      'web: event 00:00:05 deployment started',
      'web: event 00:00:10 has started 2 tasks',
    ]);
    expect(progressLines(first, first, seen)).toEqual([]);
  });
});

describe('backoff', () => {
  test('grows by half each time up to 15 s, and a reset starts over', () => {
    expect(backoffSchedule(8)).toEqual([2000, 3000, 4500, 6750, 10125, 15000, 15000, 15000]);
    expect(backoffDelay(0)).toBe(2000);
  });
});
