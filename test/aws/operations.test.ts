/**
 * The day-two commands against the emulator: rollback, status, diff, deregister and scale.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { serviceSettings } from '../../src/environment.js';
import { create } from '../../src/aws/create.js';
import { deploy } from '../../src/aws/deploy.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { deregister, describeDeregister, planDeregister } from '../../src/aws/revisions.js';
import { describeRollback, resolveServiceKey, rollback } from '../../src/aws/rollback.js';
import { describeScale, scale } from '../../src/aws/scale.js';
import { describeDiff, describeStatus, diff, status } from '../../src/aws/status.js';
import { callCount, createV1, startHarness, value, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  return () => h.stop();
});

const revision = (arn: string | undefined) => arn?.split(':').at(-1);

function running(key: string) {
  const sim = h.emu.service(h.env.ecs.cluster, serviceSettings(h.env, key).name);
  return sim?.deployments.map((d) => `${revision(d.taskDefinition) ?? ''} ${d.rolloutState}`);
}

/** create on v1, then deploy php-fpm v2 and v3 (nginx stays on revision 1). */
async function threeRevisions() {
  value(
    await create({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
  );
  for (const tag of ['v2', 'v3']) {
    value(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: tag, nginx: 'v1' }) }),
    );
  }
  h.lines.length = 0;
}

