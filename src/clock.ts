/**
 * Milliseconds from an arbitrary origin, for durations. Not performance.now(): the first use of
 * the `performance` global loads Node's perf_hooks (a dozen internal modules) into every run.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
