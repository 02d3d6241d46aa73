/**
 * Everything an environment's deploy relies on besides ECS itself, put into the emulator the way
 * an operator would have set it up: the roles, the secrets the environment references, the log
 * group with its retention, and each service's target group. A verify test then removes or
 * changes one thing; `npm run emulator -- --seed ENV` starts an emulator seeded with it.
 *
 * Straight into the emulator's own store, not through its API: the ARNs the environment names
 * (a secret's random suffix, a target group's id) are ones AWS generates and no API call can
 * choose, and the API keeps behaving as AWS's does.
 */
import type { EcsEnvironment } from '../../src/environment.js';
import { parseSecretRef } from '../../src/aws/secret-ref.js';
import { putTargetGroup } from './aws-emulator/elbv2.js';
import { putRole } from './aws-emulator/iam.js';
import { putLogGroup } from './aws-emulator/logs.js';
import { putSecret } from './aws-emulator/secrets-manager.js';
import type { AwsEmulator } from './aws-emulator/server.js';
import { putParameter } from './aws-emulator/ssm.js';

export function roleName(arn: string): string {
  return arn.split('/').at(-1) ?? arn;
}

/** `role/service-role/name` has the path `/service-role/`, which IAM puts into the role's ARN. */
function rolePath(arn: string): string {
  const parts = arn.split(':').at(-1)?.split('/').slice(1, -1) ?? [];
  return parts.length === 0 ? '/' : `/${parts.join('/')}/`;
}

/** Seeds the emulator; returns what it put there, one line each, for a person to read. */
export function seedPrerequisites(emu: AwsEmulator, env: EcsEnvironment): string[] {
  const seeded: string[] = [];
  for (const arn of new Set([env.ecs.executionRoleArn, env.ecs.taskRoleArn])) {
    putRole(emu.iam, roleName(arn), ['ecs-tasks.amazonaws.com'], { path: rolePath(arn) });
    seeded.push(`role ${arn} (trusting ecs-tasks.amazonaws.com)`);
  }
  for (const [variable, arn] of Object.entries(env.secrets)) {
    const ref = parseSecretRef(arn);
    if (ref?.kind === 'ssm') {
      putParameter(emu.ssm, ref.names.at(-1) as string);
      seeded.push(`SSM parameter ${ref.names.at(-1) as string} (secret ${variable})`);
    }
    if (ref?.kind === 'secretsmanager') {
      const match = /:secret:(.+)-([A-Za-z0-9]{6})$/.exec(ref.secretId);
      if (match) {
        putSecret(emu.secrets, match[1] as string, { suffix: match[2] as string });
        seeded.push(`Secrets Manager secret ${ref.secretId} (secret ${variable})`);
      }
    }
  }
  putLogGroup(emu.logs, env.logs.group, env.logs.retentionDays);
  seeded.push(`log group ${env.logs.group} (${env.logs.retentionDays} days)`);
  for (const service of Object.values(env.services)) {
    const arn = service.loadBalancer?.targetGroupArn;
    if (arn === undefined) continue;
    putTargetGroup(emu.elbv2, arn, {
      name: arn.split('/').at(-2) ?? service.name,
      protocol: 'TCP',
      port: service.containerPort ?? 0,
      targetType: 'ip',
      vpcId: 'vpc-0123456789abcdef0',
    });
    seeded.push(`target group ${arn} (TCP ${service.containerPort ?? 0}, ip)`);
  }
  return seeded;
}
