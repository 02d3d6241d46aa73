/**
 * A command line after `--` that is not `--name=value`: `npx task staging:artisan --
 * migrate:status` or `npx task staging:run -- --service=worker php -v`. From the first word that
 * is not `--name[=value]` (or after a second `--`), every word belongs to the command, and reaches
 * the task as its `command` argument: a JSON array, so each word stays one argv element and no
 * shell ever splits or joins them.
 */

/** The name of the task argument that receives the command. */
export const COMMAND_ARG = 'command';

export function encodeCommand(words: readonly string[]): string {
  return JSON.stringify(words);
}

/** The argv a task was given, or undefined when none was (or it is not an encoded command). */
export function decodeCommand(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed) && parsed.every((w): w is string => typeof w === 'string')) {
      return parsed;
    }
  } catch {
    // not JSON: fall through
  }
  return undefined;
}
