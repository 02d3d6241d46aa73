/**
 * Two deploys of one environment at once, against an emulator whose reads lag writes: one runs,
 * the other refuses naming it (who, since when) before registering, migrating or updating
 * anything, and the lock is gone afterwards.
 */
import { afterEach, expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { deploy } from '../../src/aws/deploy.js';
import { liveLocks } from '../../src/aws/deploy-lock.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { callCount, startHarness, value, type Harness } from './harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

test('two deploys started together: one deploys, the other refuses naming it and changes nothing', async () => {
  const world = await startHarness({ readLag: { seed: 11, maxSeconds: 5 } });
  h = world;
  value(
    await create({
      ...world.ctx(),
      taskDefinitions: await world.render({ phpFpm: 'v1', nginx: 'v1' }),
    }),
  );
  (world.emu.calls as string[]).length = 0;
  const [a, b] = await Promise.all([
    deploy({ ...world.ctx(), taskDefinitions: await world.render({ phpFpm: 'v2', nginx: 'v2' }) }),
    deploy({ ...world.ctx(), taskDefinitions: await world.render({ phpFpm: 'v3', nginx: 'v3' }) }),
  ]);
  const results = [a, b];
  const won = results.filter((r) => r.ok);
  const lost = results.flatMap((r) => (r.ok ? [] : [r.failure]));
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(1);
  expect(lost[0]).toMatchObject({ reason: 'deploy-locked', environment: 'staging' });
  expect(describeAwsFailure((lost[0] ?? a.ok) ? (lost[0] as never) : a.failure)).toMatch(
    /Another deploy of staging is running: started by \S+@\S+ at \d{4}-\d\d-\d\dT.*Nothing was changed/,
  );
  // Only the winner registered (two families), migrated once and updated its two services.
  expect(callCount(world.emu, 'RegisterTaskDefinition')).toBe(2);
  expect(callCount(world.emu, 'RunTask')).toBe(1);
  expect(callCount(world.emu, 'UpdateService')).toBe(2);
  // Both locks are gone: the winner released its own, the loser removed its attempt.
  const cluster = world.emu.ecs.clusters.get(world.env.ecs.cluster);
  expect(
    liveLocks((cluster?.sent['tags'] as never[] | undefined) ?? [], world.emuClock.now()),
  ).toEqual([]);
});

test('liveLocks: earliest first, expired ones ignored', () => {
  const tag = (id: string, since: string, expires: string) => ({
    key: `taskgraph:lock:${id}`,
    value: `ci@runner ${since} ${expires}`,
  });
  const now = Date.parse('2026-01-01T00:10:00Z');
  expect(
    liveLocks(
      [
        tag('b', '2026-01-01T00:05:00.000Z', '2026-01-01T01:00:00.000Z'),
        tag('a', '2026-01-01T00:06:00.000Z', '2026-01-01T01:00:00.000Z'),
        tag('c', '2026-01-01T00:01:00.000Z', '2026-01-01T00:09:00.000Z'),
        { key: 'taskgraph:environment', value: 'staging' },
      ],
      now,
    ).map((l) => l.runId),
  ).toEqual(['b', 'a']);
});
