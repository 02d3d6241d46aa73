/**
 * The world an ECS deploy runs against, end to end: a copy of the repository (clone.ts) with one
 * more environment, environments/e2e.ts, a real registry behind the AWS emulator's ECR, the
 * emulator itself in this process, and a smoke-check server. The `task` CLI reaches AWS only the
 * way a user's does: AWS_ENDPOINT_URL_ECS/ECR, static credentials and AWS_REGION in its env.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ECSClient } from '@aws-sdk/client-ecs';
import { execa } from 'execa';
import staging from '../../../environments/staging.js';
import type { EcsEnvironment } from '../../../src/environment.js';
import { startRegistry, type Registry } from '../../support/aws-emulator/registry-fixture.js';
import type { ReadLagOptions } from '../../support/aws-emulator/read-lag.js';
import { seedPrerequisites } from '../../support/deploy-prerequisites.js';
import { startAwsEmulator, type AwsEmulator } from '../../support/aws-emulator/server.js';
import { TASK_BIN, cleanEnv } from '../../support/project.js';
import { Clone, localTags, type TaskRun } from './clone.js';

/** The environment the tests add, as a user adds one: staging.ts copied and renamed. */
export const ENV = 'e2e';
export const CLUSTER = 'example-e2e';
/** The environment's four services (from environments/staging.ts): the last two run the php-fpm image. */
export const SERVICES = {
  phpFpm: 'example-e2e-php-fpm',
  nginx: 'example-e2e-nginx',
  queueWorker: 'example-e2e-queue-worker',
  scheduler: 'example-e2e-scheduler',
} as const;
export const REPOSITORIES = { phpFpm: 'e2e_example_php_fpm', nginx: 'e2e_example_nginx' } as const;
const ACCOUNT = { accountId: '123456789012', region: 'eu-west-1' };

/**
 * The CLI sleeps real time between polls (2 s, then backoff), so simulated task transitions
 * take a twentieth of ECS's defaults: every rollout and migration is over within a poll or two.
 */
const TIMING = {
  provisionSeconds: 0.5,
  healthCheckSeconds: 0.5,
  drainSeconds: 0.25,
  runSeconds: 0.5,
};

export interface DeployWorld {
  readonly clone: Clone;
  readonly emu: AwsEmulator;
  readonly registry: Registry;
  /** The child's HOME (and TMPDIR inside it), so nothing it writes reaches the real ~. */
  readonly home: string;
  /** An SDK client of the test's own, playing "someone else" (never used by the CLI). */
  readonly ecs: ECSClient;
  /** Everything every run printed (stdout, stderr, --json events), for the secret scan. */
  readonly printed: string[];
  /** `task ARGS --json` in the copy; `calls` are the emulator operations this run made. */
  task(args: readonly string[]): Promise<TaskRun & { readonly calls: readonly string[] }>;
  /** `task ARGS` without --json: the plain lines a user in CI reads (in `cwd`, default the copy). */
  plain(args: readonly string[], cwd?: string): Promise<PlainRun>;
  /** The image tags pushed, without the `deployed-` marks deploys add (see registryMarks). */
  registryTags(repository: string): Promise<string[]>;
  /** The `deployed-<tag>` marks that keep images from the lifecycle policy. */
  registryMarks(repository: string): Promise<string[]>;
  /** The service's running revision (`family:N`) and desired count, as the emulator has it. */
  service(name: string): { revision: string; desired: number; running: number };
  stop(): Promise<void>;
}

export interface PlainRun {
  readonly exitCode: number;
  /** stdout and stderr, interleaved. */
  readonly text: string;
  readonly calls: readonly string[];
}

