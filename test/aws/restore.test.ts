/**
 * After a failed deploy: a restore that is refused (or an ECS rollback that fails) is reported with
 * the command that finishes the job (never swallowed), and a deployment someone else started over
 * ours is never undone.
 */
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { beforeEach, expect, test } from 'vitest';
import { deploy } from '../../src/aws/deploy.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { serviceSettings } from '../../src/environment.js';
import { callCount, createV1, failure, startHarness, value, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  await createV1(h);
  return () => h.stop();
});

const td = (key: string, revision: number) =>
  `arn:aws:ecs:eu-west-1:123456789012:task-definition/${serviceSettings(h.env, key).family}:${revision}`;

const revisions = (key: string) =>
  h.emu
    .service(h.env.ecs.cluster, serviceSettings(h.env, key).name)
    ?.deployments.map((d) => d.taskDefinition.split(':').at(-1));

test('a later stage refused and the restore refused too: every service is reported, with the fix', async () => {
  const ctx = h.ctx({
    log: (line) => {
      h.lines.push(line);
      // php-fpm has moved; from now on every UpdateService is denied (nginx's, then the restore).
      if (/^example-staging-php-fpm: deployment \S+ completed$/.test(line)) {
        h.emu.faults.accessDenied('UpdateService');
      }
    },
  });
  const result = failure(
    await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
  );
  expect(result).toMatchObject({
    reason: 'update-refused',
    service: 'example-staging-nginx',
    restored: [
      {
        service: 'example-staging-php-fpm',
        key: 'php-fpm',
        restored: {
          how: 'restore-failed',
          taskDefinition: expect.stringMatching(/php-fpm:1$/) as unknown,
        },
      },
      {
        service: 'example-staging-nginx',
        key: 'nginx',
        restored: {
          how: 'unchanged',
          taskDefinition: expect.stringMatching(/nginx:1$/) as unknown,
        },
      },
    ],
  });
  const text = describeAwsFailure(result);
  expect(text).toContain('example-staging-php-fpm: could NOT return to example-staging-php-fpm:1');
  expect(text).toContain('npx task staging:rollback[php-fpm,1]');
  expect(text).toContain(
    'example-staging-nginx: not changed by this run; still on example-staging-nginx:1',
  );
  expect(revisions('phpFpm')).toEqual(['2']);
});

test('a deployment someone else started over ours is not undone', async () => {
  const ctx = h.ctx({
    log: (line) => {
      h.lines.push(line);
      if (/^example-staging-php-fpm: deployment \S+ started$/.test(line)) {
        // Another pipeline deploys php-fpm a second after ours started.
        h.emuClock.advance(1);
        void h.clients.ecs.send(
          new UpdateServiceCommand({
            cluster: h.env.ecs.cluster,
            service: serviceSettings(h.env, 'phpFpm').name,
            taskDefinition: `${serviceSettings(h.env, 'phpFpm').family}:1`,
          }),
        );
      }
    },
  });
  const result = failure(
    await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
  );
  expect(result).toMatchObject({
    reason: 'rollout-failed',
    failures: [{ service: 'example-staging-php-fpm', cause: 'superseded' }],
    restored: [
      { service: 'example-staging-php-fpm', restored: { how: 'left-alone' } },
      { service: 'example-staging-nginx', restored: { how: 'unchanged' } },
    ],
  });
  // Two UpdateService calls: ours and theirs. None from a restore.
  expect(callCount(h.emu, 'UpdateService')).toBe(2);
  expect(h.lines.some((line) => line.includes('updating it back'))).toBe(false);
  // Reported where it really is: on their revision, not ours.
  expect(describeAwsFailure(result)).toContain(
    'example-staging-php-fpm: left as it is, on example-staging-php-fpm:1:',
  );
});

/** php-fpm's deployments as the emulator holds them: [status, revision, rolloutState, running]. */
function phpFpmDeployments() {
  const sim = h.emu.service(h.env.ecs.cluster, serviceSettings(h.env, 'phpFpm').name);
  return sim?.deployments.map((d) => [
    d.status,
    d.taskDefinition.split(':').at(-1),
    d.rolloutState,
    sim.tasks.filter((t) => t.deploymentId === d.id && t.phase === 'RUNNING').length,
  ]);
}

