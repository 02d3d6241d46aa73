/**
 * The emulator's deployment state machine on its own (pure): the percentages hold at every
 * instant, the outcome does not depend on how time is sliced, and the circuit breaker trips
 * where ECS's does.
 */
import { describe, expect, test } from 'vitest';
import {
  createService,
  deploy,
  failureThreshold,
  reconfigure,
  tickService,
  type RolloutConfig,
  type RolloutEnv,
  type SimService,
} from './support/aws-emulator/rollout.js';
import { defaultTiming, isHealthy, type TaskFate } from './support/aws-emulator/task-lifecycle.js';

const v1 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:1';
const v2 = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:2';
const second = 1000;

function env(fates: Record<string, TaskFate> = {}): RolloutEnv {
  return { timing: defaultTiming, fateOf: (arn) => fates[arn] ?? { kind: 'serve' } };
}

function config(overrides: Partial<RolloutConfig> = {}): RolloutConfig {
  return {
    maximumPercent: 200,
    minimumHealthyPercent: 100,
    circuitBreaker: { enable: true, rollback: true },
    ...overrides,
  };
}

/** A service with `desiredCount` healthy v1 tasks and a COMPLETED deployment, at t = 100 s. */
function stable(desiredCount: number, rollout: RolloutConfig = config()): SimService {
  const svc = createService({
    name: 'web',
    idSeed: 'svc',
    desiredCount,
    config: rollout,
    taskDefinition: v1,
    settings: {},
    now: 0,
  });
  return tickService(svc, 0, 100 * second, env());
}

/** Ticks one second at a time, calling `check` after each step. */
function stepThrough(
  svc: SimService,
  from: number,
  seconds: number,
  e: RolloutEnv,
  check: (s: SimService) => void,
) {
  let current = svc;
  for (let t = from; t < from + seconds * second; t += second) {
    current = tickService(current, t, t + second, e);
    check(current);
  }
  return current;
}

describe('rolling update', () => {
  test.each([
    { maximumPercent: 200, minimumHealthyPercent: 100 },
    { maximumPercent: 150, minimumHealthyPercent: 50 },
    { maximumPercent: 100, minimumHealthyPercent: 50 },
  ])('stays within %o at every instant and completes', (percents) => {
    const desired = 4;
    const start = stable(desired, config(percents));
    expect(start.deployments.map((d) => d.rolloutState)).toEqual(['COMPLETED']);
    const updating = deploy(start, { taskDefinition: v2, settings: {}, now: 100 * second });
    const maxTasks = Math.floor((desired * percents.maximumPercent) / 100);
    const minHealthy = Math.ceil((desired * percents.minimumHealthyPercent) / 100);
    const end = stepThrough(updating, 100 * second, 300, env(), (s) => {
      expect(s.tasks.filter((t) => t.phase !== 'STOPPED').length).toBeLessThanOrEqual(maxTasks);
      expect(s.tasks.filter(isHealthy).length).toBeGreaterThanOrEqual(minHealthy);
    });
    expect(end.deployments.map((d) => [d.status, d.taskDefinition, d.rolloutState])).toEqual([
      ['PRIMARY', v2, 'COMPLETED'],
    ]);
    expect(end.tasks.filter(isHealthy).every((t) => t.taskDefinitionArn === v2)).toBe(true);
    expect(end.events[0]?.message).toBe('(service web) has reached a steady state.');
  });

  test('the outcome does not depend on how time is sliced', () => {
    const updating = deploy(stable(3), { taskDefinition: v2, settings: {}, now: 100 * second });
    const oneStep = tickService(updating, 100 * second, 200 * second, env());
    const manySteps = stepThrough(updating, 100 * second, 100, env(), () => undefined);
    const uneven = [100, 103, 117, 118, 160, 200].reduce(
      (s, t, i, all) =>
        i === 0 ? s : tickService(s, (all[i - 1] ?? 0) * second, t * second, env()),
      updating,
    );
    expect(manySteps).toEqual(oneStep);
    expect(uneven).toEqual(oneStep);
  });

  test('scaling in stops the surplus and says so', () => {
    const scaled = reconfigure(stable(4), { desiredCount: 1, config: config(), now: 100 * second });
    const end = tickService(scaled, 100 * second, 200 * second, env());
    expect(end.tasks.filter(isHealthy)).toHaveLength(1);
    expect(
      end.events.slice(0, 2).map((e) => e.message.replace(/\(task \w+\)/g, '(task *)')),
    ).toEqual([
      '(service web) has reached a steady state.',
      '(service web) has stopped 3 running tasks: (task *) (task *) (task *).',
    ]);
  });
});

