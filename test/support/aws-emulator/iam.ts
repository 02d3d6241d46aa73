/**
 * IAM roles, as far as a deploy's verify reads them: GetRole.
 *
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html: the role's trust policy
 * (`AssumeRolePolicyDocument`) comes back URL-encoded (RFC 3986), not as plain JSON, so a
 * client that parses it without decoding fails here as it would against IAM. A missing role is
 * `NoSuchEntity` with HTTP 404.
 */
import { hexId, type Account } from './arn.js';
import { queryFail, queryString, type QueryService } from './query.js';

export interface RoleRecord {
  name: string;
  path: string;
  createdAt: number;
  /** The trust policy, as a JSON object. */
  trust: unknown;
}

export interface IamState {
  readonly account: Account;
  roles: Map<string, RoleRecord>;
}

export function emptyIamState(account: Account): IamState {
  return { account, roles: new Map() };
}

/** A role that `services` (e.g. `ecs-tasks.amazonaws.com`) may assume. */
export function putRole(
  state: IamState,
  name: string,
  services: readonly string[],
  options: { path?: string; at?: number } = {},
): RoleRecord {
  const role: RoleRecord = {
    name,
    path: options.path ?? '/',
    createdAt: options.at ?? Date.UTC(2025, 0, 1),
    trust: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: services.length === 1 ? services[0] : [...services] },
          Action: 'sts:AssumeRole',
        },
      ],
    },
  };
  state.roles.set(name, role);
  return role;
}

export function roleArn(state: IamState, role: RoleRecord): string {
  return `arn:aws:iam::${state.account.accountId}:role${role.path}${role.name}`;
}

export function iamService(state: IamState): QueryService {
  return {
    version: '2010-05-08',
    xmlns: 'https://iam.amazonaws.com/doc/2010-05-08/',
    handlers: {
      GetRole(input) {
        const name = queryString(input, 'RoleName') ?? '';
        if (!/^[\w+=,.@-]{1,64}$/.test(name)) {
          queryFail(
            'ValidationError',
            `1 validation error detected: Value '${name}' at 'roleName' failed to satisfy constraint`,
          );
        }
        const role = state.roles.get(name);
        if (!role) queryFail('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
        return {
          Role: {
            Path: role.path,
            RoleName: role.name,
            RoleId: `AROA${hexId(role.name, 17).toUpperCase()}`,
            Arn: roleArn(state, role),
            CreateDate: new Date(role.createdAt).toISOString(),
            AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(role.trust)),
            MaxSessionDuration: 3600,
          },
        };
      },
    },
  };
}
