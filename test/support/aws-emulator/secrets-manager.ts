/**
 * Secrets Manager metadata: DescribeSecret (JSON 1.1, target `secretsmanager`). Values are never
 * served: verify must be able to check a secret without reading it.
 *
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html:
 * SecretId is a name, a full ARN or a partial ARN (without the random 6-character suffix); a
 * secret scheduled for deletion is still described, with DeletedDate set, although ECS can no
 * longer read it; a missing one is ResourceNotFoundException.
 */
import { z } from 'zod';
import { hexId, type Account } from './arn.js';
import { epochSeconds, fail, parseInput, type Handlers } from './protocol.js';

export interface SecretRecord {
  name: string;
  /** The random suffix Secrets Manager adds to the ARN (`-Xy12Ab`). */
  suffix: string;
  createdAt: number;
  deletedAt: number | undefined;
  /** Version id -> staging labels (AWSCURRENT, AWSPREVIOUS, custom). */
  versions: Record<string, string[]>;
}

export interface SecretsState {
  readonly account: Account;
  secrets: Map<string, SecretRecord>;
}

export function emptySecretsState(account: Account): SecretsState {
  return { account, secrets: new Map() };
}

export function secretArn(state: SecretsState, secret: SecretRecord): string {
  const { region, accountId } = state.account;
  return `arn:aws:secretsmanager:${region}:${accountId}:secret:${secret.name}-${secret.suffix}`;
}

/** A secret with one AWSCURRENT version; `suffix` as in the ARN an environment names. */
export function putSecret(
  state: SecretsState,
  name: string,
  options: { suffix?: string; deletedAt?: number } = {},
): SecretRecord {
  const record: SecretRecord = {
    name,
    suffix: options.suffix ?? 'AbCdEf',
    createdAt: Date.UTC(2025, 0, 1),
    deletedAt: options.deletedAt,
    versions: { [uuid(name)]: ['AWSCURRENT'] },
  };
  state.secrets.set(name, record);
  return record;
}

function uuid(seed: string): string {
  const h = hexId(`version#${seed}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

const describeSecretInput = z.object({ SecretId: z.string().min(1).max(2048) }).strict();

function findSecret(state: SecretsState, id: string): SecretRecord | undefined {
  const match = /^arn:aws[a-z-]*:secretsmanager:[^:]*:[^:]*:secret:(.+)$/.exec(id);
  if (!match) return state.secrets.get(id);
  const tail = match[1] as string;
  for (const secret of state.secrets.values()) {
    if (tail === `${secret.name}-${secret.suffix}` || tail === secret.name) return secret;
  }
  return undefined;
}

export function secretsHandlers(state: SecretsState): Handlers {
  return {
    DescribeSecret(raw) {
      const input = parseInput(describeSecretInput, raw);
      const secret = findSecret(state, input.SecretId);
      if (!secret)
        fail('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      return {
        ARN: secretArn(state, secret),
        Name: secret.name,
        CreatedDate: epochSeconds(secret.createdAt),
        LastChangedDate: epochSeconds(secret.createdAt),
        ...(secret.deletedAt === undefined ? {} : { DeletedDate: epochSeconds(secret.deletedAt) }),
        VersionIdsToStages: secret.versions,
      };
    },
  };
}
