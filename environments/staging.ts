import { defineEnvironment } from '../src/environment.js';

export default defineEnvironment('staging', {
  kind: 'ecs',
  aws: { accountId: '123456789012', region: 'eu-west-1' },
  ecr: {
    registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    repositories: { phpFpm: 'staging_example_php_fpm', nginx: 'staging_example_nginx' },
    scanOnPush: true,
    tagImmutability: true,
    lifecycle: { keepLast: 20 },
  },
  ecs: {
    cluster: 'example-staging',
    executionRoleArn: 'arn:aws:iam::123456789012:role/example-staging-ecs-task-execution',
    taskRoleArn: 'arn:aws:iam::123456789012:role/example-staging-app',
  },
  network: {
    mode: 'awsvpc',
    vpcCidr: '10.20.0.0/16',
    subnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-0b2c3d4e5f6071829'],
    securityGroups: ['sg-0c3d4e5f607182930'],
    assignPublicIp: false,
  },
  services: {
    phpFpm: {
      name: 'example-staging-php-fpm',
      family: 'example-staging-php-fpm',
      image: 'phpFpm',
      template: 'config-templates/ecs/php-fpm.json.ejs',
      desiredCount: 1,
      cpu: 256,
      memory: 512,
      launchType: 'FARGATE',
      runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
      healthCheckGracePeriodSeconds: 30,
      containerPort: 9000,
      loadBalancer: {
        targetGroupArn:
          'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/example-staging-fpm/4f8e2a1b9c3d7e60',
      },
    },
    nginx: {
      name: 'example-staging-nginx',
      family: 'example-staging-nginx',
      image: 'nginx',
      template: 'config-templates/ecs/nginx.json.ejs',
      desiredCount: 1,
      cpu: 256,
      memory: 512,
      launchType: 'FARGATE',
      runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
      healthCheckGracePeriodSeconds: 30,
      containerPort: 80,
      loadBalancer: {
        targetGroupArn:
          'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/example-staging-web/9a0b1c2d3e4f5a6b',
      },
    },
    // The queue worker and the scheduler: the php-fpm image with another command, no port and no
    // load balancer (config-templates/ecs/worker.json.ejs). One scheduler task, never more:
    // schedule:work on two tasks would run every scheduled command twice.
    queueWorker: {
      name: 'example-staging-queue-worker',
      family: 'example-staging-queue-worker',
      image: 'phpFpm',
      command: ['php', 'artisan', 'queue:work', '--sleep=1', '--tries=3', '--max-time=3600'],
      template: 'config-templates/ecs/worker.json.ejs',
      desiredCount: 1,
      cpu: 256,
      memory: 512,
      launchType: 'FARGATE',
      runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
    },
    scheduler: {
      name: 'example-staging-scheduler',
      family: 'example-staging-scheduler',
      image: 'phpFpm',
      command: ['php', 'artisan', 'schedule:work'],
      template: 'config-templates/ecs/worker.json.ejs',
      desiredCount: 1,
      cpu: 256,
      memory: 512,
      launchType: 'FARGATE',
      runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
    },
  },
  deploy: {
    minimumHealthyPercent: 100,
    maximumPercent: 200,
    circuitBreaker: { enable: true, rollback: true },
    rolloutTimeoutSeconds: 900,
    migrate: { service: 'phpFpm', command: ['php', 'artisan', 'migrate', '--force'] },
    smokeCheckUrl: 'https://staging.example.com/health',
    // php-fpm first: the new code must be serving before nginx's new static files point at it.
    // The worker and the scheduler last, together: jobs queued by the new code meet new code.
    order: [['phpFpm'], ['nginx'], ['queueWorker', 'scheduler']],
  },
  nlb: { host: 'php-fpm.staging.example.internal', port: 9000 },
  nginx: { serverNames: ['staging.example.com'] },
  phpFpm: {
    pool: {
      pm: 'dynamic',
      maxChildren: 8,
      startServers: 2,
      minSpareServers: 1,
      maxSpareServers: 3,
      maxRequests: 500,
    },
  },
  logs: { group: '/ecs/example-staging', retentionDays: 14 },
  app: {
    env: {
      APP_ENV: 'staging',
      APP_DEBUG: 'false',
      APP_URL: 'https://staging.example.com',
      LOG_CHANNEL: 'stderr',
      DB_CONNECTION: 'mysql',
      DB_HOST: 'example-staging.cluster-c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com',
      DB_PORT: '3306',
      DB_DATABASE: 'example',
      DB_USERNAME: 'example',
      CACHE_DRIVER: 'database',
      QUEUE_CONNECTION: 'database',
    },
  },
  secrets: {
    APP_KEY: 'arn:aws:ssm:eu-west-1:123456789012:parameter/example/staging/APP_KEY',
    DB_PASSWORD:
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:example/staging/db-Xy12Ab:password::',
  },
});
