/**
 * `rollback` returns only to a revision that completed a rollout on the service: after a deploy
 * whose tasks failed (ECS rolled it back) and a later good deploy, the target skips the failed
 * revision. A rollback that fails says "rollback", not "deploy".
 */
import { beforeEach, expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { deploy } from '../../src/aws/deploy.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { rollback } from '../../src/aws/rollback.js';
import { serviceSettings } from '../../src/environment.js';
import { failure, startHarness, value, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  return () => h.stop();
});

const running = () =>
  h.emu
    .service(h.env.ecs.cluster, serviceSettings(h.env, 'phpFpm').name)
    ?.deployments.map((d) => `${d.taskDefinition.split(':').at(-1) ?? ''} ${d.rolloutState}`);

/** php-fpm :1 (created), :2 (tasks fail, ECS rolls back to :1), :3 (good). */
async function historyWithAFailedRevision() {
  value(
    await create({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
  );
  const ctx = h.ctx({
    log: (line) => {
      h.lines.push(line);
      if (line.startsWith('migration:') && line.endsWith('exited 0')) {
        h.emu.faults.failHealthCheck({ image: 'staging_example_php_fpm:bad' });
      }
    },
  });
  failure(
    await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'bad', nginx: 'v1' }) }),
  );
  expect(running()).toEqual(['1 COMPLETED']);
  value(
    await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v3', nginx: 'v1' }) }),
  );
  expect(running()).toEqual(['3 COMPLETED']);
}

test('the target is the newest revision that completed, never the failed one', async () => {
  await historyWithAFailedRevision();
  const rolled = value(await rollback({ ...h.ctx(), service: 'php-fpm' }));
  expect(rolled.map((r) => r.to.split(':').at(-1))).toEqual(['1']);
  expect(running()).toEqual(['1 COMPLETED']);
});

test('a rollback that fails is reported as a failed rollback', async () => {
  await historyWithAFailedRevision();
  // Asked for explicitly, the failed revision fails again; the report says which command failed.
  const result = failure(await rollback({ ...h.ctx(), service: 'php-fpm', revision: 2 }));
  const text = describeAwsFailure(result);
  expect(text).toMatch(/^Rollback of staging failed/);
  expect(text).not.toContain('Deploy');
  expect(text).toContain('roll back again');
});
