/**
 * STS, as much of it as a deploy needs: GetCallerIdentity over STS's query protocol (a form-encoded
 * POST answered in XML), which is what @aws-sdk/client-sts speaks.
 *
 * Request and response shapes follow
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html (the XML example
 * there: GetCallerIdentityResponse > GetCallerIdentityResult > Arn, UserId, Account), and errors the
 * query protocol's ErrorResponse > Error > Type, Code, Message
 * (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
 *
 * Who is calling comes from the SigV4 Authorization header's access key id, the way STS itself
 * knows: a test maps an access key to another account to play "credentials for the wrong account".
 */
import type { Account } from './arn.js';
import { AwsError } from './protocol.js';

export interface Identity {
  readonly accountId: string;
  readonly arn: string;
}

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** The access key id of a SigV4-signed request, or undefined when it is unsigned. */
export function accessKeyOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
}

/** Whether a request is for the query protocol (STS) rather than AWS JSON (ECS, ECR). */
export function isQueryRequest(contentType: string | undefined, target: string | undefined) {
  return (
    target === undefined && (contentType ?? '').startsWith('application/x-www-form-urlencoded')
  );
}

export function stsAnswer(options: {
  body: string;
  account: Account;
  identity: Identity | undefined;
  accessKey: string | undefined;
  requestId: string;
}): string {
  const form = new URLSearchParams(options.body);
  const action = form.get('Action') ?? '';
  if (action !== 'GetCallerIdentity') {
    throw new AwsError(
      'InvalidAction',
      `Could not find operation ${action || '(none)'} for version 2011-06-15`,
    );
  }
  if (form.get('Version') !== '2011-06-15') {
    throw new AwsError('InvalidParameterValue', 'Version must be 2011-06-15');
  }
  if (options.accessKey === undefined) {
    throw new AwsError(
      'MissingAuthenticationToken',
      'Request is missing Authentication Token',
      403,
    );
  }
  const identity = options.identity ?? {
    accountId: options.account.accountId,
    arn: `arn:aws:iam::${options.account.accountId}:user/emulator`,
  };
  return `<GetCallerIdentityResponse xmlns="${NS}">
  <GetCallerIdentityResult>
    <Arn>${xml(identity.arn)}</Arn>
    <UserId>${xml(options.accessKey)}</UserId>
    <Account>${xml(identity.accountId)}</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata>
    <RequestId>${options.requestId}</RequestId>
  </ResponseMetadata>
</GetCallerIdentityResponse>
`;
}

/** A query-protocol error: `Sender` faults are 4xx, `Receiver` faults 5xx. */
export function stsError(error: AwsError, requestId: string): string {
  return `<ErrorResponse xmlns="${NS}">
  <Error>
    <Type>${error.status >= 500 ? 'Receiver' : 'Sender'}</Type>
    <Code>${xml(error.type)}</Code>
    <Message>${xml(error.message)}</Message>
  </Error>
  <RequestId>${requestId}</RequestId>
</ErrorResponse>
`;
}

function xml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}
