/**
 * The emulator by hand, for trying deploys locally against a real registry:
 *
 *   npm run emulator -- --seed staging --start-registry
 *   npm run emulator -- --start-registry
 *   npm run emulator -- --registry 127.0.0.1:5000   (password in AWS_EMULATOR_REGISTRY_PASSWORD)
 *
 * `--seed ENV` puts in what an operator sets up beside ECS for environments/ENV.ts (roles,
 * secrets, log group, target groups: test/support/deploy-prerequisites.ts, as the e2e tests
 * do), in the environment's account and region, so `npx task ENV:create` can run at once.
 *
 * It prints the environment to export (AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS, test
 * credentials) and runs on the real clock until interrupted. Node 20 cannot run TypeScript,
 * so the npm script bundles this file with esbuild first.
 */
import { parseArgs } from 'node:util';
import type { EcsEnvironment } from '../../../src/environment.js';
import { seedPrerequisites } from '../deploy-prerequisites.js';
import { startRegistry, type Registry } from './registry-fixture.js';
import { startAwsEmulator } from './server.js';

const usage = `usage: aws-emulator [--seed ENV] [--port N] [--region R] [--account-id ID]
                    [--time-scale X] [--start-registry | --registry HOST:PORT]
  --seed             start with environments/ENV.ts's roles, secrets, log group and target
                     groups in place, in its account and region (what create and deploy verify)
  --start-registry   start docker-registry on a free loopback port with a fresh password
  --registry         use a running registry; its password (user AWS) comes from
                     AWS_EMULATOR_REGISTRY_PASSWORD, never from the command line
  --time-scale       multiply simulated durations (0.1 = rollouts ten times faster)`;

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    port: { type: 'string', default: '0' },
    region: { type: 'string' },
    'account-id': { type: 'string' },
    'time-scale': { type: 'string', default: '1' },
    registry: { type: 'string' },
    'start-registry': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(usage);
  process.exit(0);
}

/** environments/NAME.ts (esbuild bundles every one the pattern matches), or exit 2 saying why. */
async function seedEnvironment(name: string): Promise<EcsEnvironment> {
  let env: unknown;
  try {
    env = ((await import(`../../../environments/${name}.ts`)) as { default?: unknown }).default;
  } catch (error) {
    console.error(`--seed ${name}: cannot load environments/${name}.ts: ${String(error)}`);
    process.exit(2);
  }
  const found = env as Partial<EcsEnvironment> | undefined;
  if (found?.name !== name || found.kind !== 'ecs') {
    console.error(`--seed ${name}: environments/${name}.ts is not an ECS environment`);
    process.exit(2);
  }
  const own = { region: found.aws?.region, 'account-id': found.aws?.accountId };
  for (const [option, value] of Object.entries(own)) {
    const given = values[option as keyof typeof own];
    if (given !== undefined && given !== value) {
      // Its ARNs name its account and region: an emulator in another would not match them.
      console.error(
        `--seed ${name}: environments/${name}.ts is in ${option} ${String(value)}, not ${given}; leave out --${option}`,
      );
      process.exit(2);
    }
  }
  return found as EcsEnvironment;
}

const seed = values.seed === undefined ? undefined : await seedEnvironment(values.seed);
const region = values.region ?? seed?.aws.region ?? 'us-east-1';

let registry: Registry | undefined;
let access: { url: string; password: string } | undefined;
if (values['start-registry']) {
  registry = await startRegistry();
  access = { url: registry.url, password: registry.password };
} else if (values.registry) {
  const password = process.env['AWS_EMULATOR_REGISTRY_PASSWORD'];
  if (!password) {
    console.error('--registry needs the password of user AWS in AWS_EMULATOR_REGISTRY_PASSWORD');
    process.exit(2);
  }
  access = { url: values.registry, password };
}

const scale = Number(values['time-scale']);
const emulator = await startAwsEmulator({
  port: Number(values.port),
  region,
  accountId: values['account-id'] ?? seed?.aws.accountId ?? '123456789012',
  ...(access ? { registry: access } : {}),
  timing: {
    provisionSeconds: 10 * scale,
    healthCheckSeconds: 10 * scale,
    drainSeconds: 5 * scale,
    runSeconds: 10 * scale,
  },
});

const services = [
  'ECS',
  'ECR',
  'STS',
  'CLOUDWATCH_LOGS',
  'SSM',
  'SECRETS_MANAGER',
  'IAM',
  'ELASTIC_LOAD_BALANCING_V2',
];
console.log(`AWS emulator (ECS, ECR, STS, CloudWatch Logs, SSM, Secrets Manager, IAM, ELBv2) listening on ${emulator.endpoint}
${services.map((s) => `export AWS_ENDPOINT_URL_${s}=${emulator.endpoint}`).join('\n')}
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${region}`);
if (registry) {
  console.log(
    `registry: ${registry.url} (user AWS; the password comes from ecr get-authorization-token)`,
  );
} else if (!access) {
  console.log('no registry: ECR answers repository calls only (see --start-registry)');
}

if (seed) {
  const seeded = seedPrerequisites(emulator, seed);
  console.log(`seeded for ${seed.name} (environments/${seed.name}.ts):
${seeded.map((line) => `  ${line}`).join('\n')}
next: npx task ${seed.name}:create, then npx task ${seed.name}:verify`);
}

async function shutdown() {
  await emulator.stop();
  await registry?.stop();
  process.exit(0);
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
