/**
 * What an environment file may say, checked when it is loaded. Every object is strict, so a
 * misspelt key fails naming the key (and the one it probably meant) instead of quietly leaving a
 * setting at nothing. Cross-field rules that AWS would otherwise reject mid-deploy (a Fargate
 * cpu/memory pair, a registry in another account) are checked here too, with the key to fix.
 *
 * An environment file is `export default defineEnvironment('<file name>', { ... })`.
 */
import { z } from 'zod';
import { configIssues } from './render/config-issues.js';
import { RenderError } from './render/failure.js';
import {
  FARGATE_CPU,
  FARGATE_SIZES,
  describeFargateMemory,
  isFargateSize,
} from './render/task-definition.js';

/** A number from a fixed list; zod's literal unions report only "Invalid input". */
function oneOf(values: readonly number[]) {
  return z.number().refine((value) => values.includes(value), {
    params: { expected: `one of ${values.join('|')}` },
  });
}

function matching(pattern: RegExp, expected: string) {
  return z.string().regex(pattern, expected);
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const port = int(1, 65535);

const accountId = matching(/^\d{12}$/, 'a 12-digit AWS account id');
const region = matching(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'an AWS region such as eu-west-1');
const roleArn = matching(
  /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
  'an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
);
const targetGroupArn = matching(
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/,
  'a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>)',
);
/** Secrets are references only: the value stays in SSM or Secrets Manager, never in the repo. */
const secretRef = matching(
  /^arn:aws[a-z-]*:(ssm:[a-z0-9-]+:\d{12}:parameter\/[\w./-]+|secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+(:[\w-]*:[\w-]*:[\w-]*)?)$/,
  'an SSM parameter ARN or Secrets Manager secret ARN',
);
const resourceName = matching(/^[A-Za-z0-9_-]{1,255}$/, 'letters, digits, - and _');
const hostName = matching(
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
  'a DNS host name',
);
const serverName = matching(
  /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
  'a host name, optionally starting with *.',
);
const ipv4 = matching(
  /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/,
  'an IPv4 address',
);
const cidr = matching(
  /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\/(\d|[12]\d|3[0-2])$/,
  'an IPv4 CIDR block such as 10.0.0.0/16',
);
const envName = matching(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)');

/** Plain env vars are strings: ECS passes strings, and `false` vs "false" is not a guess to make. */
const appSchema = z.object({ env: z.record(envName, z.string()) }).strict();

const poolSchema = z
  .object({
    pm: z.enum(['static', 'dynamic', 'ondemand']),
    maxChildren: int(1, 1000),
    startServers: int(1, 1000),
    minSpareServers: int(1, 1000),
    maxSpareServers: int(1, 1000),
    maxRequests: int(0, 1_000_000),
  })
  .strict()
  .superRefine((pool, ctx) => {
    // php-fpm refuses to start with these out of order, far from the file that set them.
    if (pool.minSpareServers > pool.maxSpareServers) {
      ctx.addIssue({
        code: 'custom',
        path: ['minSpareServers'],
        params: { expected: `at most maxSpareServers (${pool.maxSpareServers})` },
      });
    }
    if (pool.startServers < pool.minSpareServers || pool.startServers > pool.maxSpareServers) {
      ctx.addIssue({
        code: 'custom',
        path: ['startServers'],
        params: {
          expected: `between minSpareServers (${pool.minSpareServers}) and maxSpareServers (${pool.maxSpareServers})`,
        },
      });
    }
    if (pool.maxSpareServers > pool.maxChildren) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxSpareServers'],
        params: { expected: `at most maxChildren (${pool.maxChildren})` },
      });
    }
  });

/**
 * The images the pipeline builds, by the key tasks/ hands over a built reference under. A service
 * names one of them; ECR keeps one repository per image, not per service, so a queue worker that
 * runs the php-fpm image with another command pushes nothing new.
 */
export const IMAGE_KEYS = ['phpFpm', 'nginx'] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];

/**
 * A service's key in `services` and `deploy.order`: the name the environment file picks (`phpFpm`,
 * `worker`, `scheduler`). It also names the rendered file, `build/<env>/ecs/<key in kebab-case>.json`.
 */
export type ServiceKey = string;
const serviceKey = matching(/^[a-z][A-Za-z0-9-]{0,62}$/, 'a service key such as worker or phpFpm');

