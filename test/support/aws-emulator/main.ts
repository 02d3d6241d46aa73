/**
 * The emulator by hand, for trying deploys locally against a real registry:
 *
 *   npm run emulator -- --start-registry
 *   npm run emulator -- --registry 127.0.0.1:5000   (password in AWS_EMULATOR_REGISTRY_PASSWORD)
 *
 * It prints the environment to export (AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS, test
 * credentials) and runs on the real clock until interrupted. Node 20 cannot run TypeScript,
 * so the npm script bundles this file with esbuild first.
 */
import { parseArgs } from 'node:util';
import { startRegistry, type Registry } from './registry-fixture.js';
import { startAwsEmulator } from './server.js';

const usage = `usage: aws-emulator [--port N] [--region R] [--account-id ID] [--time-scale X]
                    [--start-registry | --registry HOST:PORT]
  --start-registry   start docker-registry on a free loopback port with a fresh password
  --registry         use a running registry; its password (user AWS) comes from
                     AWS_EMULATOR_REGISTRY_PASSWORD, never from the command line
  --time-scale       multiply simulated durations (0.1 = rollouts ten times faster)`;

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    region: { type: 'string', default: 'us-east-1' },
    'account-id': { type: 'string', default: '123456789012' },
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
  region: values.region,
  accountId: values['account-id'],
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
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${values.region}`);
if (registry) {
  console.log(
    `registry: ${registry.url} (user AWS; the password comes from ecr get-authorization-token)`,
  );
} else if (!access) {
  console.log('no registry: ECR answers repository calls only (see --start-registry)');
}

async function shutdown() {
  await emulator.stop();
  await registry?.stop();
  process.exit(0);
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
