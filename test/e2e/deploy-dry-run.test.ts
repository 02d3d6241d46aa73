/**
 * `ENV:deploy -- --dry-run` through the real CLI, against the emulator and a real registry: it
 * builds and renders locally (the plan names the images by their content tags), then prints the
 * plan (images it would push, revisions it would register with their changes, the migration,
 * the services by stage) from read calls only: the emulator records no write call and the
 * registry receives nothing. A deploy without the flag then pushes and rolls out as usual.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create } from '../../src/aws/create.js';
import { createAwsClients, destroyAwsClients, systemClock } from '../../src/aws/clients.js';
import { renderFor } from '../aws/render.js';
import { pointSdkAt } from '../support/aws-emulator/sdk-env.js';
import { requireDocker } from '../support/docker-available.js';
import { statuses } from './support/clone.js';
import {
  ENV,
  REPOSITORIES,
  SERVICES,
  e2eEnvironment,
  startDeployWorld,
  type DeployWorld,
} from './support/deploy-fixture.js';

const dockerReady = await requireDocker({ commands: ['docker-registry', 'htpasswd'] });

describe.skipIf(!dockerReady)(`${ENV}:deploy -- --dry-run through the CLI`, () => {
  let world: DeployWorld;

  beforeAll(async () => {
    world = await startDeployWorld();
  });

  afterAll(async () => {
    await world?.stop();
  });

  /** The image a rendered task definition names (what the deploy would push). */
  async function renderedImage(service: string): Promise<string> {
    const file = world.clone.path('build', ENV, 'ecs', `${service}.json`);
    const definition = JSON.parse(await readFile(file, 'utf8')) as {
      containerDefinitions: { image: string }[];
    };
    return definition.containerDefinitions[0]?.image ?? '';
  }

  it('stops where a deploy would: a missing secret fails verify before anything builds', async () => {
    const env = e2eEnvironment();
    const arn = env.secrets['APP_KEY'] ?? '';
    const parameter = arn.replace(/^arn:[^:]+:ssm:[^:]+:\d+:parameter/, '');
    const saved = world.emu.ssm.parameters.get(parameter);
    expect(saved).toBeDefined();
    world.emu.ssm.parameters.delete(parameter);
    const writesBefore = world.emu.writeCalls.length;
    try {
      const dry = await world.task([`${ENV}:deploy`, '--', '--dry-run']);
      expect(dry.exitCode, dry.text).toBe(1);
      expect(dry.text).toContain(`secret APP_KEY: SSM parameter ${arn} does not exist`);
      expect(dry.events.filter((e) => e.type === 'start')).toEqual([]);
      expect(world.emu.writeCalls.slice(writesBefore)).toEqual([]);
    } finally {
      if (saved) world.emu.ssm.parameters.set(parameter, saved);
    }
  }, 120_000);

  it('prints the plan with no write call to AWS and no push; -n points to it; a deploy still pushes', async () => {
    const env = e2eEnvironment();
    // Services running v1 (made through the SDK, as an earlier deploy would have left them):
    // the build's own tags then differ, so the plan has something to register and migrate.
    pointSdkAt(world.emu);
    const clients = createAwsClients(env);
    try {
      const taskDefinitions = await renderFor(env, { phpFpm: 'v1', nginx: 'v1' });
      expect(
        (await create({ env, clients, clock: systemClock, log: () => {}, taskDefinitions })).ok,
      ).toBe(true);
    } finally {
      destroyAwsClients(clients);
    }

    const writesBefore = world.emu.writeCalls.length;
    const dry = await world.task([`${ENV}:deploy`, '--', '--dry-run']);
    expect(dry.exitCode, dry.text).toBe(0);
    expect(world.emu.writeCalls.slice(writesBefore)).toEqual([]);
    expect(dry.calls.length).toBeGreaterThan(0);
    for (const repository of Object.values(REPOSITORIES)) {
      expect(await world.registryTags(repository)).toEqual([]);
    }
    const status = statuses(dry);
    expect(status[`${ENV}:deploy[dry-run=true]`]).toBe('ran');
    expect(status[`${ENV}:render`]).toBe('ran');
    expect(status).not.toHaveProperty(`${ENV}:push`);

    const phpFpmImage = await renderedImage('php-fpm');
    const nginxImage = await renderedImage('nginx');
    const key = `[${ENV}:deploy[dry-run=true]]`;
    expect(dry.text).toContain(
      `${key} Dry run for ${ENV}: nothing was pushed, registered or updated.`,
    );
    expect(dry.text).toContain(`${key}   push: ${phpFpmImage}`);
    expect(dry.text).toContain(`${key}   push: ${nginxImage}`);
    expect(dry.text).toContain(
      `${key}   ${SERVICES.phpFpm}: would register a new revision (changed from ${SERVICES.phpFpm}:1)`,
    );
    // The diff: the image, from the running v1 to the tag this build made.
    const v1 = phpFpmImage.replace(/:[^:]+$/, ':v1');
    expect(dry.text).toContain(
      `${key}     ~ containerDefinitions[php-fpm].image: "${v1}" -> "${phpFpmImage}"`,
    );
    expect(dry.text).toContain(
      `${key}   migration: would run ["php","artisan","migrate","--force"] on ${SERVICES.phpFpm}'s new revision`,
    );
    expect(dry.text).toContain(
      `${key}   services: stage 1: ${SERVICES.phpFpm}; stage 2: ${SERVICES.nginx}; stage 3: ${SERVICES.queueWorker}, ${SERVICES.scheduler}`,
    );
    // Nothing moved: the services still run what create gave them.
    expect(world.service(SERVICES.phpFpm).revision).toBe(`${SERVICES.phpFpm}:1`);

    // ENV:plan is the same node: the same plan, still no write and no push.
    const plan = await world.task([`${ENV}:plan`]);
    expect(plan.exitCode, plan.text).toBe(0);
    expect(statuses(plan)[`${ENV}:deploy[dry-run=true]`]).toBe('ran');
    expect(plan.text).toContain(`${key}   push: ${phpFpmImage}`);
    expect(world.emu.writeCalls.slice(writesBefore)).toEqual([]);
    expect(await world.registryTags(REPOSITORIES.phpFpm)).toEqual([]);

    const noted = await world.plain(['-n', `${ENV}:deploy`]);
    expect(noted.exitCode, noted.text).toBe(0);
    expect(noted.text).toContain(
      `task: ${ENV}:deploy has a dry run of its own, which says what it would do: \`npx task ${ENV}:deploy -- --dry-run\``,
    );
    expect(noted.calls).toEqual([]);

    const deployed = await world.task([`${ENV}:deploy`]);
    expect(deployed.exitCode, deployed.text).toBe(0);
    expect(statuses(deployed)[`${ENV}:push`]).toBe('ran');
    expect(await world.registryTags(REPOSITORIES.phpFpm)).toEqual([phpFpmImage.split(':').at(-1)]);
    expect(await world.registryTags(REPOSITORIES.nginx)).toEqual([nginxImage.split(':').at(-1)]);
    expect(world.service(SERVICES.phpFpm).revision).toBe(`${SERVICES.phpFpm}:2`);
  }, 900_000);
});