export async function startDeployWorld(
  options: { readonly readLag?: ReadLagOptions } = {},
): Promise<DeployWorld> {
  const registry = await startRegistry();
  const emu = await startAwsEmulator({
    ...ACCOUNT,
    ...(options.readLag === undefined ? {} : { readLag: options.readLag }),
    registry: { url: registry.url, password: registry.password },
    timing: TIMING,
  });
  const smoke: Server = createServer((_request, response) => response.writeHead(200).end('ok'));
  await new Promise<void>((resolve) => smoke.listen(0, '127.0.0.1', resolve));
  const smokeUrl = `http://127.0.0.1:${(smoke.address() as AddressInfo).port}/health`;
  const clone = await Clone.create();
  // Dev images of its own: another checkout re-tagging the shared ones would otherwise rebuild
  // nginx here and turn "only php-fpm changed" into a flaky assertion.
  await clone.isolateImages();
  const home = await realpath(await mkdtemp(path.join(tmpdir(), 'taskgraph-deploy-home-')));
  await mkdir(path.join(home, 'tmp'));
  await writeEnvironment(clone, smokeUrl);
  // What the operator set up beside ECS (roles, secrets, log group, target groups): deploys
  // verify it before pushing anything.
  seedPrerequisites(emu, e2eEnvironment());
  // A marker in the app: every php-fpm tag this copy builds is its own, never the checkout's.
  await clone.edit(
    'example/app/Http/Controllers/VisitController.php',
    (text) => `${text}// e2e ${clone.nonce}\n`,
  );

  const childEnv = {
    HOME: home,
    TMPDIR: path.join(home, 'tmp'),
    AWS_ENDPOINT_URL_ECS: emu.endpoint,
    AWS_ENDPOINT_URL_ECR: emu.endpoint,
    AWS_ENDPOINT_URL_STS: emu.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: emu.endpoint,
    AWS_ENDPOINT_URL_SSM: emu.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: emu.endpoint,
    AWS_ENDPOINT_URL_IAM: emu.endpoint,
    AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: emu.endpoint,
    AWS_ACCESS_KEY_ID: 'AKIDE2ETEST',
    AWS_SECRET_ACCESS_KEY: 'e2e-secret-key',
    AWS_REGION: ACCOUNT.region,
  };
  const ecs = new ECSClient({
    region: ACCOUNT.region,
    endpoint: emu.endpoint,
    credentials: { accessKeyId: 'AKIDE2ETEST', secretAccessKey: 'e2e-secret-key' },
  });
  const printed: string[] = [];
  /** Every tag of a repository in the registry, sorted. */
  const allTags = async (repository: string): Promise<string[]> => {
    const auth = Buffer.from(`AWS:${registry.password}`).toString('base64');
    const response = await fetch(`http://${registry.url}/v2/${repository}/tags/list`, {
      headers: { authorization: `Basic ${auth}` },
    });
    if (response.status === 404) return [];
    const body = (await response.json()) as { tags?: string[] | null };
    return (body.tags ?? []).sort();
  };
  return {
    clone,
    emu,
    registry,
    home,
    ecs,
    printed,
    async task(args) {
      const before = emu.calls.length;
      const run = await clone.task(args, childEnv);
      printed.push(run.text, JSON.stringify(run.events));
      return { ...run, calls: emu.calls.slice(before) };
    },
    async plain(args, cwd = clone.dir) {
      const before = emu.calls.length;
      const result = await execa(process.execPath, [TASK_BIN, ...args], {
        cwd,
        env: { ...cleanEnv(), CI: 'true', ...childEnv },
        extendEnv: false,
        reject: false,
        all: true,
      });
      const text = String(result.all);
      printed.push(text);
      // clone.task() tracks the tags a --json run builds; a plain run's are found here.
      for (const [, ref] of text.matchAll(/Successfully tagged (\S+)/g)) if (ref) clone.own(ref);
      return { exitCode: result.exitCode ?? -1, text, calls: emu.calls.slice(before) };
    },
    async registryTags(repository) {
      return (await allTags(repository)).filter((t) => !t.startsWith('deployed-'));
    },
    async registryMarks(repository) {
      return (await allTags(repository)).filter((t) => t.startsWith('deployed-'));
    },
    service(name) {
      const sim = emu.service(CLUSTER, name);
      if (sim === undefined) throw new Error(`the emulator has no service ${name}`);
      const primary = sim.deployments[0];
      return {
        revision: primary?.taskDefinition.split('/').at(-1) ?? '',
        desired: sim.desiredCount,
        running: sim.tasks.filter((t) => t.phase === 'RUNNING').length,
      };
    },
    async stop() {
      console.error('STOP begin', new Date().toISOString());
      ecs.destroy();
      await new Promise<void>((resolve) => smoke.close(() => resolve()));
      smoke.closeAllConnections();
      await emu.stop();
      // What ENV:push tagged for ECR's registry endpoint (the emulator, fronting the registry):
      // the port is this run's, so every such tag is ours.
      const pushedTo = new URL(emu.endpoint).host;
      for (const ref of await localTags()) if (ref.startsWith(`${pushedTo}/`)) clone.own(ref);
      await registry.stop();
      await clone.remove();
      await rm(home, { recursive: true, force: true });
      console.error('STOP end', new Date().toISOString());
    },
  };
}

/** environments/e2e.ts as the clone loads it: staging's values with the name replaced. */
export function e2eEnvironment(): EcsEnvironment {
  return JSON.parse(JSON.stringify(staging).replaceAll('staging', ENV)) as EcsEnvironment;
}

/** staging.ts, renamed: adding an environment is one new file, nothing else edited. */
async function writeEnvironment(clone: Clone, smokeUrl: string): Promise<void> {
  let text = (await clone.read('environments/staging.ts')).replaceAll('staging', ENV);
  for (const [pattern, replacement] of [
    [/smokeCheckUrl: '[^']*'/, `smokeCheckUrl: '${smokeUrl}'`],
    // A hang fails in minutes rather than at vitest's timeout.
    [/rolloutTimeoutSeconds: \d+/, 'rolloutTimeoutSeconds: 180'],
    // The deploy lock waits this long for another run's tag (reads lag at most 1 s here).
    [/maximumPercent: (\d+),/, 'maximumPercent: $1,\n    lockSettleSeconds: 2,'],
  ] as const) {
    if (!pattern.test(text)) throw new Error(`environments/staging.ts has no ${String(pattern)}`);
    text = text.replace(pattern, replacement);
  }
  await clone.write(`environments/${ENV}.ts`, text);
}

/** Every file under `dir` whose bytes contain `secret` (symlinks not followed). */
export async function filesContaining(dir: string, secret: string): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await readFile(file)).includes(secret)) found.push(file);
  }
  return found;
}

/** A value unique to a test run, for source edits. */
export function stamp(): string {
  return randomBytes(4).toString('hex');
}
