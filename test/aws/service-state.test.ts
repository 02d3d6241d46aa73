/**
 * Errors that used to fall through to a generic "X failed" message: a deleted service (DRAINING,
 * then INACTIVE), ServiceNotActiveException from a service deleted mid-deploy,
 * ClusterNotFoundException and InvalidParameterException. Each says what is wrong and the command
 * that fixes it; a deleted service is refused before anything is registered or migrated.
 */
import { DeleteServiceCommand } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, test } from 'vitest';
import { deploy } from '../../src/aws/deploy.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { serviceSettings } from '../../src/environment.js';
import { callCount, createV1, failure, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  await createV1(h);
  return () => h.stop();
});

const nginx = () => serviceSettings(h.env, 'nginx').name;
const v2 = () => h.render({ phpFpm: 'v2', nginx: 'v2' });

async function deleteNginx() {
  await h.clients.ecs.send(
    new DeleteServiceCommand({ cluster: h.env.ecs.cluster, service: nginx(), force: true }),
  );
}

describe('a deleted service', () => {
  test('DRAINING: refused before registering or migrating, naming it and ENV:create', async () => {
    await deleteNginx();
    const result = failure(await deploy({ ...h.ctx(), taskDefinitions: await v2() }));
    expect(result).toMatchObject({
      reason: 'services-not-active',
      services: [{ name: nginx(), status: 'DRAINING' }],
    });
    const text = describeAwsFailure(result);
    expect(text).toContain(`${nginx()} is DRAINING`);
    expect(text).toContain('Nothing was registered, migrated or updated');
    expect(text).toContain('Wait until it is INACTIVE');
    expect(text).toContain('`npx task staging:create`');
    for (const call of ['RegisterTaskDefinition', 'RunTask', 'UpdateService']) {
      expect(callCount(h.emu, call)).toBe(0);
    }
  });

  test('INACTIVE: refused the same way, and says to recreate it', async () => {
    await deleteNginx();
    h.emuClock.advance(120);
    const result = failure(await deploy({ ...h.ctx(), taskDefinitions: await v2() }));
    expect(result).toMatchObject({ services: [{ name: nginx(), status: 'INACTIVE' }] });
    expect(describeAwsFailure(result)).toContain('Recreate it with `npx task staging:create`');
    expect(callCount(h.emu, 'RegisterTaskDefinition')).toBe(0);
  });

  test('deleted mid-deploy: ServiceNotActiveException says so and names the fix', async () => {
    const ctx = h.ctx({
      log: (line) => {
        h.lines.push(line);
        // Someone deletes nginx while php-fpm rolls out.
        if (line.includes('php-fpm: deployment') && line.endsWith('started')) {
          const record = h.emu.ecs.services.get(`${h.env.ecs.cluster}/${nginx()}`);
          if (record) record.status = 'DRAINING';
        }
      },
    });
    const result = failure(await deploy({ ...ctx, taskDefinitions: await v2() }));
    // php-fpm had moved: the report also says where it ended up (restore.ts).
    expect(result).toMatchObject({
      reason: 'update-refused',
      refused: { reason: 'aws-refused', code: 'ServiceNotActiveException' },
    });
    const text = describeAwsFailure(result, { environment: 'staging' });
    expect(text).toContain(`The service ${h.env.ecs.cluster}/${nginx()} is no longer ACTIVE`);
    expect(text).toContain('recreate it with `npx task staging:create`');
  });
});

describe('ECS refusals with a known fix', () => {
  test('ClusterNotFoundException names the region setting and ENV:create', async () => {
    const ctx = h.ctx({
      log: (line) => {
        h.lines.push(line);
        if (line.startsWith('migration: running')) h.emu.ecs.clusters.delete(h.env.ecs.cluster);
      },
    });
    const result = failure(await deploy({ ...ctx, taskDefinitions: await v2() }));
    expect(result).toMatchObject({
      reason: 'aws-refused',
      code: 'ClusterNotFoundException',
      action: 'ecs:RunTask',
    });
    const text = describeAwsFailure(result, { environment: 'staging' });
    expect(text).toContain("Check environments/staging.ts's aws.region and ecs.cluster");
    expect(text).toContain('create it with `npx task staging:create`');
  });

  test('InvalidParameterException repeats what ECS said and points at render and diff', async () => {
    const rendered = await v2();
    const nginxDefinition = rendered['nginx'];
    if (nginxDefinition === undefined) throw new Error('no nginx task definition');
    const broken = { ...rendered, nginx: { ...nginxDefinition, containerDefinitions: [] } };
    const result = failure(await deploy({ ...h.ctx(), taskDefinitions: broken }));
    expect(result).toMatchObject({
      reason: 'aws-refused',
      code: 'InvalidParameterException',
      action: 'ecs:RegisterTaskDefinition',
    });
    const text = describeAwsFailure(result, { environment: 'staging' });
    expect(text).toContain('containerDefinitions');
    expect(text).toContain('`npx task staging:render` and `npx task staging:diff`');
  });
});
