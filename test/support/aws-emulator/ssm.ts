/**
 * SSM Parameter Store metadata: DescribeParameters (JSON 1.1, target `AmazonSSM`). Values are
 * never served: verify must be able to check a parameter without reading it.
 *
 * https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html:
 * results are best-effort; with MaxResults the call looks at that many parameters, then filters,
 * so a page may hold fewer matches than exist (even none) and a NextToken. The emulator does
 * exactly that, so a client that reads only the first page misses parameters.
 */
import { z } from 'zod';
import type { Account } from './arn.js';
import { epochSeconds, fail, parseInput, type Handlers } from './protocol.js';

export interface ParameterRecord {
  name: string;
  type: 'String' | 'StringList' | 'SecureString';
  modifiedAt: number;
  version: number;
}

export interface SsmState {
  readonly account: Account;
  /** Insertion order is scan order. */
  parameters: Map<string, ParameterRecord>;
}

export function emptySsmState(account: Account): SsmState {
  return { account, parameters: new Map() };
}

export function putParameter(
  state: SsmState,
  name: string,
  type: ParameterRecord['type'] = 'SecureString',
): void {
  const previous = state.parameters.get(name);
  state.parameters.set(name, {
    name,
    type,
    modifiedAt: Date.UTC(2025, 0, 1),
    version: (previous?.version ?? 0) + 1,
  });
}

const describeParametersInput = z
  .object({
    ParameterFilters: z
      .array(
        z.object({
          Key: z.string(),
          Option: z.string().optional(),
          Values: z.array(z.string()).min(1).max(50).optional(),
        }),
      )
      .optional(),
    MaxResults: z.number().int().min(1).max(50).optional(),
    NextToken: z.string().optional(),
  })
  .passthrough();

function parameterArn(state: SsmState, name: string): string {
  const { region, accountId } = state.account;
  return `arn:aws:ssm:${region}:${accountId}:parameter/${name.replace(/^\//, '')}`;
}

function matches(
  parameter: ParameterRecord,
  filter: { Key: string; Option?: string | undefined; Values?: string[] | undefined },
): boolean {
  const values = filter.Values ?? [];
  if (filter.Key !== 'Name')
    return fail('InvalidFilterKey', `The emulator filters on Name only, not ${filter.Key}`);
  switch (filter.Option ?? 'Equals') {
    case 'Equals':
      return values.includes(parameter.name);
    case 'BeginsWith':
      return values.some((v) => parameter.name.startsWith(v));
    case 'Contains':
      return values.some((v) => parameter.name.includes(v));
    default:
      return fail('InvalidFilterOption', `Option ${filter.Option} is not valid for Name`);
  }
}

export function ssmHandlers(state: SsmState): Handlers {
  return {
    DescribeParameters(raw) {
      const input = parseInput(describeParametersInput, raw);
      const all = [...state.parameters.values()];
      const start = input.NextToken === undefined ? 0 : Number(input.NextToken);
      if (!Number.isInteger(start) || start < 0 || start > all.length) {
        fail('InvalidNextToken', 'The specified token is not valid.');
      }
      const window = all.slice(start, start + (input.MaxResults ?? 10));
      const end = start + window.length;
      const filters = input.ParameterFilters ?? [];
      return {
        Parameters: window
          .filter((p) => filters.every((f) => matches(p, f)))
          .map((p) => ({
            Name: p.name,
            ARN: parameterArn(state, p.name),
            Type: p.type,
            LastModifiedDate: epochSeconds(p.modifiedAt),
            LastModifiedUser: `arn:aws:iam::${state.account.accountId}:user/admin`,
            Version: p.version,
            Tier: 'Standard',
            Policies: [],
            DataType: 'text',
          })),
        ...(end < all.length ? { NextToken: String(end) } : {}),
      };
    },
  };
}
