/**
 * One deploy test's world: the AWS emulator on a manual clock (time moves only when our Clock
 * sleeps, so a 15-minute rollout takes milliseconds), the real SDK pointed at it through
 * AWS_ENDPOINT_URL_*, staging's environment with its smoke check on a local HTTP server, and task
 * definitions rendered by the real templates for the image tags a test names.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, vi } from 'vitest';
import type { EcsEnvironment } from '../../src/environment.js';
import { describeAwsFailure, type AwsFailureData, type Result } from '../../src/aws/errors.js';
import staging from '../../environments/staging.js';
import {
  createAwsClients,
  destroyAwsClients,
  type AwsClients,
  type AwsContext,
  type Clock,
} from '../../src/aws/clients.js';
import { create } from '../../src/aws/create.js';
import type { RenderedTaskDefinitions } from '../../src/aws/task-definitions.js';
import { renderFor, type ImageTags } from './render.js';
import { manualClock, type ManualClock } from '../support/aws-emulator/clock.js';
import { webOnly } from '../support/worker-environment.js';
import { pointSdkAt } from '../support/aws-emulator/sdk-env.js';
import { startRegistry, type Registry } from '../support/aws-emulator/registry-fixture.js';
import {
  startAwsEmulator,
  type AwsEmulator,
  type AwsEmulatorOptions,
} from '../support/aws-emulator/server.js';

export interface Harness {
  readonly emu: AwsEmulator;
  readonly env: EcsEnvironment;
  readonly clients: AwsClients;
  readonly clock: Clock;
  readonly emuClock: ManualClock;
  readonly lines: string[];
  /** The smoke-check server's answer; 200 unless a test changes it. */
  smokeStatus: number;
  ctx(overrides?: Partial<AwsContext>): AwsContext;
  /** Task definitions rendered for these image tags. */
  render(tags: ImageTags): Promise<RenderedTaskDefinitions>;
  /** Forgets the emulator's calls and the log lines so far: what a test asserts starts here. */
  forget(): void;
  stop(): Promise<void>;
}

export interface HarnessOptions extends AwsEmulatorOptions {
  /**
   * Changes staging before the test uses it (e.g. adds a service: see withWorker). Default:
   * its load-balanced services only (webOnly).
   */
  readonly environment?: (env: EcsEnvironment) => EcsEnvironment;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const { environment = webOnly, ...emulatorOptions } = options;
  const emuClock = manualClock();
  const emu = await startAwsEmulator({
    clock: emuClock,
    region: staging.aws.region,
    accountId: staging.aws.accountId,
    ...emulatorOptions,
  });
  pointSdkAt(emu);
  const state = { smokeStatus: 200 };
  const smoke: Server = createServer((_request, response) => {
    response.writeHead(state.smokeStatus).end(state.smokeStatus === 200 ? 'ok' : 'down');
  });
  await new Promise<void>((resolve) => smoke.listen(0, '127.0.0.1', resolve));
  const { port } = smoke.address() as AddressInfo;
  const base = environment(staging);
  const env: EcsEnvironment = {
    ...base,
    deploy: { ...base.deploy, smokeCheckUrl: `http://127.0.0.1:${port}/health` },
  };
  const clients = createAwsClients(env);
  const clock: Clock = {
    now: () => emuClock.now(),
    sleep: async (ms) => emuClock.advance(ms / 1000),
  };
  const lines: string[] = [];
  const harness: Harness = {
    emu,
    env,
    clients,
    clock,
    emuClock,
    lines,
    get smokeStatus() {
      return state.smokeStatus;
    },
    set smokeStatus(status: number) {
      state.smokeStatus = status;
    },
    ctx: (overrides = {}) => ({
      env,
      clients,
      clock,
      log: (line) => lines.push(line),
      ...overrides,
    }),
    render: (tags) => renderFor(env, tags),
    forget() {
      // The emulator's log is read-only to its users; a harness that owns the emulator may reset it.
      (emu.calls as string[]).length = 0;
      lines.length = 0;
    },
    async stop() {
      destroyAwsClients(clients);
      vi.unstubAllEnvs();
      await new Promise<void>((resolve) => smoke.close(() => resolve()));
      smoke.closeAllConnections();
      await emu.stop();
    },
  };
  return harness;
}

/** What a test file that pushes images works with: see registryHarness. */
export interface RegistryWorld {
  /** The real registry (docker-registry on loopback) behind the emulator's ECR. */
  readonly registry: Registry;
  /** This test's harness, whose ECR answers image calls from `registry`. */
  readonly h: Harness;
}

/**
 * Registers the hooks of a test file whose ECR answers image calls from a real registry: one
 * registry for the file (it takes a second or two to start), a fresh harness in front of it for
 * each test. Read `registry` and `h` inside tests and hooks, not at the file's top level.
 */
export function registryHarness(options: HarnessOptions = {}): RegistryWorld {
  let registry: Registry | undefined;
  let harness: Harness | undefined;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });
  beforeEach(async () => {
    const { url, password } = started(registry);
    const h = await startHarness({ ...options, registry: { url, password } });
    harness = h;
    return () => h.stop();
  });
  return {
    get registry() {
      return started(registry);
    },
    get h() {
      return started(harness);
    },
  };
}

function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('registryHarness: read inside a test or hook');
  return value;
}

/**
 * Creates the environment (cluster, services on v1 images) through ENV:create, then forgets the
 * calls and lines that made it, so a test sees only what it does itself. Returns create's report.
 */
export async function createV1(h: Harness, env: EcsEnvironment = h.env) {
  const created = value(
    await create({
      ...h.ctx({ env }),
      taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }),
    }),
  );
  h.forget();
  return created;
}

/** How many times the emulator saw `operation`. */
export function callCount(emu: AwsEmulator, operation: string): number {
  return emu.calls.filter((call) => call === operation).length;
}

/** A command's report; a failure fails the test with the words a user would see. */
export function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got:\n${describeAwsFailure(result.failure)}`);
  return result.value;
}

/** A command's failure; a success fails the test. */
export function failure<T>(result: Result<T>): AwsFailureData {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.failure;
}

/** A service the harness's environment declares, by key; a missing one fails the test. */
export function declared(h: Pick<Harness, 'env'>, key: string) {
  const service = h.env.services[key];
  if (!service) throw new Error(`${h.env.name} declares no service ${key}`);
  return service;
}
