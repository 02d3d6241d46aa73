/**
 * DescribeTaskDefinition as ECS really answers it: defaults filled in, cpu and memory as strings
 * (vCPU/GB forms converted), hostPort filled in awsvpc mode, requiresAttributes, compatibilities,
 * registeredAt, status and revision. "Register only when changed" is tested against that shape:
 * a second deploy with nothing changed registers, migrates and updates nothing.
 */
import { DescribeTaskDefinitionCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { beforeEach, describe, expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { deploy } from '../../src/aws/deploy.js';
import { diffTaskDefinitions } from '../../src/aws/task-definitions.js';
import { callCount, startHarness, value, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  return () => h.stop();
});

describe('the emulator returns what ECS stores, not what was sent', () => {
  test('defaults, string sizes, host ports and server fields', async () => {
    const rendered = (await h.render({ phpFpm: 'v1', nginx: 'v1' }))['nginx'];
    if (rendered === undefined) throw new Error('no nginx task definition');
    const sent = { ...rendered, cpu: '0.25 vCPU', memory: '0.5 GB' };
    await h.clients.ecs.send(new RegisterTaskDefinitionCommand(sent));
    const { taskDefinition: described } = await h.clients.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: rendered.family ?? '' }),
    );
    expect(described).toMatchObject({
      cpu: '256',
      memory: '512',
      revision: 1,
      status: 'ACTIVE',
      compatibilities: ['EC2', 'FARGATE'],
      volumes: [],
      placementConstraints: [],
    });
    expect(described?.registeredAt).toBeInstanceOf(Date);
    expect(described?.requiresAttributes?.map((a) => a.name)).toContain('ecs.capability.task-eni');
    const container = described?.containerDefinitions?.[0];
    expect(container).toMatchObject({ cpu: 0, essential: true, mountPoints: [], volumesFrom: [] });
    expect(container?.portMappings?.[0]).toMatchObject({ hostPort: 80, protocol: 'tcp' });
    expect(container?.logConfiguration?.secretOptions).toEqual([]);
    // Naively compared, the two differ; normalised, they are the same definition.
    expect(JSON.stringify(described?.containerDefinitions)).not.toBe(
      JSON.stringify(sent.containerDefinitions),
    );
    if (described === undefined) throw new Error('nothing described');
    expect(diffTaskDefinitions(described, sent)).toEqual([]);
  });

  test('linuxParameters: the init process the php-fpm definition asks for comes back on', async () => {
    const rendered = (await h.render({ phpFpm: 'v1', nginx: 'v1' }))['phpFpm'];
    if (rendered === undefined) throw new Error('no php-fpm task definition');
    await h.clients.ecs.send(new RegisterTaskDefinitionCommand(rendered));
    const { taskDefinition: described } = await h.clients.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: rendered.family ?? '' }),
    );
    expect(described?.containerDefinitions?.[0]?.linuxParameters).toMatchObject({
      initProcessEnabled: true,
      devices: [],
      tmpfs: [],
    });
    if (described === undefined) throw new Error('nothing described');
    expect(diffTaskDefinitions(described, rendered)).toEqual([]);
  });
});

describe('register only when changed, against the normalised shape', () => {
  test('a second deploy with nothing changed registers, migrates and updates nothing', async () => {
    // Sizes written as a user might ("0.5 vCPU", "1 GB"): ECS stores "512" and "1024".
    const rendered = await h.render({ phpFpm: 'v1', nginx: 'v1' });
    const withUnits = Object.fromEntries(
      Object.entries(rendered).map(([key, def]) => [
        key,
        { ...def, cpu: '0.5 vCPU', memory: '1 GB' },
      ]),
    );
    value(await create({ ...h.ctx(), taskDefinitions: withUnits }));
    const v2 = await h.render({ phpFpm: 'v2', nginx: 'v2' });
    const first = value(await deploy({ ...h.ctx(), taskDefinitions: v2 }));
    expect(first.outcome).toBe('deployed');
    h.forget();

    const second = value(await deploy({ ...h.ctx(), taskDefinitions: v2 }));
    expect(second.outcome).toBe('unchanged');
    expect(callCount(h.emu, 'RegisterTaskDefinition')).toBe(0);
    expect(callCount(h.emu, 'RunTask')).toBe(0);
    expect(callCount(h.emu, 'UpdateService')).toBe(0);

    // And the vCPU/GB-written definitions, deployed again, are recognised as the running ones.
    value(await deploy({ ...h.ctx(), taskDefinitions: withUnits }));
    h.forget();
    const again = value(await deploy({ ...h.ctx(), taskDefinitions: withUnits }));
    expect(again.outcome).toBe('unchanged');
    expect(callCount(h.emu, 'RegisterTaskDefinition')).toBe(0);
  });
});
