/**
 * The AWS query protocol, as IAM and Elastic Load Balancing v2 speak it: a form-encoded POST
 * (`Action=GetRole&Version=2010-05-08&RoleName=app`) answered with XML.
 *
 *   lists in:   `TargetGroupArns.member.1=...&TargetGroupArns.member.2=...`
 *   lists out:  `<TargetGroups><member>...</member></TargetGroups>`
 *   errors:     `<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code>...`
 *
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-requests.html (the shared query
 * format) and https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html.
 * Services are told apart by `Version`, since every client is pointed at the same endpoint.
 */
import { AwsError } from './protocol.js';

/** One query service: its API version, XML namespace and operations. */
export interface QueryService {
  readonly version: string;
  readonly xmlns: string;
  readonly handlers: Readonly<Record<string, (input: QueryInput) => unknown>>;
}

/** A parsed form body: `a.member.1.b=x` becomes `{ a: [{ b: 'x' }] }`. */
export type QueryInput = { readonly [key: string]: QueryValue };
export type QueryValue = string | QueryInput | readonly QueryValue[];

export function parseQueryBody(body: string): {
  action: string;
  version: string;
  input: QueryInput;
} {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.split('.');
    let node: Record<string, unknown> = root;
    for (let i = 0; i < path.length - 1; i++) {
      const part = path[i] as string;
      // `member` and `entry` name list items; the index after them is the key within the list.
      if (part === 'member' || part === 'entry') continue;
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[path.at(-1) as string] = value;
  }
  const action = typeof root['Action'] === 'string' ? root['Action'] : '';
  const version = typeof root['Version'] === 'string' ? root['Version'] : '';
  return { action, version, input: listsOf(root) as QueryInput };
}

/** `{ "1": x, "2": y }` (from `member.N`) becomes `[x, y]`, recursively. */
function listsOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((k) => listsOf(record[String(k)]));
  }
  return Object.fromEntries(keys.map((k) => [k, listsOf(record[k])]));
}

/** A string member of a query input, or undefined. */
export function queryString(input: QueryInput, key: string): string | undefined {
  const value = input[key];
  return typeof value === 'string' ? value : undefined;
}

/** A list of strings (`Key.member.N`), or an empty list. */
export function queryList(input: QueryInput, key: string): string[] {
  const value = input[key];
  if (!Array.isArray(value)) return [];
  return (value as QueryValue[]).filter((v): v is string => typeof v === 'string');
}

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** Members as XML elements; arrays as `<member>` items, undefined members left out. */
export function toXml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((item) => `<member>${toXml(item)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join('');
  }
  if (typeof value === 'string') return escapeXml(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`emulator bug: cannot render ${typeof value} as XML`);
}

export function queryResponse(
  service: QueryService,
  action: string,
  result: unknown,
  requestId: string,
): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${action}Response xmlns="${service.xmlns}">` +
    `<${action}Result>${toXml(result)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>` +
    `</${action}Response>`
  );
}

export function queryError(error: AwsError, xmlns: string, requestId: string): string {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<ErrorResponse xmlns="${xmlns}">` +
    `<Error><Type>${type}</Type><Code>${escapeXml(error.type)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

/** A query-protocol error with its HTTP status (IAM's NoSuchEntity is a 404). */
export function queryFail(code: string, message: string, status = 400): never {
  throw new AwsError(code, message, status);
}