const serviceSchema = z
  .object({
    /** ECS service name. */
    name: resourceName,
    /** Task definition family the service runs. */
    family: resourceName,
    /** Which image the service runs (the build, not the repository). */
    image: z.enum(IMAGE_KEYS),
    /** Replaces the image's CMD: the php-fpm image as a queue worker or scheduler. */
    command: z.array(z.string().min(1)).min(1).optional(),
    /** The EJS task-definition template, relative to the project root. */
    template: matching(
      /^config-templates\/ecs\/[\w.-]+\.json\.ejs$/,
      'config-templates/ecs/<name>.json.ejs',
    ),
    desiredCount: int(0, 1000),
    cpu: oneOf(FARGATE_CPU),
    memory: int(512, 122880),
    launchType: z.enum(['FARGATE', 'EC2']),
    runtimePlatform: z
      .object({
        cpuArchitecture: z.enum(['X86_64', 'ARM64']),
        operatingSystemFamily: z.literal('LINUX'),
      })
      .strict(),
    /** Seconds ECS ignores failing load balancer health checks after a task starts. */
    healthCheckGracePeriodSeconds: int(0, 7200).optional(),
    /** The port the container listens on (php-fpm's FastCGI port, nginx's HTTP port), if any. */
    containerPort: port.optional(),
    /**
     * The target group the service registers its tasks in (php-fpm: the NLB's TCP group; nginx:
     * the ALB's HTTP group). A queue worker or scheduler has none.
     */
    loadBalancer: z.object({ targetGroupArn }).strict().optional(),
  })
  .strict();

const ecsSchema = z
  .object({
    kind: z.literal('ecs'),
    aws: z.object({ accountId, region }).strict(),
    ecr: z
      .object({
        registry: matching(
          /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com$/,
          'an ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com)',
        ),
        /** One repository per image (IMAGE_KEYS), shared by every service that runs it. */
        repositories: z.object({ phpFpm: resourceName, nginx: resourceName }).strict(),
        scanOnPush: z.boolean(),
        /** IMMUTABLE tags: a content-hash tag can never be pushed over with other content. */
        tagImmutability: z.boolean(),
        lifecycle: z.object({ keepLast: int(1, 1000) }).strict(),
      })
      .strict(),
    ecs: z
      .object({ cluster: resourceName, executionRoleArn: roleArn, taskRoleArn: roleArn })
      .strict(),
    network: z
      .object({
        mode: z.literal('awsvpc'),
        /** The ALB connects from inside this range; nginx trusts X-Forwarded-For from it. */
        vpcCidr: cidr,
        subnets: z.array(matching(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id (subnet-...)')).min(1),
        securityGroups: z
          .array(matching(/^sg-[0-9a-f]{8,17}$/, 'a security group id (sg-...)'))
          .min(1),
        assignPublicIp: z.boolean(),
      })
      .strict(),
    /** Any number of services, keyed by a name the file picks; deploy.order says when each rolls. */
    services: z.record(serviceKey, serviceSchema),
    deploy: z
      .object({
        minimumHealthyPercent: int(0, 100),
        maximumPercent: int(100, 200),
        circuitBreaker: z.object({ enable: z.boolean(), rollback: z.boolean() }).strict(),
        rolloutTimeoutSeconds: int(60, 7200),
        /**
         * Run once as a one-off task of `service`'s new task definition, before any service updates,
         * whenever that service gets a new revision.
         */
        migrate: z
          .object({ service: serviceKey, command: z.array(z.string().min(1)).min(1) })
          .strict(),
        smokeCheckUrl: z.string().url('an absolute URL'),
        /**
         * Seconds a deploy waits, after writing its lock tag on the cluster, for another deploy's
         * tag to become visible (ECS reads are eventually consistent). Default 10.
         */
        lockSettleSeconds: int(0, 600).optional(),
        /** Stages run in order; the services within a stage update in parallel. */
        order: z.array(z.array(serviceKey).min(1)).min(1),
        /**
         * CloudWatch alarms that fail a deployment while it rolls out (and roll it back when
         * `rollback`): ECS's deploymentConfiguration.alarms.
         */
        alarms: z
          .object({
            names: z.array(z.string().min(1).max(255)).min(1),
            rollback: z.boolean(),
          })
          .strict()
          .optional(),
      })
      .strict(),
    /** nginx reaches php-fpm through this Network Load Balancer (FastCGI is TCP, not HTTP). */
    nlb: z.object({ host: hostName, port }).strict(),
    nginx: z.object({ serverNames: z.array(serverName).min(1) }).strict(),
    phpFpm: z.object({ pool: poolSchema }).strict(),
    logs: z
      .object({
        group: matching(/^[\w\-/.#]{1,512}$/, 'a CloudWatch log group name'),
        retentionDays: oneOf([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731]),
      })
      .strict(),
    app: appSchema,
    /** Name -> reference; rendered as `secrets[].valueFrom`, resolved by ECS at task start. */
    secrets: z.record(envName, secretRef),
    /**
     * Tags on the task definitions, services and one-off tasks (and, propagated, on the
     * services' tasks). https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-using-tags.html
     */
    tags: z
      .record(
        matching(
          /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u,
          'a tag key (not starting with aws:)',
        ),
        z.string().max(256),
      )
      .optional(),
  })
  .strict();

function checkEcs(env: z.output<typeof ecsSchema>, ctx: z.RefinementCtx): void {
  const expectedRegistry = `${env.aws.accountId}.dkr.ecr.${env.aws.region}.amazonaws.com`;
  if (env.ecr.registry !== expectedRegistry) {
    ctx.addIssue({
      code: 'custom',
      path: ['ecr', 'registry'],
      params: { expected: `${expectedRegistry} (from aws.accountId and aws.region)` },
    });
  }
  const keys = Object.keys(env.services);
  if (keys.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['services'],
      params: { expected: 'at least one service' },
    });
  }
  for (const [key, service] of Object.entries(env.services)) {
    if (
      service.launchType === 'FARGATE' &&
      FARGATE_SIZES.has(service.cpu) &&
      !isFargateSize(service.cpu, service.memory)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['services', key, 'memory'],
        params: {
          expected: `one of ${describeFargateMemory(service.cpu)} (FARGATE with cpu ${service.cpu})`,
        },
      });
    }
    // The load balancer sends traffic to a container port; without one CreateService is refused.
    if (service.loadBalancer !== undefined && service.containerPort === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['services', key, 'containerPort'],
        params: { expected: 'the port the load balancer sends traffic to (loadBalancer is set)' },
      });
    }
    const appears = env.deploy.order.flat().filter((name) => name === key).length;
    if (appears !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['deploy', 'order'],
        params: { expected: `each service in one stage, once (${key} appears ${appears} times)` },
      });
    }
  }
  for (const key of new Set(env.deploy.order.flat())) {
    if (!(key in env.services)) {
      ctx.addIssue({
        code: 'custom',
        path: ['deploy', 'order'],
        params: { expected: `only keys of services (${keys.join('|')}); ${key} is not one` },
      });
    }
  }
  if (!(env.deploy.migrate.service in env.services)) {
    ctx.addIssue({
      code: 'custom',
      path: ['deploy', 'migrate', 'service'],
      params: { expected: `one of the services (${keys.join('|')})` },
    });
  }
  if (env.deploy.maximumPercent <= env.deploy.minimumHealthyPercent) {
    ctx.addIssue({
      code: 'custom',
      path: ['deploy', 'maximumPercent'],
      params: {
        expected: `more than minimumHealthyPercent (${env.deploy.minimumHealthyPercent}), or a rolling deploy cannot start a new task`,
      },
    });
  }
  // ECS rejects a task definition that names a variable both as plain and as a secret.
  for (const name of Object.keys(env.secrets)) {
    if (name in env.app.env) {
      ctx.addIssue({
        code: 'custom',
        path: ['secrets', name],
        params: { expected: `a name not also in app.env (${name} is set there)` },
      });
    }
  }
}

