/**
 * The day-two commands through the real CLI, against the emulator: a deploy whose verify finds a
 * missing secret stops before any push; `ENV:artisan -- ...` and `ENV:run -- ...` run a one-off
 * task whose output and exit code come back through `task`; `ENV:logs` prints its lines.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { create } from '../../src/aws/create.js';
import { createAwsClients, destroyAwsClients, systemClock } from '../../src/aws/clients.js';
import { renderFor } from '../aws/render.js';
import { pointSdkAt } from '../support/aws-emulator/sdk-env.js';
import { requireDocker } from '../support/docker-available.js';
import {
  ENV,
  REPOSITORIES,
  e2eEnvironment,
  startDeployWorld,
  type DeployWorld,
} from './support/deploy-fixture.js';

const dockerReady = await requireDocker({ commands: ['docker-registry', 'htpasswd'] });

/** The calls that would put something into ECR or ECS. */
const WRITES =
  /^(CreateRepository|PutImage|InitiateLayerUpload|CompleteLayerUpload|PutLifecyclePolicy|RegisterTaskDefinition|CreateService|UpdateService|RunTask|CreateCluster)$/;

describe.skipIf(!dockerReady)(`${ENV}: day-two commands through the CLI`, () => {
  let world: DeployWorld;

  beforeAll(async () => {
    world = await startDeployWorld();
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await world?.stop();
  });

  it('a deploy with a missing secret stops in verify, naming the secret, before any push', async () => {
    const env = e2eEnvironment();
    const parameter = '/example/e2e/APP_KEY';
    expect(world.emu.ssm.parameters.delete(parameter)).toBe(true);
    const run = await world.task([`${ENV}:deploy`]);
    expect(run.exitCode, run.text).toBe(1);
    expect(run.text).toContain(
      `secret APP_KEY: SSM parameter ${env.secrets['APP_KEY'] ?? ''} does not exist`,
    );
    expect(run.calls.filter((c) => WRITES.test(c))).toEqual([]);
    for (const repository of Object.values(REPOSITORIES)) {
      expect(await world.registryTags(repository)).toEqual([]);
    }
    // Verify is deploy's preflight: it fails before any task of the plan starts, builds included.
    const started = run.events.filter((e) => e.type === 'start').map((e) => e.key);
    expect(started).toEqual([]);
  }, 600_000);

  it("artisan and run: output streamed, argv kept word for word, the exit code is task's", async () => {
    const env = e2eEnvironment();
    // Services made through the SDK, so no image needs building for a one-off task.
    pointSdkAt(world.emu);
    const clients = createAwsClients(env);
    try {
      const created = await create({
        env,
        clients,
        clock: systemClock,
        log: () => {},
        taskDefinitions: await renderFor(env, { phpFpm: 'v1', nginx: 'v1' }),
      });
      expect(created.ok).toBe(true);
    } finally {
      destroyAwsClients(clients);
    }
    const artisan = await world.plain([`${ENV}:artisan`, '--', 'migrate:status', '--path=a b;c']);
    expect(artisan.exitCode, artisan.text).toBe(0);
    expect(artisan.text).toContain('["php","artisan","migrate:status","--path=a b;c"]');

    world.emu.faults.exitCode({ family: env.services['phpFpm']?.family ?? '' }, 3);
    const failing = await world.plain([
      `${ENV}:run`,
      '--',
      '--service=phpFpm',
      'php',
      '-r',
      'exit(3);',
    ]);
    expect(failing.exitCode, failing.text).toBe(3);
    expect(failing.text).toContain('["php","-r","exit(3);"]');
    expect(failing.text).toContain('exited 3');

    const logs = await world.plain([
      `${ENV}:logs`,
      '--',
      '--follow=false',
      '--since=1h',
      '--filter=migrate:status',
    ]);
    expect(logs.exitCode, logs.text).toBe(0);
    expect(logs.text).toMatch(
      /php-fpm\/[0-9a-f]{32} \| \["php","artisan","migrate:status","--path=a b;c"\]/,
    );
  }, 300_000);
});
