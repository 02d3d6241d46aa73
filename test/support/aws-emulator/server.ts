/**
 * The emulator's HTTP front, speaking each service's real wire protocol over node:http:
 *
 *   AWS JSON 1.1: POST /   X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>     (ECS)
 *                          X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>   (ECR)
 *                          X-Amz-Target: Logs_20140328.<Op>                          (CloudWatch Logs)
 *                          X-Amz-Target: AmazonSSM.<Op>                              (SSM)
 *                          X-Amz-Target: secretsmanager.<Op>                         (Secrets Manager)
 *   query:        POST /   Content-Type: application/x-www-form-urlencoded, Action=<Op>&Version=V
 *                          2011-06-15 (STS), 2010-05-08 (IAM), 2015-12-01 (ELBv2); XML back
 *
 * Each request first moves the simulation to the clock's present, then meets any injected
 * fault, then reaches its handler. Point clients at it the way a user points them at any
 * endpoint: AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_STS, ... = emulator.endpoint (sdk-env.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { uuidId, type Account } from './arn.js';
import { realClock, type Clock } from './clock.js';
import type { ReadLagOptions } from './read-lag.js';
import { ecrHandlers, emptyEcrState, type EcrState } from './ecr.js';
import { startBlobDownload } from './blob-download.js';
import { registryFront } from './registry-front.js';
import { serviceHandlers } from './ecs-services.js';
import { emptyEcsState, findService, tickEcs, type EcsState } from './ecs-state.js';
import { taskDefinitionHandlers } from './ecs-task-definitions.js';
import { taskHandlers } from './ecs-tasks.js';
import { tagHandlers } from './ecs-tags.js';
import { elbv2Service, emptyElbv2State, type Elbv2State } from './elbv2.js';
import { Faults, type RequestFaultKind } from './faults.js';
import { emptyIamState, iamService, type IamState } from './iam.js';
import { emptyLogsState, logsHandlers, type LogsState } from './logs.js';
import { AwsError, type Handlers } from './protocol.js';
import { parseQueryBody, queryError, queryResponse, type QueryService } from './query.js';
import { emptySecretsState, secretsHandlers, type SecretsState } from './secrets-manager.js';
import { emptySsmState, ssmHandlers, type SsmState } from './ssm.js';
import { shipTaskOutput, TaskOutputs } from './task-output.js';
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
  /** Eventual consistency: reads of services and tags lag writes by a seeded random delay. */
  readLag?: ReadLagOptions;
}