const localSchema = z
  .object({
    kind: z.literal('local'),
    /** Everything listens on this address of the developer's machine. */
    host: ipv4,
    nginx: z.object({ port, serverNames: z.array(serverName).min(1) }).strict(),
    phpFpm: z
      .object({
        /** Two ports so a new php-fpm can start beside the old one and nginx switch over. */
        ports: z
          .object({ primary: port, alternate: port })
          .strict()
          .refine((ports) => ports.primary !== ports.alternate, {
            path: ['alternate'],
            params: { expected: 'a port other than primary' },
          }),
        pool: poolSchema,
      })
      .strict(),
    /**
     * The database server local:deploy runs in its own container (images/mariadb), data on a named
     * volume. The app reaches it at host:port with DB_DATABASE/DB_USERNAME set from these.
     */
    database: z
      .object({
        port,
        name: matching(/^[A-Za-z0-9_]{1,64}$/, 'letters, digits and _'),
        user: matching(/^[A-Za-z0-9_]{1,32}$/, 'letters, digits and _'),
      })
      .strict(),
    /**
     * Long-running commands run from the php-fpm image beside it (queue worker, scheduler), keyed
     * by a name of the file's choosing; replaced after php-fpm on every deploy that changes it.
     */
    workers: z.record(
      matching(/^[a-z][a-z0-9-]{0,30}$/, 'lower-case letters, digits and -'),
      z.object({ command: z.array(z.string().min(1)).min(1) }).strict(),
    ),
    app: appSchema,
  })
  .strict();

