/**
 * zod issues -> ConfigIssue: the key path, what the schema wanted and what the file had, in words
 * a person fixing a config file can act on ("expected one of 256|512, found 300"), never zod's
 * generic "Invalid input".
 */
import { z } from 'zod';
import { suggest } from '../suggestion.js';
import { describeValue } from './escape.js';
import type { ConfigIssue } from './failure.js';

/** `services.phpFpm.cpu`, `network.subnets[1]`, `app.env["X-Y"]`. */
export function formatKeyPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out === '' ? '(top level)' : out;
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (schema instanceof z.ZodEffects) schema = schema.innerType() as z.ZodTypeAny;
    else if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) {
      schema = schema.unwrap() as z.ZodTypeAny;
    } else if (schema instanceof z.ZodDefault) schema = schema.removeDefault() as z.ZodTypeAny;
    else return schema;
  }
}

/** A discriminated union stands for the option the input's discriminator picks. */
function resolve(schema: z.ZodTypeAny, value: unknown): z.ZodTypeAny | undefined {
  const inner = unwrap(schema);
  if (!(inner instanceof z.ZodDiscriminatedUnion)) return inner;
  const union = inner as z.ZodDiscriminatedUnion<string, z.ZodDiscriminatedUnionOption<string>[]>;
  const tag = valueAt(value, [union.discriminator]);
  const option = union.optionsMap.get(tag as z.Primitive);
  return option === undefined ? undefined : unwrap(option);
}

/** The keys the schema allows at `path`, to suggest the one a typo meant. */
function knownKeysAt(root: z.ZodTypeAny, input: unknown, path: readonly (string | number)[]) {
  let schema = resolve(root, input);
  for (let depth = 0; depth < path.length && schema !== undefined; depth += 1) {
    const key = path[depth];
    const next: z.ZodTypeAny | undefined =
      schema instanceof z.ZodObject
        ? (schema.shape as Record<string, z.ZodTypeAny>)[String(key)]
        : schema instanceof z.ZodArray
          ? (schema.element as z.ZodTypeAny)
          : schema instanceof z.ZodRecord
            ? (schema.valueSchema as z.ZodTypeAny)
            : undefined;
    schema =
      next === undefined ? undefined : resolve(next, valueAt(input, path.slice(0, depth + 1)));
  }
  return schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
}

const ARTICLE: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean (true or false)',
  array: 'an array',
  object: 'an object',
};

function found(value: unknown): string {
  return value === undefined ? 'nothing (the key is missing)' : describeValue(value);
}

function bound(
  type: string,
  limit: number | bigint,
  relation: 'at least' | 'at most' | 'more than' | 'less than' | 'exactly',
): string {
  const plural = String(limit) === '1' ? '' : 's';
  if (type === 'array') return `${relation} ${limit} item${plural}`;
  if (type === 'string') return `${relation} ${limit} character${plural}`;
  return `a number ${relation} ${limit}`;
}

/** Turns a failed parse of `input` against `schema` into one ConfigIssue per problem. */
export function configIssues(
  error: z.ZodError,
  input: unknown,
  schema: z.ZodTypeAny,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const value = valueAt(input, issue.path);
    switch (issue.code) {
      case z.ZodIssueCode.unrecognized_keys:
        for (const key of issue.keys) {
          const known = knownKeysAt(schema, input, issue.path);
          const [suggestion] = suggest(key, known);
          issues.push({
            path: formatKeyPath([...issue.path, key]),
            expected: known.length > 0 ? `one of the known keys ${known.join('|')}` : 'no such key',
            found: `unknown key ${JSON.stringify(key)}`,
            ...(suggestion === undefined ? {} : { hint: `did you mean "${suggestion}"?` }),
          });
        }
        continue;
      case z.ZodIssueCode.invalid_type:
        issues.push({
          path: formatKeyPath(issue.path),
          expected: ARTICLE[issue.expected] ?? issue.expected,
          found: found(value),
        });
        continue;
      case z.ZodIssueCode.invalid_literal:
        issues.push({
          path: formatKeyPath(issue.path),
          expected: JSON.stringify(issue.expected),
          found: found(value),
        });
        continue;
      case z.ZodIssueCode.invalid_enum_value:
        issues.push({
          path: formatKeyPath(issue.path),
          expected: `one of ${issue.options.join('|')}`,
          found: found(value),
        });
        continue;
      case z.ZodIssueCode.invalid_union_discriminator:
        issues.push({
          path: formatKeyPath(issue.path),
          expected: `one of ${issue.options.map(String).join('|')}`,
          found: found(value),
        });
        continue;
      case z.ZodIssueCode.too_small:
        issues.push({
          path: formatKeyPath(issue.path),
          expected: bound(
            issue.type,
            issue.minimum,
            issue.exact === true ? 'exactly' : issue.inclusive ? 'at least' : 'more than',
          ),
          found: found(value),
        });
        continue;
      case z.ZodIssueCode.too_big:
        issues.push({
          path: formatKeyPath(issue.path),
          expected: bound(
            issue.type,
            issue.maximum,
            issue.exact === true ? 'exactly' : issue.inclusive ? 'at most' : 'less than',
          ),
          found: found(value),
        });
        continue;
      case z.ZodIssueCode.custom: {
        const params = issue.params as { expected?: unknown; path?: unknown } | undefined;
        const expected = typeof params?.expected === 'string' ? params.expected : issue.message;
        issues.push({ path: formatKeyPath(issue.path), expected, found: found(value) });
        continue;
      }
      default:
        // Schemas here give regexes and refinements a message that reads as "expected <message>".
        issues.push({
          path: formatKeyPath(issue.path),
          expected: issue.message,
          found: found(value),
        });
    }
  }
  return issues;
}