/** A report's deployment lines, deployment ids replaced by ID. */
const listedDeployments = (text: string) =>
  text
    .split('\n')
    .filter((line) => /^ {4}(PRIMARY|ACTIVE) ecs-svc\//.test(line))
    .map((line) => line.replace(/ecs-svc\/\d+/, 'ID'));

/**
 * Deploys v2, whose php-fpm tasks fail after the migration, and so do new tasks of its old
 * revision (a migration the old code cannot read): ECS's rollback stalls. Returns the failure.
 */
async function stallPhpFpmRollback() {
  const ctx = h.ctx({
    log: (line) => {
      h.lines.push(line);
      if (line.startsWith('migration:') && line.endsWith('exited 0')) {
        const family = serviceSettings(h.env, 'phpFpm').family;
        h.emu.faults.failHealthCheck({ family });
      }
    },
  });
  return failure(
    await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
  );
}

test("ECS's own rollback failing too is reported as stalled, with the deployments that serve and a next step that works", async () => {
  const result = await stallPhpFpmRollback();
  expect(result).toMatchObject({
    reason: 'rollout-failed',
    failures: [{ service: 'example-staging-php-fpm', cause: 'circuit-breaker' }],
    restored: [
      { service: 'example-staging-php-fpm', restored: { how: 'return-failed', by: 'ecs' } },
      { service: 'example-staging-nginx', restored: { how: 'unchanged' } },
    ],
  });
  // ECS's rollback, stalled (nothing COMPLETED to return to), and the old tasks still serving;
  // the deployment returned to turned from COMPLETED to IN_PROGRESS when the rollback started.
  expect(phpFpmDeployments()).toEqual([
    ['PRIMARY', '1', 'FAILED', 0],
    ['ACTIVE', '1', 'IN_PROGRESS', 1],
  ]);
  const text = describeAwsFailure(result);
  expect(text).toContain(
    "example-staging-php-fpm: could NOT return to example-staging-php-fpm:1: ECS's rollback failed too (ECS deployment circuit breaker: tasks failed to start), and ECS does not roll a rollback back: it starts no more tasks, the rollback is stalled.",
  );
  // The report lists what DescribeServices lists: the stalled rollback and the serving old tasks.
  expect(listedDeployments(text)).toEqual([
    '    PRIMARY ID example-staging-php-fpm:1 FAILED: 0 of 1 tasks running',
    '    ACTIVE ID example-staging-php-fpm:1 IN_PROGRESS: 1 of 1 tasks running',
  ]);
  // Not "it may still run the new revision", and not a rollback to the revision that fails too;
  // a plain deploy would refuse (the IN_PROGRESS deployment), so the next step forces it.
  expect(text).not.toContain('may still run the new revision');
  expect(text).not.toContain('rollback[php-fpm,1]');
  expect(text).toContain('rolling back to it would fail the same way');
  expect(text).toContain('then deploy over it with `npx task staging:deploy -- --force`');
});

test('a later deploy meeting the stalled rollback refuses, saying so, and a forced one gets the service going', async () => {
  await stallPhpFpmRollback();
  // Hours later the rollback is still stalled: nothing is ever COMPLETED again on its own.
  h.emuClock.advance(3600);
  h.emu.faults.clear();
  h.forget();
  const taskDefinitions = await h.render({ phpFpm: 'v3', nginx: 'v2' });
  const refused = failure(await deploy({ ...h.ctx(), taskDefinitions }));
  expect(refused).toMatchObject({
    reason: 'rollback-stalled',
    service: 'example-staging-php-fpm',
    deployments: [
      { status: 'PRIMARY', rolloutState: 'FAILED' },
      { status: 'ACTIVE', rolloutState: 'IN_PROGRESS' },
    ],
  });
  const text = describeAwsFailure(refused);
  expect(text).toContain('example-staging-php-fpm is in a stalled ECS rollback');
  expect(text).toContain('no one else is deploying');
  expect(text).not.toContain('Another deployment is in progress');
  expect(listedDeployments(text)).toEqual([
    '    PRIMARY ID example-staging-php-fpm:1 FAILED: 0 of 1 tasks running',
    '    ACTIVE ID example-staging-php-fpm:1 IN_PROGRESS: 1 of 1 tasks running',
  ]);
  expect(text).toContain(
    'deploy over the stalled rollback with `npx task staging:deploy -- --force`',
  );
  // Refused before anything was registered, migrated or updated.
  expect(callCount(h.emu, 'RegisterTaskDefinition')).toBe(0);
  expect(callCount(h.emu, 'RunTask')).toBe(0);
  expect(callCount(h.emu, 'UpdateService')).toBe(0);
  // The way out the message names: forced, the fixed revision rolls out and completes.
  const forced = value(await deploy({ ...h.ctx(), taskDefinitions, force: true }));
  expect(forced.outcome).toBe('deployed');
  expect(phpFpmDeployments()).toEqual([['PRIMARY', '3', 'COMPLETED', 1]]);
});

test('an update back whose tasks fail too is reported with the deployments, not as a rollback to try', async () => {
  const ctx = h.ctx({
    log: (line) => {
      h.lines.push(line);
      // php-fpm:2's tasks never start, so the rollout times out and we update it back to :1;
      // by then new tasks of :1 fail their health checks too.
      if (line.startsWith('migration:') && line.endsWith('exited 0')) {
        h.emu.faults.neverStart({ image: 'staging_example_php_fpm:v2' });
      }
      if (line === 'example-staging-php-fpm: updating it back to ' + `${td('phpFpm', 1)}`) {
        h.emu.faults.failHealthCheck({ image: 'staging_example_php_fpm:v1' });
      }
    },
  });
  const result = failure(
    await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v2' }) }),
  );
  expect(result).toMatchObject({
    reason: 'rollout-failed',
    failures: [{ service: 'example-staging-php-fpm', cause: 'timeout' }],
    restored: [
      { service: 'example-staging-php-fpm', restored: { how: 'return-failed', by: 'us' } },
      { service: 'example-staging-nginx', restored: { how: 'unchanged' } },
    ],
  });
  const text = describeAwsFailure(result);
  expect(text).toContain(
    'example-staging-php-fpm: could NOT return to example-staging-php-fpm:1: updating it back failed too (ECS deployment circuit breaker: tasks failed to start).',
  );
  // As DescribeServices lists them: ECS rolling our failed update back in turn (to the last
  // COMPLETED deployment, whose tasks still serve), and our update back, FAILED.
  expect(listedDeployments(text)).toEqual([
    '    PRIMARY ID example-staging-php-fpm:1 IN_PROGRESS: 0 of 1 tasks running',
    '    ACTIVE ID example-staging-php-fpm:1 FAILED: 0 of 0 tasks running',
    '    ACTIVE ID example-staging-php-fpm:1 IN_PROGRESS: 1 of 1 tasks running',
  ]);
  expect(text).not.toContain('rollback[php-fpm,1]');
  expect(text).toContain('then deploy over it with `npx task staging:deploy -- --force`');
  expect(text).toContain('rolling back to it would fail the same way');
});