describe('circuit breaker', () => {
  test.each([
    [1, 3],
    [6, 3],
    [10, 5],
    [401, 200],
    [1000, 200],
  ])('threshold for %i desired tasks is %i', (desired, threshold) => {
    expect(failureThreshold(desired)).toBe(threshold);
  });

  test('with rollback, a failing deployment is replaced by the last completed one', () => {
    const failing = env({ [v2]: { kind: 'fail-health-check' } });
    const updating = deploy(stable(2), { taskDefinition: v2, settings: {}, now: 100 * second });
    const states: string[] = [];
    const end = stepThrough(updating, 100 * second, 200, failing, (s) => {
      const line = s.deployments
        .map((d) => `${d.status}:${d.taskDefinition.slice(-5)}:${d.rolloutState}`)
        .join(' ');
      if (states.at(-1) !== line) states.push(line);
    });
    expect(states).toEqual([
      'PRIMARY:web:2:IN_PROGRESS ACTIVE:web:1:COMPLETED',
      // "When the rollback starts, the deployment changes from a COMPLETED to IN_PROGRESS"
      // (deployment-circuit-breaker.html): the one returned to, still serving.
      'PRIMARY:web:1:IN_PROGRESS ACTIVE:web:2:FAILED ACTIVE:web:1:IN_PROGRESS',
      'PRIMARY:web:1:COMPLETED',
    ]);
    expect(end.deployments[0]?.failedTasks).toBe(0);
    expect(end.tasks.filter(isHealthy).map((t) => t.taskDefinitionArn)).toEqual([v1, v1]);
  });

  test('a rollback that fails too stalls: no deployment is COMPLETED to roll back to', () => {
    // The old revision's new tasks fail as well (say a migration the old code cannot read).
    const everythingFails = env({
      [v1]: { kind: 'fail-health-check' },
      [v2]: { kind: 'fail-health-check' },
    });
    const updating = deploy(stable(2), { taskDefinition: v2, settings: {}, now: 100 * second });
    const end = tickService(updating, 100 * second, 3700 * second, everythingFails);
    expect(end.events.filter((e) => e.message.includes('rolling back to'))).toHaveLength(1);
    // The deployment returned to stays IN_PROGRESS: nothing will complete it.
    expect(end.deployments.map((d) => [d.status, d.taskDefinition, d.rolloutState])).toEqual([
      ['PRIMARY', v1, 'FAILED'],
      ['ACTIVE', v1, 'IN_PROGRESS'],
    ]);
    // Stalled: nothing new is launched, and the old tasks keep serving.
    expect(end.tasks.filter((t) => t.phase !== 'STOPPED').map((t) => t.taskDefinitionArn)).toEqual([
      v1,
      v1,
    ]);
  });

  test('without rollback, the deployment fails and the old tasks keep serving', () => {
    const failing = env({ [v2]: { kind: 'fail-to-start' } });
    const updating = deploy(
      stable(2, config({ circuitBreaker: { enable: true, rollback: false } })),
      {
        taskDefinition: v2,
        settings: {},
        now: 100 * second,
      },
    );
    const end = tickService(updating, 100 * second, 1000 * second, failing);
    expect(end.deployments.map((d) => [d.status, d.rolloutState, d.rolloutStateReason])).toEqual([
      ['PRIMARY', 'FAILED', 'ECS deployment circuit breaker: tasks failed to start.'],
      ['ACTIVE', 'COMPLETED', expect.stringMatching(/completed\.$/) as unknown],
    ]);
    expect(end.deployments[0]?.failedTasks).toBe(4);
    expect(end.tasks.filter((t) => t.phase !== 'STOPPED').map((t) => t.taskDefinitionArn)).toEqual([
      v1,
      v1,
    ]);
  });

  /** v2's first task serves; every later one fails its health check. */
  function firstServes(): RolloutEnv {
    let launched = 0;
    return {
      timing: defaultTiming,
      fateOf: (arn) =>
        arn === v2 && launched++ > 0 ? { kind: 'fail-health-check' } : { kind: 'serve' },
    };
  }

  test('a healthy task resets the count (the default): a partly failing rollout never trips', () => {
    const updating = deploy(stable(2), { taskDefinition: v2, settings: {}, now: 100 * second });
    const end = tickService(updating, 100 * second, 3700 * second, firstServes());
    expect(end.deployments.map((d) => [d.status, d.taskDefinition, d.rolloutState])).toEqual([
      ['PRIMARY', v2, 'IN_PROGRESS'],
      ['ACTIVE', v1, 'COMPLETED'],
    ]);
    const failedChecks = end.events.filter((e) =>
      e.message.endsWith('failed container health checks.'),
    );
    expect(failedChecks.length).toBeGreaterThan(failureThreshold(2) * 10);
    expect(
      end.tasks
        .filter(isHealthy)
        .map((t) => t.taskDefinitionArn)
        .sort(),
    ).toEqual([v1, v2]);
    expect(end.events.some((e) => e.message.includes('deployment failed'))).toBe(false);
  });

  test('with resetOnHealthyTask false, the same rollout trips at the threshold', () => {
    const noReset = config({
      circuitBreaker: { enable: true, rollback: true, resetOnHealthyTask: false },
    });
    const updating = deploy(stable(2, noReset), {
      taskDefinition: v2,
      settings: {},
      now: 100 * second,
    });
    const end = tickService(updating, 100 * second, 3700 * second, firstServes());
    expect(end.deployments.map((d) => [d.status, d.taskDefinition, d.rolloutState])).toEqual([
      ['PRIMARY', v1, 'COMPLETED'],
    ]);
    expect(end.events.some((e) => e.message.includes('deployment failed'))).toBe(true);
  });

  test('without the circuit breaker, failing tasks are replaced for ever', () => {
    const failing = env({ [v2]: { kind: 'fail-to-start' } });
    const updating = deploy(
      stable(2, config({ circuitBreaker: { enable: false, rollback: false } })),
      {
        taskDefinition: v2,
        settings: {},
        now: 100 * second,
      },
    );
    const end = tickService(updating, 100 * second, 1100 * second, failing);
    expect(end.deployments[0]?.rolloutState).toBe('IN_PROGRESS');
    expect(end.deployments[0]?.failedTasks).toBe(200);
  });
});
