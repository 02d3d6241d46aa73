/**
 * A task's own AbortController follows its run's signal (Ctrl-C aborts every task) while it can
 * also be aborted alone (watch mode cancels one stale task and the others carry on).
 */

/** Why a task stopped when a change, not the user, stopped it. */
export const SUPERSEDED = 'superseded by a change';

/** Aborts `controller` when `signal` does; returns the unlink (AbortSignal.any leaks on Node 20). */
export function linkAbort(signal: AbortSignal, controller: AbortController): () => void {
  const abort = (): void => controller.abort(signal.reason);
  if (signal.aborted) abort();
  signal.addEventListener('abort', abort, { once: true });
  return () => signal.removeEventListener('abort', abort);
}
