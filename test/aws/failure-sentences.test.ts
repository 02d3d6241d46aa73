/**
 * Reasons the renderers did not write (ECS's, AWS's, another renderer's) come with or without a
 * closing full stop; every failure message ends or continues them with exactly one.
 */
import { describe, expect, test } from 'vitest';
import { describeAwsFailure, type AwsFailureData } from '../../src/aws/errors.js';
import type { Restored } from '../../src/aws/rollout-failures.js';
import { clause, sentence } from '../../src/aws/sentence.js';

describe('sentence and clause', () => {
  test('one full stop at the end, however many the text had', () => {
    expect(sentence('tasks failed to start')).toBe('tasks failed to start.');
    expect(sentence('tasks failed to start.')).toBe('tasks failed to start.');
    expect(sentence('tasks failed to start.. ')).toBe('tasks failed to start.');
    expect(sentence('is it there?')).toBe('is it there?');
    expect(sentence('')).toBe('');
    expect(clause('tasks failed to start.')).toBe('tasks failed to start');
    expect(clause('tasks failed to start')).toBe('tasks failed to start');
  });
});

const td = (revision: number) =>
  `arn:aws:ecs:eu-west-1:123456789012:task-definition/example-staging-php-fpm:${revision}`;

/** Every failure whose words carry `reason` from outside the renderer. */
function failuresCarrying(reason: string): AwsFailureData[] {
  const outcome = (restored: Restored) => ({
    service: 'example-staging-php-fpm',
    key: 'php-fpm',
    restored,
  });
  const restored = [
    outcome({ how: 'left-alone', taskDefinition: td(3), why: reason }),
    outcome({ how: 'restore-failed', taskDefinition: td(1), why: reason }),
  ];
  return [
    {
      reason: 'rollout-failed',
      environment: 'staging',
      failures: [
        {
          service: 'example-staging-php-fpm',
          deploymentId: 'ecs-svc/1',
          taskDefinition: td(2),
          cause: 'circuit-breaker',
          reason,
          events: [],
          stoppedTasks: [],
        },
      ],
      restored,
    },
    {
      reason: 'update-refused',
      environment: 'staging',
      operation: 'deploy',
      service: 'example-staging-nginx',
      refused: { reason: 'unreachable', action: 'ecs:UpdateService', detail: 'ECONNRESET' },
      restored,
    },
    {
      reason: 'smoke-check-failed',
      environment: 'staging',
      url: 'http://127.0.0.1/health',
      detail: 'HTTP 503',
      restored,
    },
    ...(['ecs:UpdateService', 'ecr:PutLifecyclePolicy'] as const).map((action): AwsFailureData => ({
      reason: 'aws-refused',
      code: 'InvalidParameterException',
      action,
      resource: 'example-staging',
      detail: reason,
    })),
    {
      reason: 'migration-not-started',
      environment: 'staging',
      cluster: 'example-staging',
      taskDefinition: td(2),
      failures: [{ reason }],
    },
    {
      reason: 'run-not-started',
      environment: 'staging',
      service: 'example-staging-php-fpm',
      failures: [reason],
    },
  ];
}

describe('every renderer ends a reason from outside with one full stop', () => {
  for (const reason of ['tasks failed to start', 'tasks failed to start.']) {
    test(`reason ${JSON.stringify(reason)}`, () => {
      for (const failure of failuresCarrying(reason)) {
        const text = describeAwsFailure(failure, { environment: 'staging' });
        const lines = text.split('\n').filter((line) => line.includes('tasks failed to start'));
        expect(lines, failure.reason).not.toHaveLength(0);
        for (const line of lines) {
          expect(line, `${failure.reason}: ${line}`).not.toMatch(/\.\./);
          expect(line, `${failure.reason}: ${line}`).toMatch(/tasks failed to start\.(\s|$)/);
        }
      }
    });
  }
});
