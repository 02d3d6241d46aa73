/**
 * A service's settings besides its task definition and count, as the environment wants them and
 * as ECS has them: deployment configuration (with alarms), network configuration, load
 * balancers, platform version, health check grace period, tag propagation and the
 * execute-command flag. Both sides normalise to the same shape, so `ENV:diff` shows only real
 * differences and `deploy` sends one UpdateService carrying all of them when any differs, and
 * nothing when none does. Pure.
 */
import type { RegisterTaskDefinitionCommandInput, Service } from '@aws-sdk/client-ecs';
import type { EcsEnvironment } from '../environment.js';
import { loadBalancedContainer } from './create.js';

/** The environment's tags as ECS takes them (`tags: [{key, value}]`), or nothing. */
export function ecsTags(tags: Readonly<Record<string, string>> | undefined) {
  const list = Object.entries(tags ?? {}).map(([key, value]) => ({ key, value }));
  return list.length === 0 ? {} : { tags: list };
}

/** What UpdateService takes for these settings (UpdateServiceCommandInput's members). */
export interface ServiceSettings {
  readonly deploymentConfiguration: {
    readonly minimumHealthyPercent: number;
    readonly maximumPercent: number;
    readonly deploymentCircuitBreaker: { readonly enable: boolean; readonly rollback: boolean };
    readonly alarms: {
      readonly alarmNames: readonly string[];
      readonly enable: boolean;
      readonly rollback: boolean;
    };
  };
  readonly networkConfiguration: {
    readonly awsvpcConfiguration: {
      readonly subnets: readonly string[];
      readonly securityGroups: readonly string[];
      readonly assignPublicIp: 'ENABLED' | 'DISABLED';
    };
  };
  readonly loadBalancers: readonly {
    readonly targetGroupArn: string;
    readonly containerName: string;
    readonly containerPort: number;
  }[];
  readonly platformVersion: string | undefined;
  readonly healthCheckGracePeriodSeconds: number | undefined;
  readonly propagateTags: string;
  readonly enableExecuteCommand: boolean;
}

type EnvService = EcsEnvironment['services'][string];

const sorted = (list: readonly string[] | undefined) => [...(list ?? [])].sort();

/** The environment's settings for one service; `definition` names the load-balanced container. */
export function desiredSettings(
  env: EcsEnvironment,
  service: EnvService,
  definition: RegisterTaskDefinitionCommandInput | undefined,
): ServiceSettings {
  const { deploy, network } = env;
  const port = service.containerPort;
  const balanced = service.loadBalancer !== undefined && port !== undefined;
  return {
    deploymentConfiguration: {
      minimumHealthyPercent: deploy.minimumHealthyPercent,
      maximumPercent: deploy.maximumPercent,
      deploymentCircuitBreaker: { ...deploy.circuitBreaker },
      // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html
      alarms: {
        alarmNames: sorted(deploy.alarms?.names),
        enable: (deploy.alarms?.names.length ?? 0) > 0,
        rollback: deploy.alarms?.rollback ?? false,
      },
    },
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: sorted(network.subnets),
        securityGroups: sorted(network.securityGroups),
        assignPublicIp: network.assignPublicIp ? 'ENABLED' : 'DISABLED',
      },
    },
    loadBalancers:
      balanced && service.loadBalancer
        ? [
            {
              targetGroupArn: service.loadBalancer.targetGroupArn,
              containerName: definition ? loadBalancedContainer(definition, port) : '',
              containerPort: port,
            },
          ]
        : [],
    // Fargate runs LATEST unless told otherwise; EC2 has no platform version.
    platformVersion: service.launchType === 'FARGATE' ? 'LATEST' : undefined,
    // ECS refuses a grace period on a service without a load balancer.
    healthCheckGracePeriodSeconds: balanced
      ? (service.healthCheckGracePeriodSeconds ?? 0)
      : undefined,
    propagateTags: 'SERVICE',
    enableExecuteCommand: false,
  };
}

/** The same settings as DescribeServices shows them, defaults made explicit. */
export function liveSettings(service: Service, launchType: string): ServiceSettings {
  const config = service.deploymentConfiguration;
  const vpc = service.networkConfiguration?.awsvpcConfiguration;
  const balancers = service.loadBalancers ?? [];
  return {
    deploymentConfiguration: {
      minimumHealthyPercent: config?.minimumHealthyPercent ?? 100,
      maximumPercent: config?.maximumPercent ?? 200,
      deploymentCircuitBreaker: {
        enable: config?.deploymentCircuitBreaker?.enable ?? false,
        rollback: config?.deploymentCircuitBreaker?.rollback ?? false,
      },
      alarms: {
        alarmNames: sorted(config?.alarms?.alarmNames),
        enable: config?.alarms?.enable ?? false,
        rollback: config?.alarms?.rollback ?? false,
      },
    },
    networkConfiguration: {
      awsvpcConfiguration: {
        subnets: sorted(vpc?.subnets),
        securityGroups: sorted(vpc?.securityGroups),
        assignPublicIp: vpc?.assignPublicIp ?? 'DISABLED',
      },
    },
    loadBalancers: balancers.map((b) => ({
      targetGroupArn: b.targetGroupArn ?? '',
      containerName: b.containerName ?? '',
      containerPort: b.containerPort ?? 0,
    })),
    platformVersion: service.platformVersion ?? (launchType === 'FARGATE' ? 'LATEST' : undefined),
    healthCheckGracePeriodSeconds:
      balancers.length > 0 ? (service.healthCheckGracePeriodSeconds ?? 0) : undefined,
    propagateTags: service.propagateTags ?? 'NONE',
    enableExecuteCommand: service.enableExecuteCommand ?? false,
  };
}

/** The settings as stable JSON text, one member per line: what `diff` compares and shows. */
export function settingsText(settings: ServiceSettings): string {
  return `${JSON.stringify(settings, null, 2)}\n`;
}

export function sameSettings(a: ServiceSettings, b: ServiceSettings): boolean {
  return settingsText(a) === settingsText(b);
}

/** UpdateService members that set every one of these settings (undefined ones left out). */
export function settingsUpdate(settings: ServiceSettings) {
  const { alarms, ...config } = settings.deploymentConfiguration;
  return {
    deploymentConfiguration: {
      ...config,
      alarms: { ...alarms, alarmNames: [...alarms.alarmNames] },
    },
    networkConfiguration: {
      awsvpcConfiguration: {
        ...settings.networkConfiguration.awsvpcConfiguration,
        subnets: [...settings.networkConfiguration.awsvpcConfiguration.subnets],
        securityGroups: [...settings.networkConfiguration.awsvpcConfiguration.securityGroups],
      },
    },
    loadBalancers: settings.loadBalancers.map((b) => ({ ...b })),
    ...(settings.platformVersion === undefined
      ? {}
      : { platformVersion: settings.platformVersion }),
    ...(settings.healthCheckGracePeriodSeconds === undefined
      ? {}
      : { healthCheckGracePeriodSeconds: settings.healthCheckGracePeriodSeconds }),
    propagateTags: settings.propagateTags as 'SERVICE',
    enableExecuteCommand: settings.enableExecuteCommand,
  };
}
