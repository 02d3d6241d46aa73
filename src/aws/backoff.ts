/**
 * How long to wait between polls of a rollout or a one-off task. Deterministic (no jitter: one
 * deploy polls a handful of services, not a fleet), so tests know exactly when each poll happens.
 *
 *   delay(n) = min(max, initial * factor^n)     2 s, 3 s, 4.5 s, 6.75 s, 10.1 s, 15 s, 15 s, ...
 *
 * A change seen in a poll resets the schedule, so progress is reported promptly while things
 * move and polling slows down while nothing does.
 */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly factor: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 2000, factor: 1.5, maxMs: 15_000 };

/** The delay before poll number `attempt + 1` (attempt counts from 0), in whole milliseconds. */
export function backoffDelay(attempt: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const raw = options.initialMs * options.factor ** Math.max(0, attempt);
  return Math.round(Math.min(options.maxMs, raw));
}

/** The first `count` delays, for messages and tests. */
export function backoffSchedule(
  count: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
): number[] {
  return Array.from({ length: count }, (_, attempt) => backoffDelay(attempt, options));
}