function checkLocal(env: z.output<typeof localSchema>, ctx: z.RefinementCtx): void {
  const { primary, alternate } = env.phpFpm.ports;
  if (env.nginx.port === primary || env.nginx.port === alternate) {
    ctx.addIssue({
      code: 'custom',
      path: ['nginx', 'port'],
      params: { expected: 'a port not used by php-fpm' },
    });
  }
  if ([env.nginx.port, primary, alternate].includes(env.database.port)) {
    ctx.addIssue({
      code: 'custom',
      path: ['database', 'port'],
      params: { expected: 'a port not used by nginx or php-fpm' },
    });
  }
  for (const name of [
    'DB_HOST',
    'DB_PORT',
    'DB_DATABASE',
    'DB_USERNAME',
    'DB_PASSWORD',
    'APP_KEY',
  ]) {
    if (name in env.app.env) {
      ctx.addIssue({
        code: 'custom',
        path: ['app', 'env', name],
        params: {
          expected: `no ${name}: local:deploy sets it from database (and the checkout's secrets)`,
        },
      });
    }
  }
}

/** Cross-field rules run once every field has the right shape (zod refines after parsing). */
export const environmentSchema = z
  .discriminatedUnion('kind', [ecsSchema, localSchema])
  .superRefine((env, ctx) => (env.kind === 'ecs' ? checkEcs(env, ctx) : checkLocal(env, ctx)));

/** What an environment file passes to defineEnvironment (before validation). */
export type EnvironmentInput = z.input<typeof environmentSchema>;

interface Named {
  /** The file's base name (`staging` for environments/staging.ts); also the task namespace. */
  readonly name: string;
}
export type EcsEnvironment = z.output<typeof ecsSchema> & Named;
export type LocalEnvironment = z.output<typeof localSchema> & Named;
export type Environment = EcsEnvironment | LocalEnvironment;

/** Task namespaces and AWS resource names are built from it, so keep it plain. */
export const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]*$/;

export function environmentFile(name: string): string {
  return `environments/${name}.ts`;
}

/**
 * Checks `raw` and returns it as an Environment, or throws RenderError (`invalid-environment`)
 * listing every problem with its key path, e.g.
 * `environments/staging.ts: services.phpFpm.cpu: expected one of 256|512|..., found 300`.
 */
export function validateEnvironment(raw: unknown, file: string, name: string): Environment {
  const parsed = environmentSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = configIssues(parsed.error, raw, environmentSchema);
    throw new RenderError({ reason: 'invalid-environment', file, issues });
  }
  return { name, ...parsed.data };
}

/**
 * An environment file's default export. `name` must be the file's base name; environmentOf
 * checks that, so a copied file that still says 'staging' cannot deploy staging's settings.
 */
export function defineEnvironment(name: string, raw: z.input<typeof ecsSchema>): EcsEnvironment;
export function defineEnvironment(name: string, raw: z.input<typeof localSchema>): LocalEnvironment;
export function defineEnvironment(name: string, raw: EnvironmentInput): Environment {
  const file = environmentFile(name);
  if (!ENVIRONMENT_NAME.test(name)) {
    throw new RenderError({
      reason: 'invalid-environment',
      file,
      issues: [
        {
          path: '(name)',
          expected: 'lower-case letters, digits and -',
          found: JSON.stringify(name),
        },
      ],
    });
  }
  return validateEnvironment(raw, file, name);
}

/** Where an environment's rendered files go, relative to the project root. */
export function outputPaths(name: string) {
  return {
    nginxConfig: `build/${name}/nginx/default.conf`,
    /** A service's task definition: `build/<env>/ecs/php-fpm.json` for the key `phpFpm`. */
    taskDefinition: (key: ServiceKey) => `build/${name}/ecs/${kebabCase(key)}.json`,
  } as const;
}

/** `phpFpm` -> `php-fpm`: the file names and the way a user types a service on the command line. */
export function kebabCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** One entry of an ECS environment's `services`. */
export type ServiceSettings = z.output<typeof serviceSchema>;

/**
 * The settings of service `key`. The schema already checked that every key in deploy.order and
 * deploy.migrate is declared, so a missing one is a bug in the caller, not a user error.
 */
export function serviceSettings(env: EcsEnvironment, key: ServiceKey): ServiceSettings {
  const found = env.services[key];
  if (found === undefined) throw new Error(`${env.name}: no service ${key} in services`);
  return found;
}

/** Every service key, in deploy order (stage by stage). */
export function serviceKeys(env: EcsEnvironment): ServiceKey[] {
  return env.deploy.order.flat();
}
