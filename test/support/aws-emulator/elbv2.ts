/**
 * Elastic Load Balancing v2 target groups, as a deploy's verify reads them: DescribeTargetGroups.
 *
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetGroups.html:
 * when any ARN asked for does not exist the whole call fails with `TargetGroupNotFound`, so a
 * client that asks for several at once learns only that one of them is missing.
 */
import { hexId, type Account } from './arn.js';
import { queryFail, queryList, type QueryService } from './query.js';

export interface TargetGroupRecord {
  name: string;
  protocol: 'HTTP' | 'HTTPS' | 'TCP' | 'TLS' | 'UDP' | 'TCP_UDP' | 'GENEVE';
  port: number;
  targetType: 'instance' | 'ip' | 'lambda' | 'alb';
  vpcId: string;
}

export interface Elbv2State {
  readonly account: Account;
  /** Keyed by ARN. */
  targetGroups: Map<string, TargetGroupRecord>;
}

export function emptyElbv2State(account: Account): Elbv2State {
  return { account, targetGroups: new Map() };
}

/** Adds a target group under `arn` (tests use the ARNs an environment file names). */
export function putTargetGroup(state: Elbv2State, arn: string, record: TargetGroupRecord): void {
  state.targetGroups.set(arn, record);
}

export function elbv2Service(state: Elbv2State): QueryService {
  return {
    version: '2015-12-01',
    xmlns: 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/',
    handlers: {
      DescribeTargetGroups(input) {
        const arns = queryList(input, 'TargetGroupArns');
        const names = queryList(input, 'Names');
        const found = [...state.targetGroups].filter(
          ([arn, tg]) =>
            (arns.length === 0 || arns.includes(arn)) &&
            (names.length === 0 || names.includes(tg.name)),
        );
        const missing =
          arns.find((arn) => !state.targetGroups.has(arn)) ??
          names.find((name) => !found.some(([, tg]) => tg.name === name));
        if (missing !== undefined) {
          queryFail('TargetGroupNotFound', `One or more target groups not found`);
        }
        return {
          TargetGroups: found.map(([arn, tg]) => ({
            TargetGroupArn: arn,
            TargetGroupName: tg.name,
            Protocol: tg.protocol,
            Port: tg.port,
            VpcId: tg.vpcId,
            HealthCheckProtocol:
              tg.protocol === 'HTTP' || tg.protocol === 'HTTPS' ? tg.protocol : 'TCP',
            HealthCheckPort: 'traffic-port',
            HealthCheckEnabled: true,
            HealthCheckIntervalSeconds: 30,
            HealthCheckTimeoutSeconds: 5,
            HealthyThresholdCount: 5,
            UnhealthyThresholdCount: 2,
            LoadBalancerArns: [
              `arn:aws:elasticloadbalancing:${state.account.region}:${state.account.accountId}:loadbalancer/app/lb/${hexId(arn, 16)}`,
            ],
            TargetType: tg.targetType,
            IpAddressType: 'ipv4',
          })),
        };
      },
    },
  };
}
