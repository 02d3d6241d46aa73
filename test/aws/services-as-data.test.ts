/**
 * Services are data: staging with a queue worker added in the environment only (no load balancer,
 * the php-fpm image with its own command, a stage of its own) is created, deployed, reported,
 * rolled back and scaled by the same code as php-fpm and nginx, which never names it.
 */
import { beforeEach, expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { deploy, describeDeploy } from '../../src/aws/deploy.js';
import { rollback } from '../../src/aws/rollback.js';
import { scale } from '../../src/aws/scale.js';
import { describeStatus, status } from '../../src/aws/status.js';
import { withWorker } from '../support/worker-environment.js';
import { value, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness({ environment: withWorker });
  return () => h.stop();
});

const WORKER = 'example-staging-worker';

function worker() {
  const sim = h.emu.service(h.env.ecs.cluster, WORKER);
  if (sim === undefined) throw new Error('no worker service');
  return sim;
}

const revisions = () =>
  worker().deployments.map((d) => `${d.taskDefinition.split(':').at(-1) ?? ''} ${d.rolloutState}`);

test('a third service without a load balancer is created, deployed, reported and rolled back', async () => {
  const v1 = await h.render({ phpFpm: 'v1', nginx: 'v1' });
  const created = value(await create({ ...h.ctx(), taskDefinitions: v1 }));
  expect(created.created.map((c) => c.service)).toEqual([
    'example-staging-php-fpm',
    'example-staging-nginx',
    WORKER,
  ]);
  // No load balancer, so neither target group nor grace period is sent.
  const sent = h.emu.ecs.services.get(`${h.env.ecs.cluster}/${WORKER}`)?.sent;
  expect(sent).toMatchObject({ launchType: 'FARGATE' });
  expect(sent).not.toHaveProperty('loadBalancers');
  expect(sent).not.toHaveProperty('healthCheckGracePeriodSeconds');

  const deployed = value(
    await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v1' }) }),
  );
  // The worker runs the php-fpm image: a new php-fpm build moves it too, in its own last stage.
  expect(deployed.services.map((s) => [s.service, s.to.split(':').at(-1)])).toEqual([
    ['example-staging-php-fpm', '2'],
    [WORKER, '2'],
  ]);
  expect(describeDeploy(deployed)).toContain(
    `${WORKER}: example-staging-worker:1 -> example-staging-worker:2 (new revision)`,
  );
  expect(revisions()).toEqual(['2 COMPLETED']);

  const text = describeStatus(value(await status(h.ctx())));
  expect(text).toContain(`${WORKER}: ${WORKER}:2, desired 1, running 1`);

  const rolled = value(await rollback({ ...h.ctx(), service: 'worker' }));
  expect(rolled.map((r) => [r.service, r.to.split(':').at(-1)])).toEqual([[WORKER, '1']]);
  expect(revisions()).toEqual(['1 COMPLETED']);

  value(await scale({ ...h.ctx(), service: 'worker', count: 3 }));
  expect(worker().desiredCount).toBe(3);
});
