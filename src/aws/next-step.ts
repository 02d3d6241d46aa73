/**
 * How a failure message names the command that fixes things: every renderer of AWS failures
 * (errors.ts and the per-concept *-failures.ts, verify-problems.ts) spells it the same way, so a
 * user can copy it as it stands.
 */

/** `npx task ENV:NAME`, quoted as code. */
export function taskCommand(environment: string, name: string): string {
  return `\`npx task ${environment}:${name}\``;
}
