/**
 * ENV:diff's unified diff and deploy's reconciling of service settings, against the emulator:
 * settings that differ go out in one UpdateService (nothing else), unchanged ones send nothing;
 * alarms and tags from the environment reach ECS.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { deploy } from '../../src/aws/deploy.js';
import { runOneOff } from '../../src/aws/one-off.js';
import { describeUnifiedDiff, unifiedServiceDiff } from '../../src/aws/service-diff.js';
import { unifiedDiff } from '../../src/aws/unified-diff.js';
import type { EcsEnvironment } from '../../src/environment.js';
import { callCount, createV1, startHarness, value, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  return () => h.stop();
});

function sent(operation: string) {
  return h.emu.requests
    .filter((r) => r.operation === operation)
    .map((r) => r.input as Record<string, unknown>);
}

describe('unified diff', () => {
  test('hunks with context, plain or coloured', () => {
    const from = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const to = 'a\nb\nc\nD\ne\nf\ng\nh\ni\n';
    expect(unifiedDiff(from, to, { fromLabel: 'live', toLabel: 'rendered' })).toBe(
      [
        '--- live',
        '+++ rendered',
        '@@ -1,8 +1,9 @@',
        ' a',
        ' b',
        ' c',
        '-d',
        '+D',
        ' e',
        ' f',
        ' g',
        ' h',
        '+i',
      ].join('\n'),
    );
    expect(unifiedDiff(from, from, { fromLabel: 'a', toLabel: 'b' })).toBe('');
    const coloured = unifiedDiff(from, to, { fromLabel: 'live', toLabel: 'rendered', color: true });
    expect(coloured).toContain('\u001b[31m-d\u001b[0m');
    expect(coloured).toContain('\u001b[32m+D\u001b[0m');
  });
});

describe('service settings', () => {
  test('unchanged: diff shows none and deploy sends no UpdateService', async () => {
    await createV1(h);
    const diffs = value(
      await unifiedServiceDiff({
        ...h.ctx(),
        taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }),
      }),
    );
    expect(diffs.map((d) => [d.taskDefinition, d.settings])).toEqual([
      ['', ''],
      ['', ''],
    ]);
    expect(describeUnifiedDiff(diffs)).toContain('service settings: same as live');
    value(
      await deploy({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
    );
    expect(callCount(h.emu, 'UpdateService')).toBe(0);
  });

  test('changed settings: diff shows them; deploy sends one UpdateService each, carrying them, and nothing the next time', async () => {
    await createV1(h);
    const env: EcsEnvironment = {
      ...h.env,
      network: { ...h.env.network, subnets: ['subnet-0a1b2c3d4e5f60718'], assignPublicIp: true },
      deploy: { ...h.env.deploy, alarms: { names: ['staging-5xx'], rollback: true } },
    };
    const rendered = await h.render({ phpFpm: 'v1', nginx: 'v1' });
    const [phpFpm] = value(
      await unifiedServiceDiff({ ...h.ctx({ env }), taskDefinitions: rendered }),
    );
    expect(phpFpm?.taskDefinition).toBe('');
    expect(phpFpm?.settings).toContain('-      "assignPublicIp": "DISABLED"');
    expect(phpFpm?.settings).toContain('+      "assignPublicIp": "ENABLED"');
    expect(phpFpm?.settings).toContain('+        "staging-5xx"');
    expect(phpFpm?.settings).toContain('-        "subnet-0b2c3d4e5f6071829"');

    value(await deploy({ ...h.ctx({ env }), taskDefinitions: rendered }));
    const updates = sent('UpdateService');
    expect(updates).toHaveLength(2);
    expect(updates[0]).toMatchObject({
      networkConfiguration: {
        awsvpcConfiguration: { subnets: ['subnet-0a1b2c3d4e5f60718'], assignPublicIp: 'ENABLED' },
      },
      deploymentConfiguration: {
        alarms: { alarmNames: ['staging-5xx'], enable: true, rollback: true },
      },
      propagateTags: 'SERVICE',
    });
    // The revision it already ran: only the settings change.
    expect(updates[0]?.['taskDefinition']).toMatch(/example-staging-php-fpm:1$/);
    expect(callCount(h.emu, 'RegisterTaskDefinition')).toBe(0);
    expect(callCount(h.emu, 'RunTask')).toBe(0);

    h.forget();
    value(await deploy({ ...h.ctx({ env }), taskDefinitions: rendered }));
    expect(callCount(h.emu, 'UpdateService')).toBe(0);
  });

  test('tags from the environment on task definitions, services and one-off tasks', async () => {
    const env: EcsEnvironment = { ...h.env, tags: { team: 'web', 'cost-center': '42' } };
    await createV1(h, env);
    const tags = [
      { key: 'team', value: 'web' },
      { key: 'cost-center', value: '42' },
    ];
    h.emu.ecs.tasks.clear();
    const registered = h.emu.requests.filter((r) => r.operation === 'RegisterTaskDefinition');
    expect(registered.length).toBeGreaterThan(0);
    for (const r of registered) expect((r.input as { tags?: unknown }).tags).toEqual(tags);
    for (const r of h.emu.requests.filter((q) => q.operation === 'CreateService')) {
      expect((r.input as { tags?: unknown }).tags).toEqual(expect.arrayContaining(tags));
      expect((r.input as { propagateTags?: unknown }).propagateTags).toBe('SERVICE');
    }
    value(
      await runOneOff({ ...h.ctx({ env }), service: 'example-staging-php-fpm', command: ['true'] }),
    );
    const run = sent('RunTask').at(-1);
    expect(run?.['tags']).toEqual(tags);
    expect(run?.['propagateTags']).toBe('TASK_DEFINITION');
  });
});
