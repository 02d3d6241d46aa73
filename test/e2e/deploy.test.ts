/**
 * The ECS deploy tasks as a user runs them: `task e2e:<task> --json` in a copy of the repository
 * with a new environment file, real docker builds and pushes into a real registry, the real AWS
 * SDK in the CLI process talking HTTP to the emulator in this one. Each test builds on the state
 * the previous ones left, as successive deploys of one environment do.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker } from '../support/docker-available.js';
import { statuses } from './support/clone.js';
import {
  CLUSTER,
  ENV,
  REPOSITORIES,
  SERVICES,
  filesContaining,
  stamp,
  startDeployWorld,
  type DeployWorld,
} from './support/deploy-fixture.js';

const dockerReady = await requireDocker({ commands: ['docker-registry', 'htpasswd'] });

const APP_FILE = 'example/app/Http/Controllers/VisitController.php';
const count = (calls: readonly string[], operation: string) =>
  calls.filter((call) => call === operation).length;

describe.skipIf(!dockerReady)(`${ENV}: deploy tasks through the CLI`, () => {
  let world: DeployWorld;

  beforeAll(async () => {
    world = await startDeployWorld();
  });

  afterAll(async () => {
    await world?.stop();
  });

  const task = (...args: string[]) => world.task(args);

  /** A source change: the next build makes a php-fpm image (and revision) of its own. */
  const changeSource = () => world.clone.edit(APP_FILE, (text) => `${text}// change ${stamp()}\n`);

  /** Renders (building what changed) and returns the php-fpm image the task definition names. */
  async function renderedPhpFpmImage(): Promise<string> {
    const run = await task(`${ENV}:render`);
    expect(run.exitCode, run.text).toBe(0);
    const file = path.join(world.clone.dir, 'build', ENV, 'ecs', 'php-fpm.json');
    const definition = JSON.parse(await readFile(file, 'utf8')) as {
      containerDefinitions: { image: string }[];
    };
    const image = definition.containerDefinitions[0]?.image;
    if (image === undefined) throw new Error(`no image in ${file}`);
    return image;
  }

  it('creates the cluster and services in an empty account, then deploys', async () => {
    expect(world.emu.ecs.clusters.size).toBe(0);
    // Without --json: the first push (and docker login) also goes through the plain output.
    const created = await world.plain([`${ENV}:create`]);
    expect(created.exitCode, created.text).toBe(0);
    expect(created.text).toContain('cluster created');
    expect(created.text).toContain(`${SERVICES.phpFpm}: created, running ${SERVICES.phpFpm}:1`);
    expect(created.text).toContain(`${SERVICES.nginx}: created, running ${SERVICES.nginx}:1`);
    for (const worker of [SERVICES.queueWorker, SERVICES.scheduler])
      expect(created.text).toContain(`${worker}: created, running ${worker}:1`);
    expect(count(created.calls, 'RunTask')).toBe(1); // the migration, before any service starts

    const deployed = await task(`${ENV}:deploy`);
    expect(deployed.exitCode, deployed.text).toBe(0);
    expect(statuses(deployed)[`${ENV}:deploy`]).toBe('ran');
    expect(world.service(SERVICES.phpFpm)).toEqual({
      revision: `${SERVICES.phpFpm}:1`,
      desired: 1,
      running: 1,
    });
    expect(world.service(SERVICES.nginx).revision).toBe(`${SERVICES.nginx}:1`);

    // The tags the task definitions name are the ones pushed to the registry.
    for (const key of ['phpFpm', 'nginx'] as const) {
      const family = world.emu.ecs.taskDefinitions.get(SERVICES[key]) ?? [];
      expect(family.map((d) => d.revision)).toEqual([1]);
      const tag = family[0]?.images[0]?.split(':').at(-1) ?? '';
      expect(tag).toMatch(/^[0-9a-f]{12}$/);
      expect(await world.registryTags(REPOSITORIES[key])).toEqual([tag]);
      // Marked before any service ran it, so the lifecycle policy never expires it.
      expect(await world.registryMarks(REPOSITORIES[key])).toEqual([`deployed-${tag}`]);
    }
    // The queue worker and the scheduler run the php-fpm image with their own commands.
    const phpImage = world.emu.ecs.taskDefinitions.get(SERVICES.phpFpm)?.[0]?.images[0];
    for (const [worker, command] of [
      [SERVICES.queueWorker, 'queue:work'],
      [SERVICES.scheduler, 'schedule:work'],
    ] as const) {
      expect(world.service(worker)).toEqual({ revision: `${worker}:1`, desired: 1, running: 1 });
      const definition = JSON.parse(
        await readFile(
          path.join(
            world.clone.dir,
            'build',
            ENV,
            'ecs',
            `${worker.replace('example-e2e-', '')}.json`,
          ),
          'utf8',
        ),
      ) as { containerDefinitions: { image: string; command: string[]; user: string }[] };
      expect(definition.containerDefinitions[0]).toMatchObject({
        image: phpImage,
        user: 'www-data',
      });
      expect(definition.containerDefinitions[0]?.command).toContain(command);
    }
  });

  it('redeploys nothing when nothing changed, and says so', async () => {
    const run = await task(`${ENV}:deploy`);
    expect(run.exitCode, run.text).toBe(0);
    expect(run.text).toContain('Nothing to deploy: no new revision registered, no migration run');
    for (const operation of ['RegisterTaskDefinition', 'RunTask', 'UpdateService'])
      expect(count(run.calls, operation), operation).toBe(0);
    // push always runs (it has no outputs to be up to date with); it found both tags there.
    expect(run.text).toMatch(/already in the registry[^]*already in the registry/);
    expect(count(run.calls, 'GetAuthorizationToken')).toBe(0);
  });

  it('ships a source change as a new php-fpm image: new revisions for the three php services, none for nginx', async () => {
    const nginxTags = await world.registryTags(REPOSITORIES.nginx);
    const phpTags = await world.registryTags(REPOSITORIES.phpFpm);
    await changeSource();
    const run = await task(`${ENV}:deploy`);
    expect(run.exitCode, run.text).toBe(0);
    expect(run.text).toContain(`${SERVICES.phpFpm}:1 -> ${SERVICES.phpFpm}:2 (new revision)`);
    expect(run.text).toMatch(/migration task [0-9a-f]{32} exited 0/);
    for (const worker of [SERVICES.queueWorker, SERVICES.scheduler])
      expect(run.text).toContain(`${worker}:1 -> ${worker}:2 (new revision)`);
    expect(count(run.calls, 'RegisterTaskDefinition')).toBe(3);
    expect(count(run.calls, 'UpdateService')).toBe(3);
    expect(count(run.calls, 'RunTask')).toBe(1);
    expect(statuses(run)[`${ENV}:nginx`]).toBe('up-to-date');
    expect(world.service(SERVICES.phpFpm).revision).toBe(`${SERVICES.phpFpm}:2`);
    expect(world.service(SERVICES.queueWorker).revision).toBe(`${SERVICES.queueWorker}:2`);
    expect(world.service(SERVICES.scheduler).revision).toBe(`${SERVICES.scheduler}:2`);
    expect(world.service(SERVICES.nginx).revision).toBe(`${SERVICES.nginx}:1`);
    expect(await world.registryTags(REPOSITORIES.nginx)).toEqual(nginxTags);
    expect(await world.registryTags(REPOSITORIES.phpFpm)).toHaveLength(phpTags.length + 1);
  });

  // The next four deploy one more source change; each failure leaves php-fpm on revision 2.
  let image = '';

  it('reports a rollout whose tasks fail their health check as failed, on the old revision', async () => {
    await changeSource();
    image = await renderedPhpFpmImage();
    // The service's tasks fail; the migration (a one-off task of the same image) still exits 0.
    world.emu.faults.failHealthCheck({ image }).exitCode({ image }, 0);
    const run = await task(`${ENV}:deploy`);
    world.emu.faults.clear();
    expect(run.exitCode, run.text).toBe(1);
    expect(statuses(run)[`${ENV}:deploy`]).toBe('failed');
    expect(run.text).toContain(`Deploy to ${ENV} failed.`);
    expect(run.text).toContain('circuit breaker');
    expect(run.text).toContain('Task failed container health checks');
    expect(run.text).toContain(`${SERVICES.phpFpm}: ECS rolled back to ${SERVICES.phpFpm}:2`);
    expect(world.service(SERVICES.phpFpm).revision).toBe(`${SERVICES.phpFpm}:2`);
    expect(world.service(SERVICES.nginx).revision).toBe(`${SERVICES.nginx}:1`);
    // Their stage comes after php-fpm's, which failed: the workers never left the old code.
    expect(world.service(SERVICES.queueWorker).revision).toBe(`${SERVICES.queueWorker}:2`);
    expect(world.service(SERVICES.scheduler).revision).toBe(`${SERVICES.scheduler}:2`);
  });

  it('stops before touching a service when the migration exits 1', async () => {
    world.emu.faults.exitCode({ image }, 1);
    const run = await task(`${ENV}:deploy`);
    world.emu.faults.clear();
    expect(run.exitCode, run.text).toBe(1);
    expect(run.text).toMatch(/The migration task [0-9a-f]{32} failed: .*php-fpm exited 1/);
    expect(run.text).toContain('No service was changed.');
    expect(count(run.calls, 'RunTask')).toBe(1);
    expect(count(run.calls, 'UpdateService')).toBe(0);
    expect(world.service(SERVICES.phpFpm).revision).toBe(`${SERVICES.phpFpm}:2`);
  });

  it('names the action when UpdateService is denied', async () => {
    world.emu.faults.accessDenied('UpdateService');
    const run = await task(`${ENV}:deploy`);
    world.emu.faults.clear();
    expect(run.exitCode, run.text).toBe(1);
    expect(run.text).toContain(
      'Access denied: the deploying identity may not perform ecs:UpdateService',
    );
    expect(run.text).toContain('IAM policy');
    expect(world.service(SERVICES.phpFpm).revision).toBe(`${SERVICES.phpFpm}:2`);
  });

  it('refuses to deploy over a deployment it did not start, unless forced', async () => {
    // Someone else's deployment that never finishes: its tasks stay PENDING.
    world.emu.faults.neverStart({ family: SERVICES.phpFpm, revision: 2 });
    await world.ecs.send(
      new UpdateServiceCommand({
        cluster: CLUSTER,
        service: SERVICES.phpFpm,
        forceNewDeployment: true,
      }),
    );
    const refused = await task(`${ENV}:deploy`);
    expect(refused.exitCode, refused.text).toBe(1);
    expect(refused.text).toContain(`Another deployment is in progress on ${SERVICES.phpFpm}`);
    expect(refused.text).toContain(`\`npx task ${ENV}:deploy -- --force\``);
    expect(count(refused.calls, 'RunTask') + count(refused.calls, 'UpdateService')).toBe(0);

    const forced = await task(`${ENV}:deploy`, '--', '--force');
    world.emu.faults.clear();
    expect(forced.exitCode, forced.text).toBe(0);
    expect(forced.text).toContain(`${SERVICES.phpFpm}:2 -> ${SERVICES.phpFpm}:3`);
    expect(world.service(SERVICES.phpFpm).revision).toBe(`${SERVICES.phpFpm}:3`);
    expect(world.service(SERVICES.queueWorker).revision).toBe(`${SERVICES.queueWorker}:3`);
    expect(world.emu.service(CLUSTER, SERVICES.phpFpm)?.deployments).toHaveLength(1);
  });

  it('status, rollback, diff, deregister and scale each do their one job', async () => {
    const status = await task(`${ENV}:status`);
    expect(status.exitCode, status.text).toBe(0);
    expect(status.text).toContain(`${ENV}: cluster ${CLUSTER}`);
    expect(status.text).toContain(`${SERVICES.phpFpm}: ${SERVICES.phpFpm}:3, desired 1, running 1`);
    expect(status.text).toContain(`${REPOSITORIES.phpFpm}:${image.split(':').at(-1)}`);
    expect(status.text).toContain('revisions (ACTIVE): 3, 2, 1');

    const rolledBack = await task(`${ENV}:rollback`);
    expect(rolledBack.exitCode, rolledBack.text).toBe(0);
    expect(rolledBack.text).toContain(
      `${SERVICES.phpFpm}: rolled back ${SERVICES.phpFpm}:3 -> ${SERVICES.phpFpm}:2`,
    );
    expect(rolledBack.text).toContain(`${SERVICES.nginx}: no earlier ACTIVE revision`);
    expect(count(rolledBack.calls, 'RunTask')).toBe(0); // database changes are not undone
    expect(world.service(SERVICES.phpFpm).revision).toBe(`${SERVICES.phpFpm}:2`);

    // The rendered php-fpm definition (revision 3's image) against the live revision 2.
    const diff = await task(`${ENV}:diff`);
    expect(diff.exitCode, diff.text).toBe(0);
    expect(diff.text).toContain(`${SERVICES.phpFpm}: 1 change(s) against ${SERVICES.phpFpm}:2`);
    expect(diff.text).toContain(image.split(':').at(-1));
    expect(diff.text).toContain(`${SERVICES.nginx}: same as ${SERVICES.nginx}:1`);
    expect(count(diff.calls, 'RegisterTaskDefinition') + count(diff.calls, 'UpdateService')).toBe(
      0,
    );

    const deregistered = await task(`${ENV}:deregister[1]`);
    expect(deregistered.exitCode, deregistered.text).toBe(0);
    // Keep the newest (3) and the one in use (2); 1 goes.
    expect(deregistered.text).toContain(`${SERVICES.phpFpm}: deregistered 1; kept 3, 2`);
    expect(deregistered.text).toContain(`${SERVICES.nginx}: deregistered nothing; kept 1`);
    const php = world.emu.ecs.taskDefinitions.get(SERVICES.phpFpm) ?? [];
    expect(php.map((d) => d.status)).toEqual(['INACTIVE', 'ACTIVE', 'ACTIVE']);

    const scaled = await task(`${ENV}:scale[php-fpm,3]`);
    expect(scaled.exitCode, scaled.text).toBe(0);
    expect(scaled.text).toContain(`${SERVICES.phpFpm}: scaled from 1 to 3 tasks, all running`);
    expect(world.service(SERVICES.phpFpm)).toEqual({
      revision: `${SERVICES.phpFpm}:2`,
      desired: 3,
      running: 3,
    });
  });

  it('never lets the registry password out of the throwaway DOCKER_CONFIG', async () => {
    const { password } = world.registry;
    // The check means something only if a push used it (src/aws/ecr.ts writes the token into a
    // throwaway DOCKER_CONFIG and says so; there is no `docker login` any more).
    expect(password.length).toBeGreaterThan(16);
    const logins = world.printed.filter((text) => text.includes('ecr: credentials for'));
    expect(logins.length).toBeGreaterThanOrEqual(2); // the plain create and --json deploys
    for (const text of world.printed) expect(text).not.toContain(password);
    expect(await filesContaining(world.home, password)).toEqual([]);
    expect(await filesContaining(world.clone.path('.task'), password)).toEqual([]);
    expect(await filesContaining(world.clone.path('build'), password)).toEqual([]);
  });
});
