/**
 * What every ECR/ECS command is given: the environment, SDK clients, a clock, a line logger and
 * an abort signal. Clients use the SDK's default credential chain (env, profiles, SSO, instance
 * roles) and its standard endpoint resolution, which honours AWS_ENDPOINT_URL_ECS,
 * AWS_ENDPOINT_URL_ECR, AWS_ENDPOINT_URL_STS and the rest (AWS_ENDPOINT_URL_CLOUDWATCH_LOGS,
 * _SSM, _SECRETS_MANAGER, _IAM, _ELASTIC_LOAD_BALANCING_V2): no endpoint ever comes from an
 * environment file.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import type { EcsEnvironment } from '../environment.js';
import type { DeploySource } from './deploy-source.js';

export interface AwsClients {
  readonly ecs: ECSClient;
  readonly ecr: ECRClient;
  /** Only for GetCallerIdentity: which account the credentials reach (src/aws/account.ts). */
  readonly sts: STSClient;
  /** Log groups for verify, container output for run and logs (src/aws/verify.ts, logs.ts). */
  readonly logs: CloudWatchLogsClient;
  /** Metadata only, for verify: never a parameter's or secret's value. */
  readonly ssm: SSMClient;
  readonly secrets: SecretsManagerClient;
  readonly iam: IAMClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
}

/**
 * Clients for the environment's region (AWS_REGION is only a fallback: the environment file says
 * where its cluster is). Call `destroyAwsClients` when done so sockets close.
 */
export function createAwsClients(env: Pick<EcsEnvironment, 'aws'>): AwsClients {
  // ECS and ECR are polled for many minutes during a deploy: adaptive retry mode adds a
  // client-side rate limiter to the standard retries, so a throttled account is polled more
  // slowly instead of exhausting its attempts (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
  // AWS_MAX_ATTEMPTS still sets the number of attempts.
  const retryMode = 'adaptive';
  return {
    ecs: new ECSClient({ region: env.aws.region, retryMode }),
    ecr: new ECRClient({ region: env.aws.region, retryMode }),
    sts: new STSClient({ region: env.aws.region }),
    logs: new CloudWatchLogsClient({ region: env.aws.region }),
    ssm: new SSMClient({ region: env.aws.region }),
    secrets: new SecretsManagerClient({ region: env.aws.region }),
    iam: new IAMClient({ region: env.aws.region }),
    elbv2: new ElasticLoadBalancingV2Client({ region: env.aws.region }),
  };
}

export function destroyAwsClients(clients: AwsClients): void {
  clients.ecs.destroy();
  clients.ecr.destroy();
  clients.sts.destroy();
  clients.logs.destroy();
  clients.ssm.destroy();
  clients.secrets.destroy();
  clients.iam.destroy();
  clients.elbv2.destroy();
}

/** Time, injected so tests drive the emulator's manual clock instead of sleeping. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted === true) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** Everything a command needs besides its own arguments. */
export interface AwsContext {
  readonly env: EcsEnvironment;
  readonly clients: AwsClients;
  readonly clock: Clock;
  /** One line of output for the task's log; never receives a secret. */
  readonly log: (line: string) => void;
  /** Ctrl-C: stops waiting (never a rollout) and returns an `interrupted` failure. */
  readonly signal?: AbortSignal;
  /** The commit being deployed: tags on each task definition revision registered. */
  readonly source?: DeploySource | undefined;
}
