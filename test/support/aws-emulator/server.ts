/**
 * The emulator's HTTP front: AWS JSON 1.1 over node:http, as the real SDK clients speak it, and
 * STS's query protocol (form-encoded POST, XML answer).
 *
 *   POST /   X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>     (ECS)
 *            X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>   (ECR)
 *            Content-Type: application/x-www-form-urlencoded, Action=<Op> (STS)
 *
 * Each request first moves the simulation to the clock's present, then meets any injected
 * fault, then reaches its handler. Point clients at it the way a user points them at any
 * endpoint: AWS_ENDPOINT_URL_ECS / AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL_STS = emulator.endpoint.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uuidId, type Account } from './arn.js';
import { realClock, type Clock } from './clock.js';
import { ecrHandlers, emptyEcrState, type EcrState } from './ecr.js';
import { serviceHandlers } from './ecs-services.js';
import { emptyEcsState, findService, tickEcs, type EcsState } from './ecs-state.js';
import { taskDefinitionHandlers } from './ecs-task-definitions.js';
import { taskHandlers } from './ecs-tasks.js';
import { Faults, type RequestFaultKind } from './faults.js';
import { AwsError, type Handlers } from './protocol.js';
import type { RegistryAccess } from './registry-client.js';
import type { SimService } from './rollout.js';
import { accessKeyOf, isQueryRequest, stsAnswer, stsError, type Identity } from './sts.js';
import { defaultTiming, type Timing } from './task-lifecycle.js';

export interface AwsEmulatorOptions {
  /** Default: the real clock. Tests pass a manualClock() to make rollouts fast and exact. */
  clock?: Clock;
  /** The registry ECR fronts; without it ECR answers only repository calls. */
  registry?: RegistryAccess;
  region?: string;
  accountId?: string;
  /** Simulated durations; see task-lifecycle.ts for the defaults. */
  timing?: Partial<Timing>;
  /** Default 0: a free port. */
  port?: number;
}

export interface AwsEmulator {
  /** `http://127.0.0.1:PORT`, for AWS_ENDPOINT_URL_ECS and AWS_ENDPOINT_URL_ECR. */
  readonly endpoint: string;
  readonly account: Account;
  readonly faults: Faults;
  /** Live state, for assertions. Read it after a request: it is ticked on requests only. */
  readonly ecs: EcsState;
  readonly ecr: EcrState;
  /** Every operation called, in order, including those answered with an injected fault. */
  readonly calls: readonly string[];
  /** Every JSON request's operation and parsed input, in order (for asserting what was asked). */
  readonly requests: readonly { operation: string; input: unknown }[];
  /**
   * Who an access key id belongs to, for STS GetCallerIdentity. A key not listed is a user of the
   * emulator's own account: map one to another account to play "credentials for the wrong account".
   */
  readonly identities: Map<string, Identity>;
  /** A service's simulation, for assertions (cluster and service by name). */
  service(cluster: string, name: string): SimService | undefined;
  stop(): Promise<void>;
}

const targets: Record<string, 'ecs' | 'ecr'> = {
  AmazonEC2ContainerServiceV20141113: 'ecs',
  AmazonEC2ContainerRegistry_V20150921: 'ecr',
};

export async function startAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const clock = options.clock ?? realClock;
  const account: Account = {
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '123456789012',
  };
  const timing: Timing = { ...defaultTiming, ...options.timing };
  const faults = new Faults();
  const ecs = emptyEcsState(account, clock.now());
  const ecr = emptyEcrState(account);
  const calls: string[] = [];
  const requests: { operation: string; input: unknown }[] = [];
  const identities = new Map<string, Identity>();
  const handlers: Record<'ecs' | 'ecr', Handlers> = {
    ecs: { ...serviceHandlers(ecs), ...taskDefinitionHandlers(ecs), ...taskHandlers(ecs, faults) },
    ecr: ecrHandlers(ecr, options.registry, () => ecs.time),
  };
  let requestCount = 0;

  async function answer(request: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const [prefix = '', operation = ''] = (request.headers['x-amz-target'] ?? '')
      .toString()
      .split('.');
    const service = targets[prefix];
    if (request.method !== 'POST' || !service) {
      throw new AwsError('UnknownOperationException', `unknown target ${prefix || '(none)'}`);
    }
    const text = await readBody(request);
    tickEcs(ecs, clock.now(), faults, timing);
    calls.push(operation);
    const fault = faults.take(operation);
    if (fault) throw injected(fault, service, operation, account);
    const handler = handlers[service][operation];
    if (!handler) {
      throw new AwsError(
        'UnknownOperationException',
        `the emulator does not implement ${service}:${operation}`,
      );
    }
    let input: unknown;
    try {
      input = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw new AwsError('SerializationException', 'request body is not JSON');
    }
    requests.push({ operation, input });
    return { status: 200, body: await handler(input) };
  }

  /** STS's query protocol: the whole exchange, since its errors are XML too. */
  async function answerQuery(
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
  ) {
    const text = await readBody(request);
    const operation = new URLSearchParams(text).get('Action') ?? '';
    calls.push(operation);
    let status = 200;
    let body: string;
    try {
      const fault = faults.take(operation);
      if (fault) throw injected(fault, 'sts', operation, account);
      const accessKey = accessKeyOf(request.headers.authorization);
      body = stsAnswer({
        body: text,
        account,
        identity: accessKey === undefined ? undefined : identities.get(accessKey),
        accessKey,
        requestId,
      });
    } catch (e) {
      if (!(e instanceof AwsError)) throw e;
      status = e.status;
      // The query protocol names throttling `Throttling`, not `ThrottlingException`.
      const code = e.type === 'ThrottlingException' ? 'Throttling' : e.type;
      body = stsError(new AwsError(code, e.message, e.status), requestId);
    }
    response
      .writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId })
      .end(body);
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const requestId = uuidId(`request#${requestCount++}`);
    if (
      isQueryRequest(request.headers['content-type'], request.headers['x-amz-target']?.toString())
    ) {
      answerQuery(request, response, requestId).catch(() => response.destroy());
      return;
    }
    answer(request)
      .catch((e: unknown) => {
        if (e instanceof AwsError)
          return { status: e.status, body: { __type: e.type, message: e.message } };
        // A bug in the emulator: say so loudly in the response the test will show.
        const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
        return {
          status: 500,
          body: { __type: 'InternalFailure', message: `emulator bug: ${message}` },
        };
      })
      .then(({ status, body }) => {
        const headers: Record<string, string> = {
          'content-type': 'application/x-amz-json-1.1',
          'x-amzn-requestid': requestId,
        };
        const type = (body as { __type?: unknown }).__type;
        if (typeof type === 'string') headers['x-amzn-errortype'] = type;
        response.writeHead(status, headers).end(JSON.stringify(body));
      })
      .catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    account,
    faults,
    ecs,
    ecr,
    calls,
    requests,
    identities,
    service(cluster, name) {
      const record = ecs.clusters.get(cluster);
      return record ? findService(ecs, record, name)?.sim : undefined;
    },
    stop() {
      return new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function injected(
  kind: RequestFaultKind,
  service: string,
  operation: string,
  account: Account,
): AwsError {
  switch (kind) {
    case 'throttle':
      return new AwsError('ThrottlingException', 'Rate exceeded');
    case 'server-error':
      return new AwsError('ServerException', 'Service unavailable (injected by the emulator)', 500);
    case 'access-denied':
      return new AwsError(
        'AccessDeniedException',
        `User: arn:aws:iam::${account.accountId}:user/emulator is not authorized to perform: ${service}:${operation} on resource: *`,
      );
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
