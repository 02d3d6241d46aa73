/**
 * A deploy's dry run against the emulator: the plan (images, registration with its changes, the
 * migration, the stages) from read calls only; the emulator records no write call.
 */
import { beforeEach, expect, test } from 'vitest';
import { describeDryRun, dryRun } from '../../src/aws/dry-run.js';
import { createV1, startHarness, value, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  await createV1(h);
  return () => h.stop();
});

test('a source change: would register php-fpm and migrate, update php-fpm only; no write call', async () => {
  const env = { ...h.env, network: { ...h.env.network, assignPublicIp: true } };
  const plan = value(
    await dryRun({
      ...h.ctx({ env }),
      taskDefinitions: await h.render({ phpFpm: 'v2', nginx: 'v1' }),
    }),
  );
  expect(h.emu.writeCalls).toEqual([]);
  expect(h.emu.calls.length).toBeGreaterThan(0);
  expect(plan.services.map((s) => [s.service, s.revision.kind, s.settingsDiffer])).toEqual([
    ['example-staging-php-fpm', 'register', true],
    ['example-staging-nginx', 'reuse', true],
  ]);
  expect(plan.migrate?.command).toEqual(['php', 'artisan', 'migrate', '--force']);
  expect(plan.stages).toEqual([['example-staging-php-fpm'], ['example-staging-nginx']]);
  const text = describeDryRun(plan);
  expect(text).toContain(
    'example-staging-php-fpm: would register a new revision (changed from example-staging-php-fpm:1)',
  );
  expect(text).toContain('staging_example_php_fpm:v2');
  expect(text).toContain('migration: would run ["php","artisan","migrate","--force"]');
  expect(text).toContain(
    'services: stage 1: example-staging-php-fpm; stage 2: example-staging-nginx',
  );
});

test('nothing changed: nothing would be updated and the migration would not run', async () => {
  const plan = value(
    await dryRun({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
  );
  expect(h.emu.writeCalls).toEqual([]);
  expect(plan.stages).toEqual([]);
  expect(plan.migrate).toBeUndefined();
  expect(describeDryRun(plan)).toContain('services: none would be updated');
});
