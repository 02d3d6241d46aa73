/**
 * The migration as ECS really runs it: a sidecar stopped by SIGTERM when the command's container
 * exits, a task that never starts (stopCode TaskFailedToStart), RunTask's `failures`, a migration
 * that hangs past the timeout, and Ctrl-C: the last two must stop the task in ECS, so a rerun
 * never has two migrations running at once.
 */
import { DescribeTasksCommand } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, test } from 'vitest';
import { deploy } from '../../src/aws/deploy.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import type { RenderedTaskDefinitions } from '../../src/aws/task-definitions.js';
import { callCount, createV1, failure, startHarness, value, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  // Migrations that run for 10 minutes (within the 15-minute timeout), so Ctrl-C meets one RUNNING.
  h = await startHarness({ timing: { runSeconds: 600 } });
  const created = await createV1(h);
  expect(created.migrationTaskId).toBeDefined();
  return () => h.stop();
});

/** v2 task definitions whose php-fpm task also runs a log-router sidecar. */
async function withSidecar(): Promise<RenderedTaskDefinitions> {
  const rendered = await h.render({ phpFpm: 'v2', nginx: 'v2' });
  const php = rendered['phpFpm'];
  if (php === undefined) throw new Error('no phpFpm task definition');
  return {
    ...rendered,
    phpFpm: {
      ...php,
      containerDefinitions: [
        ...(php.containerDefinitions ?? []),
        {
          name: 'log-router',
          image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable',
          essential: false,
        },
      ],
    },
  };
}

/** The one-off task the deploy started, as the emulator holds it. */
function migrationTask() {
  const run = [...h.emu.ecs.tasks.values()].at(-1);
  if (run === undefined) throw new Error('no one-off task ran');
  return run;
}

describe('the migration verdict', () => {
  test('a sidecar stopped with SIGTERM (143) does not fail a migration whose container exited 0', async () => {
    const report = value(await deploy({ ...h.ctx(), taskDefinitions: await withSidecar() }));
    expect(report.outcome).toBe('deployed');
    expect(h.lines).toContain(`migration: task ${report.migrationTaskId ?? ''}: php-fpm exited 0`);
    // What makes it a real test: ECS reported the sidecar as exited 143.
    const described = await h.clients.ecs.send(
      new DescribeTasksCommand({
        cluster: h.env.ecs.cluster,
        tasks: [report.migrationTaskId ?? ''],
      }),
    );
    expect(described.tasks?.[0]?.containers?.map((c) => [c.name, c.exitCode])).toEqual([
      ['php-fpm', 0],
      ['log-router', 143],
    ]);
  });

  test('a non-zero exit of the command container fails, naming it and the stop code', async () => {
    h.emu.faults.exitCode({ image: 'staging_example_php_fpm:v2' }, 2);
    const result = failure(await deploy({ ...h.ctx(), taskDefinitions: await withSidecar() }));
    expect(result).toMatchObject({
      reason: 'migration-failed',
      container: 'php-fpm',
      exitCode: 2,
      stopCode: 'EssentialContainerExited',
    });
    const text = describeAwsFailure(result);
    expect(text).toContain(
      'php-fpm exited 2 (EssentialContainerExited: Essential container in task exited)',
    );
    expect(text).toContain('other containers, not judged: log-router 143');
    expect(callCount(h.emu, 'UpdateService')).toBe(0);
  });

  test('a task that never started reports stopCode TaskFailedToStart with the reason', async () => {
    h.emu.faults.cannotPull({ image: 'staging_example_php_fpm:v2' });
    const result = failure(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
    );
    expect(result).toMatchObject({
      reason: 'migration-failed',
      exitCode: undefined,
      stopCode: 'TaskFailedToStart',
    });
    const text = describeAwsFailure(result);
    expect(text).toContain(
      'php-fpm never exited (the task did not run: TaskFailedToStart: CannotPullContainerError',
    );
    expect(text).toContain('task execution role can pull it');
    expect(callCount(h.emu, 'UpdateService')).toBe(0);
  });

  test("RunTask's failures array (no capacity) is an error that says so", async () => {
    h.emu.faults.runTaskFailure({ reason: 'RESOURCE:MEMORY' });
    const result = failure(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
    );
    expect(result).toMatchObject({
      reason: 'migration-not-started',
      failures: [{ reason: 'RESOURCE:MEMORY' }],
    });
    const text = describeAwsFailure(result);
    expect(text).toContain('ECS did not start the migration task');
    expect(text).toContain('RESOURCE:MEMORY');
    expect(text).toContain('No migration ran and no service was changed');
    expect(callCount(h.emu, 'UpdateService')).toBe(0);
  });
});

describe('a migration that does not finish is stopped in ECS', () => {
  test('on timeout: StopTask, then a failure that says it was stopped', async () => {
    h.emu.faults.neverStart({ image: 'staging_example_php_fpm:v2' });
    const result = failure(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
    );
    expect(result).toMatchObject({ reason: 'migration-timeout', seconds: 900 });
    expect(describeAwsFailure(result)).toContain('so it was stopped (StopTask)');
    expect(callCount(h.emu, 'StopTask')).toBe(1);
    expect(migrationTask().sim).toMatchObject({ phase: 'STOPPED' });
    expect(callCount(h.emu, 'UpdateService')).toBe(0);
  });

  test('on Ctrl-C: StopTask before returning, so a rerun cannot overlap it', async () => {
    const controller = new AbortController();
    const ctx = h.ctx({
      signal: controller.signal,
      log: (line) => {
        h.lines.push(line);
        if (line.startsWith('migration:') && line.endsWith('RUNNING')) controller.abort();
      },
    });
    const result = failure(
      await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
    );
    expect(result.reason).toBe('interrupted');
    expect(describeAwsFailure(result)).toContain('asked ECS to stop it');
    expect(callCount(h.emu, 'StopTask')).toBe(1);
    expect(migrationTask().sim).toMatchObject({
      phase: 'STOPPING',
      stop: { code: 'UserInitiated', reason: 'taskgraph: deploy interrupted (Ctrl-C)' },
    });
    expect(callCount(h.emu, 'UpdateService')).toBe(0);
  });
});
