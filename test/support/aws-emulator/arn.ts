/**
 * Names the emulator gives to things: ARNs in AWS's formats and ids derived from a seed, so
 * that the same sequence of requests yields the same task ids, deployment ids and event ids.
 */
import { createHash } from 'node:crypto';

export interface Account {
  readonly region: string;
  readonly accountId: string;
}

export function ecsArn(account: Account, resource: string): string {
  return `arn:aws:ecs:${account.region}:${account.accountId}:${resource}`;
}

export function ecrArn(account: Account, resource: string): string {
  return `arn:aws:ecr:${account.region}:${account.accountId}:${resource}`;
}

/** A lowercase hex id (ECS task ids are 32 hex characters). */
export function hexId(seed: string, length = 32): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, length);
}

/** `ecs-svc/` and 19 digits, like ECS deployment ids. */
export function deploymentId(seed: string): string {
  const digits = BigInt(`0x${hexId(seed, 16)}`) % 10n ** 19n;
  return `ecs-svc/${digits.toString().padStart(19, '0')}`;
}

/** A UUID-shaped id (service events, request ids). */
export function uuidId(seed: string): string {
  const h = hexId(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
