/**
 * The task-definition comparison, pure: what DescribeTaskDefinition returns for a definition we
 * registered must compare equal to the rendered one, and a real change must show as exactly that.
 */
import type { RegisterTaskDefinitionCommandInput, TaskDefinition } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  chooseRevision,
  describeChanges,
  diffTaskDefinitions,
} from '../../src/aws/task-definitions.js';
import staging from '../../environments/staging.js';
import { renderFor } from './render.js';

let rendered: RegisterTaskDefinitionCommandInput;

beforeAll(async () => {
  const { phpFpm } = await renderFor(staging, { phpFpm: 'v1', nginx: 'v1' });
  if (phpFpm === undefined) throw new Error('staging renders no phpFpm');
  rendered = phpFpm;
});

/** The rendered definition as ECS hands it back: server fields, defaults, reordered lists. */
function asEcsReturnsIt(def: RegisterTaskDefinitionCommandInput, revision = 1): TaskDefinition {
  const containers = (def.containerDefinitions ?? []).map((c) => ({
    ...c,
    cpu: 0,
    mountPoints: [],
    volumesFrom: [],
    systemControls: [],
    environment: [...(c.environment ?? [])].reverse(),
    portMappings: (c.portMappings ?? []).map((m) => ({ ...m, hostPort: m.containerPort })),
    logConfiguration: { ...c.logConfiguration, logDriver: 'awslogs' as const, secretOptions: [] },
  }));
  return {
    ...def,
    containerDefinitions: containers,
    taskDefinitionArn: `arn:aws:ecs:eu-west-1:123456789012:task-definition/${def.family ?? ''}:${revision}`,
    revision,
    status: 'ACTIVE',
    volumes: [],
    placementConstraints: [],
    compatibilities: ['EC2', 'FARGATE'],
    requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.logging-driver.awslogs' }],
    registeredAt: new Date(0),
    registeredBy: 'arn:aws:iam::123456789012:user/deployer',
  };
}

describe('diffTaskDefinitions', () => {
  test('a definition ECS returns equals the one we rendered', () => {
    expect(diffTaskDefinitions(asEcsReturnsIt(rendered), rendered)).toEqual([]);
  });

  test('cpu and memory as numbers equal the strings ECS stores; essential defaults to true', () => {
    const [container] = rendered.containerDefinitions ?? [];
    const loose = {
      ...rendered,
      cpu: 256 as unknown as string,
      memory: 512 as unknown as string,
      containerDefinitions: [{ ...container, essential: undefined }],
    };
    expect(diffTaskDefinitions(asEcsReturnsIt(rendered), loose)).toEqual([]);
  });

  test('an image change is exactly one change, named by container', () => {
    const [container] = rendered.containerDefinitions ?? [];
    const changed = {
      ...rendered,
      containerDefinitions: [{ ...container, image: 'registry/php:v2', name: 'php-fpm' }],
    };
    const changes = diffTaskDefinitions(asEcsReturnsIt(rendered), changed);
    expect(changes).toEqual([
      {
        path: 'containerDefinitions[php-fpm].image',
        kind: 'changed',
        before: JSON.stringify(container?.image),
        after: '"registry/php:v2"',
      },
    ]);
    expect(describeChanges(changes)[0]).toMatch(/^ {2}~ containerDefinitions\[php-fpm\]\.image: /);
  });

  test('environment variables are compared by name: added, removed, changed', () => {
    const [container] = rendered.containerDefinitions ?? [];
    const env = (container?.environment ?? []).filter((e) => e.name !== 'APP_DEBUG');
    const changed = {
      ...rendered,
      containerDefinitions: [
        {
          ...container,
          name: 'php-fpm',
          environment: [
            ...env.map((e) => (e.name === 'APP_ENV' ? { ...e, value: 'qa' } : e)),
            { name: 'NEW_FLAG', value: '1' },
          ],
        },
      ],
    };
    const changes = diffTaskDefinitions(asEcsReturnsIt(rendered), changed);
    expect(changes.map((c) => [c.kind, c.path])).toEqual([
      ['removed', 'containerDefinitions[php-fpm].environment[APP_DEBUG].value'],
      ['changed', 'containerDefinitions[php-fpm].environment[APP_ENV].value'],
      ['added', 'containerDefinitions[php-fpm].environment[NEW_FLAG].value'],
    ]);
  });

  test('the init process: false as ECS may show it equals absent; turning it on is one change', () => {
    const [container] = rendered.containerDefinitions ?? [];
    expect(container?.linuxParameters).toEqual({ initProcessEnabled: true });
    const withoutInit = {
      ...rendered,
      containerDefinitions: [{ ...container, name: 'php-fpm', linuxParameters: undefined }],
    };
    // What an API that fills in every member answers for a definition sent without it.
    const shownFalse = asEcsReturnsIt({
      ...rendered,
      containerDefinitions: [
        {
          ...container,
          name: 'php-fpm',
          linuxParameters: {
            capabilities: { add: [], drop: [] },
            devices: [],
            initProcessEnabled: false,
            tmpfs: [],
          },
        },
      ],
    });
    expect(diffTaskDefinitions(shownFalse, withoutInit)).toEqual([]);
    expect(diffTaskDefinitions(shownFalse, rendered)).toEqual([
      {
        path: 'containerDefinitions[php-fpm].linuxParameters.initProcessEnabled',
        kind: 'added',
        after: 'true',
      },
    ]);
  });
});

describe('chooseRevision', () => {
  test('reuses the running revision, then the latest ACTIVE one, else registers', () => {
    const v1 = asEcsReturnsIt(rendered, 1);
    const other = asEcsReturnsIt({ ...rendered, cpu: '512', memory: '1024' }, 2);
    expect(chooseRevision(rendered, v1, other)).toEqual({
      kind: 'reuse',
      arn: v1.taskDefinitionArn,
      why: 'running',
    });
    expect(chooseRevision(rendered, other, v1)).toEqual({
      kind: 'reuse',
      arn: v1.taskDefinitionArn,
      why: 'latest',
    });
    const choice = chooseRevision(rendered, other, other);
    expect(choice.kind).toBe('register');
    if (choice.kind === 'register')
      expect(choice.changes.map((c) => c.path)).toEqual(['cpu', 'memory']);
    expect(chooseRevision(rendered, undefined, undefined)).toEqual({
      kind: 'register',
      changes: [],
      against: undefined,
    });
  });
});