describe('rollback', () => {
  test('to the previous revision, or to a named one', async () => {
    await threeRevisions();
    const back = value(await rollback({ ...h.ctx() }));
    expect(back.map((r) => [r.service, revision(r.from), revision(r.to)])).toEqual([
      ['example-staging-php-fpm', '3', '2'],
    ]);
    expect(describeRollback(back)).toContain(
      'rolled back example-staging-php-fpm:3 -> example-staging-php-fpm:2',
    );
    expect(running('phpFpm')).toEqual(['2 COMPLETED']);
    expect(h.lines).toContain(
      'example-staging-nginx: no earlier ACTIVE revision than arn:aws:ecs:eu-west-1:123456789012:task-definition/example-staging-nginx:1, left as it is',
    );

    value(await rollback({ ...h.ctx(), service: 'php-fpm', revision: 3 }));
    expect(running('phpFpm')).toEqual(['3 COMPLETED']);
  });

  test('nothing earlier to go to, or an unknown revision, is a clear failure', async () => {
    value(
      await create({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
    );
    const none = await rollback({ ...h.ctx(), service: 'nginx' });
    expect(none.ok ? '' : describeAwsFailure(none.failure)).toMatch(
      /no earlier ACTIVE revision of example-staging-nginx/,
    );
    const unknown = await rollback({ ...h.ctx(), service: 'nginx', revision: 7 });
    expect(unknown.ok ? '' : describeAwsFailure(unknown.failure)).toContain(
      'example-staging-nginx:7 does not exist',
    );
  });

  test('resolveServiceKey', () => {
    expect(
      ['phpFpm', 'php-fpm', 'example-staging-php-fpm', 'nginx'].map((s) =>
        resolveServiceKey(h.env, s),
      ),
    ).toEqual(['phpFpm', 'phpFpm', 'phpFpm', 'nginx']);
    expect(resolveServiceKey(h.env, 'redis')).toBeUndefined();
  });
});

describe('status and diff', () => {
  test('status lists services, deployments, revisions and image tags', async () => {
    const before = value(await status(h.ctx()));
    expect(describeStatus(before)).toContain('cluster example-staging does not exist');
    await threeRevisions();
    const report = value(await status(h.ctx()));
    const php = report.services.find((s) => s.key === 'phpFpm');
    expect(php?.deployments[0]).toMatchObject({
      status: 'PRIMARY',
      rolloutState: 'COMPLETED',
      running: 1,
    });
    expect(php?.deployments[0]?.images[0]).toMatch(/staging_example_php_fpm:v3$/);
    expect(php?.revisions.map(revision)).toEqual(['3', '2', '1']);
    const text = describeStatus(report);
    expect(text).toContain(
      'example-staging-php-fpm: example-staging-php-fpm:3, desired 1, running 1',
    );
    expect(text).toContain('staging_example_php_fpm:v3');
    expect(text).toContain('revisions (ACTIVE): 3, 2, 1');
  });

  test('diff shows the rendered definitions against the live ones and changes nothing', async () => {
    await createV1(h);
    const diffs = value(
      await diff({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v1' }) }),
    );
    expect(diffs.map((d) => [d.family, d.changes.map((c) => c.path)])).toEqual([
      ['example-staging-php-fpm', ['containerDefinitions[php-fpm].image']],
      ['example-staging-nginx', []],
    ]);
    const text = describeDiff(diffs);
    expect(text).toContain(
      'example-staging-php-fpm: 1 change(s) against example-staging-php-fpm:1',
    );
    expect(text).toMatch(/~ containerDefinitions\[php-fpm\]\.image: ".*:v1" -> ".*:v2"/);
    expect(text).toContain('example-staging-nginx: same as example-staging-nginx:1');
    for (const write of ['RegisterTaskDefinition', 'UpdateService', 'RunTask']) {
      expect(callCount(h.emu, write)).toBe(0);
    }
  });
});

describe('deregister', () => {
  test('keeps the newest N and never a revision in use', async () => {
    await threeRevisions();
    value(await rollback({ ...h.ctx(), service: 'phpFpm', revision: 1 }));
    const results = value(await deregister({ ...h.ctx(), keep: 1 }));
    const php = results.find((r) => r.key === 'phpFpm');
    // 3 is the newest (kept), 1 is in use (kept), 2 goes.
    expect(php?.deregistered.map(revision)).toEqual(['2']);
    expect(php?.kept.map(revision)).toEqual(['3', '1']);
    expect(results.find((r) => r.key === 'nginx')?.deregistered).toEqual([]);
    expect(describeDeregister(results)).toContain(
      'example-staging-php-fpm: deregistered 2; kept 3, 1',
    );
    const defs = h.emu.ecs.taskDefinitions.get('example-staging-php-fpm') ?? [];
    expect(defs.map((d) => d.status)).toEqual(['ACTIVE', 'INACTIVE', 'ACTIVE']);
  });

  test('planDeregister', () => {
    const arn = (n: number) => `f:${n}`;
    expect(planDeregister([arn(1), arn(2), arn(3), arn(4)], new Set([arn(1)]), 2)).toEqual([
      arn(2),
    ]);
    expect(planDeregister([arn(1)], new Set(), 0)).toEqual([arn(1)]);
  });
});

describe('scale', () => {
  test('sets the desired count and waits until it holds', async () => {
    value(
      await create({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
    );
    const scaled = value(await scale({ ...h.ctx(), service: 'php-fpm', count: 3 }));
    expect(describeScale(scaled)).toBe(
      'example-staging-php-fpm: scaled from 1 to 3 tasks, all running',
    );
    const sim = h.emu.service(h.env.ecs.cluster, 'example-staging-php-fpm');
    expect(sim?.tasks.filter((t) => t.phase === 'RUNNING')).toHaveLength(3);
    expect(h.lines.some((l) => l.includes('has started 2 tasks'))).toBe(true);
    value(await scale({ ...h.ctx(), service: 'php-fpm', count: 1 }));
    expect(
      h.emu
        .service(h.env.ecs.cluster, 'example-staging-php-fpm')
        ?.tasks.filter((t) => t.phase === 'RUNNING'),
    ).toHaveLength(1);
  });

  test('an unknown service is named', async () => {
    const result = await scale({ ...h.ctx(), service: 'redis', count: 2 });
    expect(result.ok ? '' : describeAwsFailure(result.failure)).toContain(
      'No service "redis" in environment staging',
    );
  });
});
