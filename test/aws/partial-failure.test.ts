/**
 * A rollout the circuit breaker never ends. With ECS's default resetOnHealthyTask, a new task that
 * turns healthy resets the breaker's failure count, so a revision whose first task serves while
 * every later one fails its health check stays IN_PROGRESS for ever (the emulator models that
 * worst case: test/support/aws-emulator/rollout.ts). Only our rollout timeout ends it, and the
 * deploy must call that a failure, say why the breaker stayed quiet, name the stopped tasks and
 * put the service back.
 */
import { beforeEach, expect, test } from 'vitest';
import { serviceSettings, type EcsEnvironment } from '../../src/environment.js';
import { create } from '../../src/aws/create.js';
import { deploy } from '../../src/aws/deploy.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { putLogGroup } from '../support/aws-emulator/logs.js';
import { webOnly } from '../support/worker-environment.js';
import { failure, startHarness, value, type Harness } from './harness.js';

let h: Harness;

/** php-fpm runs two tasks, so one can serve while the other keeps failing. */
function twoPhpFpmTasks(env: EcsEnvironment): EcsEnvironment {
  const web = webOnly(env);
  const phpFpm = web.services['phpFpm'];
  if (phpFpm === undefined) throw new Error('staging declares no phpFpm service');
  return { ...web, services: { ...web.services, phpFpm: { ...phpFpm, desiredCount: 2 } } };
}

beforeEach(async () => {
  h = await startHarness({ environment: twoPhpFpmTasks });
  return () => h.stop();
});

const revision = (arn: string | undefined) => arn?.split(':').at(-1);

function phpFpm() {
  const sim = h.emu.service(h.env.ecs.cluster, serviceSettings(h.env, 'phpFpm').name);
  if (sim === undefined) throw new Error('no php-fpm service');
  return sim;
}

test('some new tasks healthy, the others failing: the timeout fails it, says why, restores', async () => {
  putLogGroup(h.emu.logs, h.env.logs.group, h.env.logs.retentionDays);
  value(
    await create({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
  );
  const bad = { image: 'staging_example_php_fpm:bad' };
  h.emu.taskOutput.print(bad, ['booting', 'SQLSTATE[08004] [1040] Too many connections']);
  const ctx = h.ctx({
    log: (line) => {
      h.lines.push(line);
      // After the migration (a one-off task): the first new php-fpm task serves, the rest fail.
      if (line.startsWith('migration:') && line.endsWith('exited 0')) {
        h.emu.faults.partlyFail(bad, { healthy: 1 });
      }
    },
  });
  const result = failure(
    await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'bad', nginx: 'v1' }) }),
  );

  expect(result.reason).toBe('rollout-failed');
  if (result.reason !== 'rollout-failed') return;
  const [detail] = result.failures;
  expect(detail).toMatchObject({ service: 'example-staging-php-fpm', cause: 'timeout' });
  expect(detail?.reason).toMatch(/^not finished after 900 s/);
  expect(detail?.stoppedTasks.length).toBeGreaterThan(0);
  for (const stopped of detail?.stoppedTasks ?? []) {
    expect(stopped.stoppedReason).toBe('Task failed container health checks');
    expect(stopped.lastLines).toEqual(['booting', 'SQLSTATE[08004] [1040] Too many connections']);
  }
  // Put back by us: ECS's breaker never started a rollback of its own.
  expect(result.restored.map((o) => [o.service, o.restored.how])).toEqual([
    ['example-staging-php-fpm', 'updated-back'],
  ]);

  const text = describeAwsFailure(result);
  expect(text).toMatch(
    /the circuit breaker never tripped: \d+ new tasks stopped, but each new task that turned healthy reset its failure count \(resetOnHealthyTask\)/,
  );
  expect(text).toContain('Task failed container health checks');
  expect(text).toContain('| SQLSTATE[08004] [1040] Too many connections');
  expect(text).toContain('example-staging-php-fpm: updated back to example-staging-php-fpm:1');
  expect(text).toContain('`npx task staging:status`');

  // Where php-fpm really is: back on :1 alone, every task of the bad revision gone.
  const sim = phpFpm();
  expect(sim.deployments.map((d) => [revision(d.taskDefinition), d.rolloutState])).toEqual([
    ['1', 'COMPLETED'],
  ]);
  expect(
    sim.tasks.filter((t) => t.phase !== 'STOPPED').map((t) => revision(t.taskDefinitionArn)),
  ).toEqual(['1', '1']);
});
