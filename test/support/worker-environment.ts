/**
 * A checked-in environment with one more service the code has never heard of: a queue worker
 * running the php-fpm image with its own command, no load balancer, in its own last stage. Tests
 * use it to show that services are data (render, deploy, rollback, status need no new code).
 */
import { validateEnvironment, type EcsEnvironment } from '../../src/environment.js';

/**
 * The environment with only its load-balanced services (php-fpm and nginx), for tests about deploy
 * mechanics that count revisions, updates and stages: the checked-in files also run a queue worker
 * and a scheduler from the php-fpm image, which move on every php-fpm build.
 */
export function webOnly(env: EcsEnvironment): EcsEnvironment {
  const { name, ...raw } = env;
  const services = Object.fromEntries(
    Object.entries(raw.services).filter(([, service]) => service.loadBalancer !== undefined),
  );
  const order = raw.deploy.order
    .map((stage) => stage.filter((key) => key in services))
    .filter((stage) => stage.length > 0);
  const next = validateEnvironment(
    { ...raw, services, deploy: { ...raw.deploy, order } },
    `environments/${name}.ts`,
    name,
  );
  if (next.kind !== 'ecs') throw new Error('expected an ECS environment');
  return next;
}

export function withWorker(env: EcsEnvironment): EcsEnvironment {
  const { name, ...raw } = webOnly(env);
  const worker = {
    name: `example-${name}-worker`,
    family: `example-${name}-worker`,
    image: 'phpFpm',
    command: ['php', 'artisan', 'queue:work', '--tries=3'],
    template: 'config-templates/ecs/worker.json.ejs',
    desiredCount: 1,
    cpu: 256,
    memory: 512,
    launchType: 'FARGATE',
    runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
  };
  const next = validateEnvironment(
    {
      ...raw,
      services: { ...raw.services, worker },
      deploy: { ...raw.deploy, order: [...raw.deploy.order, ['worker']] },
    },
    `environments/${name}.ts`,
    name,
  );
  if (next.kind !== 'ecs') throw new Error('expected an ECS environment');
  return next;
}
