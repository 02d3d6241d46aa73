/**
 * The pieces of AWS JSON 1.1 the handlers share: modelled errors, input validation and
 * timestamps (epoch seconds, which the SDK turns into Dates).
 */
import type { z } from 'zod';

/**
 * A modelled AWS error, answered as `{"__type": type, "message": ...}`. Handlers throw it from
 * deep inside lookups; the server turns it into the response (and a bug into a 500).
 */
export class AwsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function fail(type: string, message: string): never {
  throw new AwsError(type, message);
}

/** An operation: the parsed JSON body in, the JSON body out. */
export type Handler = (input: unknown) => unknown;

export type Handlers = Readonly<Record<string, Handler>>;

/** Validates a request body as the service would, naming the offending member. */
export function parseInput<T extends z.ZodTypeAny>(schema: T, input: unknown): z.infer<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data as z.infer<T>;
  const issue = result.error.issues[0];
  const where = issue?.path.join('.') || 'request';
  return fail('InvalidParameterException', `${where}: ${issue?.message ?? 'invalid'}`);
}

/** Epoch seconds, the wire format of AWS JSON timestamps. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}

/** Drops undefined members so responses carry only what is set. */
export function defined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
