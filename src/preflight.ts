/**
 * Preflight checks: a task's cheap `preflight(ctx)` (credentials, the account it would deploy to)
 * runs before any task of the plan starts, so `prod:deploy` with the wrong credentials fails in a
 * second instead of after building every image its push depends on.
 *
 *   plan ──every node's preflight, at once──> all pass ──> the run goes on as usual
 *                                          └─> one fails ──> that task fails with its message,
 *                                                            every other task is skipped
 *
 * A dry run (-n, --explain) runs none: it must not reach the network.
 */
import type { PreflightContext } from './dsl.js';
import { failureFrom } from './failure.js';
import type { Failure } from './failure.js';
import type { PlanNode } from './graph.js';

export interface PreflightFailure {
  key: string;
  failure: Failure;
}

/** Runs the preflight of each node that has one; the first failure (in plan order), if any. */
export async function runPreflights(
  nodes: readonly PlanNode[],
  options: {
    root: string;
    signal: AbortSignal;
    log: (key: string, line: string) => void;
  },
): Promise<PreflightFailure | undefined> {
  const checked = nodes.filter((node) => node.task.preflight !== undefined);
  const outcomes = await Promise.all(
    checked.map(async (node): Promise<PreflightFailure | undefined> => {
      const context: PreflightContext = {
        name: node.task.name,
        args: node.args,
        root: options.root,
        signal: options.signal,
        log: (message) => {
          for (const line of message.split('\n')) options.log(node.key, line);
        },
      };
      try {
        await node.task.preflight?.(context);
        return undefined;
      } catch (error) {
        return { key: node.key, failure: failureFrom(error) };
      }
    }),
  );
  return outcomes.find((outcome) => outcome !== undefined);
}
