import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeRenderFailure } from '../../src/render/failure.js';
import { checkTaskDefinition, isFargateSize } from '../../src/render/task-definition.js';
import { withChanges } from './with-changes.js';

const golden = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../golden/staging/ecs');
const phpFpmImage =
  '123456789012.dkr.ecr.eu-west-1.amazonaws.com/staging_example_php_fpm:0123456789ab';
const nginxImage =
  '123456789012.dkr.ecr.eu-west-1.amazonaws.com/staging_example_nginx:0123456789ab';
const allowedImages = [phpFpmImage, nginxImage];

interface Rendered {
  containerDefinitions: unknown[];
}

/** php-fpm's rendered task definition with nginx's container added: two containers to break. */
let base: unknown;
beforeAll(async () => {
  const read = async (file: string) =>
    JSON.parse(await readFile(path.join(golden, file), 'utf8')) as Rendered;
  const phpFpm = await read('php-fpm.json');
  const nginx = await read('nginx.json');
  base = {
    ...phpFpm,
    cpu: '512',
    memory: '1024',
    containerDefinitions: [...phpFpm.containerDefinitions, ...nginx.containerDefinitions],
  };
});

function problems(changes: Record<string, unknown>) {
  const check = checkTaskDefinition(withChanges(base, changes), { allowedImages });
  return check.ok ? [] : check.problems;
}

describe('checkTaskDefinition', () => {
  it('accepts the rendered task definitions', () => {
    expect(problems({})).toEqual([]);
  });

  it('knows the Fargate cpu/memory table', () => {
    expect(isFargateSize(256, 2048)).toBe(true);
    expect(isFargateSize(256, 3072)).toBe(false);
    expect(isFargateSize(512, 4096)).toBe(true);
    expect(isFargateSize(1024, 8192)).toBe(true);
    expect(isFargateSize(2048, 5120)).toBe(true);
    expect(isFargateSize(4096, 30720)).toBe(true);
    expect(isFargateSize(4096, 31744)).toBe(false);
    expect(isFargateSize(8192, 20480)).toBe(true);
    expect(isFargateSize(8192, 17408)).toBe(false);
    expect(isFargateSize(16384, 122880)).toBe(true);
  });

  it('rejects a cpu/memory pair Fargate does not offer', () => {
    expect(problems({ memory: '512' })).toEqual([
      {
        path: 'memory',
        message: 'expected one of 1024|2048|3072|4096 with cpu "512" on FARGATE, found "512"',
      },
    ]);
    expect(problems({ cpu: '300' })).toEqual([
      {
        path: 'cpu',
        message: 'expected one of 256|512|1024|2048|4096|8192|16384 for FARGATE, found "300"',
      },
    ]);
    expect(problems({ cpu: 512 })).toEqual([
      { path: 'cpu', message: 'expected a string, found number' },
    ]);
  });

  it('rejects duplicate container names', () => {
    expect(problems({ 'containerDefinitions[1].name': 'php-fpm' })).toEqual([
      {
        path: 'containerDefinitions[1].name',
        message: 'duplicate container name "php-fpm" (also containerDefinitions[0].name)',
      },
    ]);
  });

  it('requires at least one essential container', () => {
    expect(
      problems({
        'containerDefinitions[0].essential': false,
        'containerDefinitions[1].essential': false,
      }),
    ).toEqual([
      {
        path: 'containerDefinitions',
        message: 'at least one container must be essential (essential: true)',
      },
    ]);
  });

  it('rejects a hostPort that differs from containerPort in awsvpc mode', () => {
    expect(problems({ 'containerDefinitions[1].portMappings[0].hostPort': 8080 })).toEqual([
      {
        path: 'containerDefinitions[1].portMappings[0].hostPort',
        message: 'must be absent or equal containerPort (80) in awsvpc network mode, found 8080',
      },
    ]);
    expect(problems({ 'containerDefinitions[1].portMappings[0].hostPort': 80 })).toEqual([]);
  });

  it('requires a log configuration, and the awslogs options Fargate needs', () => {
    expect(problems({ 'containerDefinitions[0].logConfiguration': undefined })).toEqual([
      {
        path: 'containerDefinitions[0].logConfiguration',
        message: "is required: without it the container's output is lost (use the awslogs driver)",
      },
    ]);
    expect(
      problems({
        'containerDefinitions[1].logConfiguration.options.awslogs-stream-prefix': undefined,
      }),
    ).toEqual([
      {
        path: 'containerDefinitions[1].logConfiguration.options.awslogs-stream-prefix',
        message: 'is required by the awslogs driver',
      },
    ]);
  });

  it('accepts only images this run built', () => {
    const latest = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/staging_example_php_fpm:latest';
    expect(problems({ 'containerDefinitions[0].image': latest })).toEqual([
      {
        path: 'containerDefinitions[0].image',
        message: `"${latest}" is not an image this run built (built: ${phpFpmImage}, ${nginxImage})`,
      },
    ]);
  });

  it('rejects fields RegisterTaskDefinition does not know, and Fargate outside awsvpc', () => {
    expect(
      problems({ 'containerDefinitions[0].memoryReservaton': 256, networkMode: 'bridge' }),
    ).toEqual([
      { path: 'networkMode', message: 'FARGATE requires "awsvpc", found "bridge"' },
      {
        path: 'containerDefinitions[0].memoryReservaton',
        message: 'is not a RegisterTaskDefinition field',
      },
    ]);
  });

  it('requires family and container name and image', () => {
    expect(
      problems({
        family: undefined,
        'containerDefinitions[1].image': undefined,
        'containerDefinitions[1].name': undefined,
      }),
    ).toEqual([
      { path: 'family', message: 'is required (the task definition family)' },
      { path: 'containerDefinitions[1].name', message: 'is required (a container name)' },
      { path: 'containerDefinitions[1].image', message: 'is required (an image reference)' },
    ]);
  });

  it('checks secrets are references and names are unique across environment and secrets', () => {
    expect(
      problems({
        'containerDefinitions[0].secrets[0].valueFrom': 'plain secret value',
        'containerDefinitions[0].secrets[1].name': 'APP_ENV',
      }),
    ).toEqual([
      {
        path: 'containerDefinitions[0].secrets[0].valueFrom',
        message: 'expected an SSM parameter or Secrets Manager ARN, found "plain secret value"',
      },
      {
        path: 'containerDefinitions[0].secrets[1].name',
        message: 'duplicate variable "APP_ENV" (also containerDefinitions[0].environment[0].name)',
      },
    ]);
  });

  it('renders problems in one message naming each field', () => {
    const found = problems({ 'containerDefinitions[1].name': 'php-fpm' });
    expect(
      describeRenderFailure({
        reason: 'invalid-task-definition',
        template: 'config-templates/ecs/php-fpm.json.ejs',
        problems: found,
      }),
    ).toBe(
      'config-templates/ecs/php-fpm.json.ejs: RegisterTaskDefinition would refuse the rendered task definition:\n' +
        '  containerDefinitions[1].name: duplicate container name "php-fpm" (also containerDefinitions[0].name)',
    );
  });
});
