import { defineEnvironment } from '../src/environment.js';

export default defineEnvironment('prod', {
  kind: 'ecs',
  aws: { accountId: '123456789012', region: 'eu-west-1' },
  ecr: {
    registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    repositories: { phpFpm: 'prod_example_php_fpm', nginx: 'prod_example_nginx' },
    scanOnPush: true,
    tagImmutability: true,
    lifecycle: { keepLast: 50 },
  },
  ecs: {
    cluster: 'example-prod',
    executionRoleArn: 'arn:aws:iam::123456789012:role/example-prod-ecs-task-execution',
    taskRoleArn: 'arn:aws:iam::123456789012:role/example-prod-app',
  },
  network: {
    mode: 'awsvpc',
    vpcCidr: '10.10.0.0/16',
    subnets: ['subnet-01f2e3d4c5b6a7980', 'subnet-02e3d4c5b6a798011', 'subnet-03d4c5b6a79801122'],
    securityGroups: ['sg-0f1e2d3c4b5a69788'],
    assignPublicIp: false,
  },
  services: {
    phpFpm: {
      name: 'example-prod-php-fpm',
      family: 'example-prod-php-fpm',
      image: 'phpFpm',
      template: 'config-templates/ecs/php-fpm.json.ejs',
      desiredCount: 3,
      cpu: 1024,
      memory: 2048,
      launchType: 'FARGATE',
      runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
      healthCheckGracePeriodSeconds: 60,
      containerPort: 9000,
      loadBalancer: {
        targetGroupArn:
          'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/example-prod-fpm/b7c6d5e4f3a2b1c0',
      },
    },
    nginx: {
      name: 'example-prod-nginx',
      family: 'example-prod-nginx',
      image: 'nginx',
      template: 'config-templates/ecs/nginx.json.ejs',
      desiredCount: 2,
      cpu: 512,
      memory: 1024,
      launchType: 'FARGATE',
      runtimePlatform: { cpuArchitecture: 'X86_64', operatingSystemFamily: 'LINUX' },
      healthCheckGracePeriodSeconds: 30,
      containerPort: 80,
      loadBalancer: {
        targetGroupArn:
          'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/example-prod-web/1c2d3e4f5a6b7c8d',
      },
    },
    // The queue worker and the scheduler: the php-fpm image with another command, no port and no
    // load balancer (config-templates/ecs/worker.json.ejs). One scheduler task, never more:
    // schedule:work on two tasks would run every scheduled command twice.
    queueWorker: {
      name: 'example-prod-queue-worker',
      family: 'example-prod-queue-worker',
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
      name: 'example-prod-scheduler',
      family: 'example-prod-scheduler',
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
    rolloutTimeoutSeconds: 1200,
    migrate: { service: 'phpFpm', command: ['php', 'artisan', 'migrate', '--force'] },
    smokeCheckUrl: 'https://example.com/health',
    // php-fpm first: the new code must be serving before nginx's new static files point at it.
    // The worker and the scheduler last, together: jobs queued by the new code meet new code.
    order: [['phpFpm'], ['nginx'], ['queueWorker', 'scheduler']],
  },
  nlb: { host: 'php-fpm.prod.example.internal', port: 9000 },
  nginx: { serverNames: ['example.com', 'www.example.com'] },
  phpFpm: {
    pool: {
      pm: 'dynamic',
      maxChildren: 24,
      startServers: 6,
      minSpareServers: 4,
      maxSpareServers: 8,
      maxRequests: 1000,
    },
  },
  logs: { group: '/ecs/example-prod', retentionDays: 90 },
  app: {
    env: {
      APP_ENV: 'production',
      APP_DEBUG: 'false',
      APP_URL: 'https://example.com',
      LOG_CHANNEL: 'stderr',
      DB_CONNECTION: 'mysql',
      DB_HOST: 'example-prod.cluster-c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com',
      DB_PORT: '3306',
      DB_DATABASE: 'example',
      DB_USERNAME: 'example',
      CACHE_DRIVER: 'database',
      QUEUE_CONNECTION: 'database',
    },
  },
  secrets: {
    APP_KEY: 'arn:aws:ssm:eu-west-1:123456789012:parameter/example/prod/APP_KEY',
    DB_PASSWORD:
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:example/prod/db-Xy12Ab:password::',
  },
});
