/**
 * Everything an environment's deploy relies on besides ECS itself, put into the emulator the way
 * an operator would have set it up: the roles, the secrets the environment references, the log
 * group with its retention, and each service's target group. A verify test then removes or
 * changes one thing.
 */
import type { EcsEnvironment } from '../../src/environment.js';
import { parseSecretRef } from '../../src/aws/verify.js';
import { putTargetGroup } from './aws-emulator/elbv2.js';
import { putRole } from './aws-emulator/iam.js';
import { putLogGroup } from './aws-emulator/logs.js';
import { putSecret } from './aws-emulator/secrets-manager.js';
import type { AwsEmulator } from './aws-emulator/server.js';
import { putParameter } from './aws-emulator/ssm.js';

export function roleName(arn: string): string {
  return arn.split('/').at(-1) ?? arn;
}

export function seedPrerequisites(emu: AwsEmulator, env: EcsEnvironment): void {
  for (const arn of [env.ecs.executionRoleArn, env.ecs.taskRoleArn]) {
    putRole(emu.iam, roleName(arn), ['ecs-tasks.amazonaws.com']);
  }
  for (const arn of Object.values(env.secrets)) {
    const ref = parseSecretRef(arn);
    if (ref?.kind === 'ssm') putParameter(emu.ssm, ref.names.at(-1) as string);
    if (ref?.kind === 'secretsmanager') {
      const match = /:secret:(.+)-([A-Za-z0-9]{6})$/.exec(ref.secretId);
      if (match) putSecret(emu.secrets, match[1] as string, { suffix: match[2] as string });
    }
  }
  putLogGroup(emu.logs, env.logs.group, env.logs.retentionDays);
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
  }
}