export interface AwsEmulator {
  /** `http://127.0.0.1:PORT`, for AWS_ENDPOINT_URL_ECS and AWS_ENDPOINT_URL_ECR. */
  readonly endpoint: string;
  readonly account: Account;
  readonly faults: Faults;
  /** Live state, for assertions. Read it after a request: it is ticked on requests only. */
  readonly ecs: EcsState;
  readonly ecr: EcrState;
  readonly logs: LogsState;
  readonly ssm: SsmState;
  readonly secrets: SecretsState;
  readonly iam: IamState;
  readonly elbv2: Elbv2State;
  /** What emulated containers print (shipped to CloudWatch Logs by their awslogs config). */
  readonly taskOutput: TaskOutputs;
  /** Every operation called, in order, including those answered with an injected fault. */
  readonly calls: readonly string[];
  /** The calls that may change something (every call not named Describe*, List*, Get*...). */
  readonly writeCalls: readonly string[];
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

type JsonService = 'ecs' | 'ecr' | 'logs' | 'ssm' | 'secretsmanager';

const targets: Record<string, JsonService> = {
  AmazonEC2ContainerServiceV20141113: 'ecs',
  AmazonEC2ContainerRegistry_V20150921: 'ecr',
  Logs_20140328: 'logs',
  AmazonSSM: 'ssm',
  secretsmanager: 'secretsmanager',
};

/** Operations that change nothing: `writeCalls` is every call not named like one of these. */
const READ_ONLY = /^(Describe|List|Get|Filter|BatchGet|BatchCheck)/;

export async function startAwsEmulator(options: AwsEmulatorOptions = {}): Promise<AwsEmulator> {
  const clock = options.clock ?? realClock;
  const account: Account = {
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '123456789012',
  };
  const timing: Timing = { ...defaultTiming, ...options.timing };
  const faults = new Faults();
  const ecs = emptyEcsState(account, clock.now(), options.readLag);
  const ecr = emptyEcrState(account);
  const calls: string[] = [];
  const requests: { operation: string; input: unknown }[] = [];
  const identities = new Map<string, Identity>();
  const logs = emptyLogsState(account);
  const ssm = emptySsmState(account);
  const secrets = emptySecretsState(account);
  const iam = emptyIamState(account);
  const elbv2 = emptyElbv2State(account);
  const taskOutput = new TaskOutputs();
  const handlers: Record<JsonService, Handlers> = {
    ecs: {
      ...serviceHandlers(ecs),
      ...taskDefinitionHandlers(ecs),
      ...taskHandlers(ecs, faults),
      ...tagHandlers(ecs),
    },
    ecr: ecrHandlers(
      ecr,
      options.registry,
      () => ecs.time,
      () => front.endpoint,
    ),
    logs: logsHandlers(logs, () => ecs.time),
    ssm: ssmHandlers(ssm),
    secretsmanager: secretsHandlers(secrets),
  };
  const queryServices: readonly QueryService[] = [iamService(iam), elbv2Service(elbv2)];
  let requestCount = 0;

  /** Moves the world to now (tasks, and what they printed), then records the call. */
  function arrive(operation: string): void {
    tickEcs(ecs, clock.now(), faults, timing);
    shipTaskOutput(ecs, logs, taskOutput, timing, ecs.time);
    calls.push(operation);
  }

  async function answer(request: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const [prefix = '', operation = ''] = (request.headers['x-amz-target'] ?? '')
      .toString()
      .split('.');
    const service = targets[prefix];
    if (request.method !== 'POST' || !service) {
      throw new AwsError('UnknownOperationException', `unknown target ${prefix || '(none)'}`);
    }
    const text = await readBody(request);
    arrive(operation);
    const fault = faults.take(operation, ecs.time);
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
    const parsed = parseQueryBody(text);
    const service = queryServices.find((s) => s.version === parsed.version);
    if (service) return answerQueryService(service, parsed, response, requestId);
    const operation = parsed.action;
    calls.push(operation);
    let status = 200;
    let body: string;
    try {
      const fault = faults.take(operation, ecs.time);
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

  /** IAM and ELBv2: the same query protocol as STS, answered from their handlers. */
  async function answerQueryService(
    service: QueryService,
    { action, input }: ReturnType<typeof parseQueryBody>,
    response: ServerResponse,
    requestId: string,
  ) {
    let status = 200;
    let body: string;
    try {
      arrive(action);
      const fault = faults.take(action, ecs.time);
      if (fault)
        throw injected(
          fault,
          service.version === '2010-05-08' ? 'iam' : 'elasticloadbalancing',
          action,
          account,
        );
      const handler = service.handlers[action];
      if (!handler)
        throw new AwsError('InvalidAction', `the emulator does not implement ${action}`);
      body = queryResponse(service, action, await handler(input), requestId);
    } catch (e) {
      if (!(e instanceof AwsError)) throw e;
      status = e.status;
      // The query protocol names throttling `Throttling`, not `ThrottlingException`.
      const code = e.type === 'ThrottlingException' ? 'Throttling' : e.type;
      body = queryError(new AwsError(code, e.message, e.status), service.xmlns, requestId);
    }
    response
      .writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId })
      .end(body);
  }

  // ECR's registry endpoint is this server too: GetAuthorizationToken's proxyEndpoint.
  const front = { endpoint: '' };
  const downloads = options.registry ? await startBlobDownload(options.registry) : undefined;
  const registryPath = options.registry
    ? registryFront(options.registry, ecr, downloads)
    : undefined;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (registryPath && request.url?.startsWith('/v2/')) {
      registryPath(request, response);
      return;
    }
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
  front.endpoint = `http://127.0.0.1:${port}`;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    account,
    faults,
    ecs,
    ecr,
    logs,
    ssm,
    secrets,
    iam,
    elbv2,
    taskOutput,
    calls,
    get writeCalls() {
      return calls.filter((call) => !READ_ONLY.test(call));
    },
    requests,
    identities,
    service(cluster, name) {
      const record = ecs.clusters.get(cluster);
      return record ? findService(ecs, record, name)?.sim : undefined;
    },
    async stop() {
      await downloads?.stop();
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
