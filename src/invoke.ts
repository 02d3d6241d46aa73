/**
 * Rake's invoke, from inside a run: `ctx.invoke('name')` plans the task (and its deps) on demand
 * and settles it in the same run, so each node still runs once and incrementally. The invoker
 * gives up its concurrency slot while it waits, so invoking never deadlocks a full pool.
 */
import { TaskError } from './failure.js';
import { closure, parseTarget } from './graph.js';
import type { PlanNode, Planner } from './graph.js';
import type { RunEvent } from './report/events.js';
import type { NodeResult } from './scheduler.js';
import type { Semaphore } from './semaphore.js';
import type { Extended } from './lock.js';

/** What invoke needs of the running scheduler. */
export interface InvokeHost {
  readonly planner: Planner;
  readonly slots: Semaphore;
  emit(event: RunEvent): void;
  /** Whether the run has this node in hand already (it is not announced again). */
  has(key: string): boolean;
  settle(node: PlanNode): Promise<NodeResult>;
  /** Why a node did not succeed, in words. */
  whyNot(key: string, result: NodeResult): string;
  /** Claims nodes against other runs as the plan's are (lock.ts); absent in a dry run. */
  claim?: ((keys: string[]) => Promise<Extended>) | undefined;
}

export async function invoke(
  host: InvokeHost,
  from: PlanNode,
  name: string,
  args?: Record<string, string>,
): Promise<void> {
  const request = args ? { ...parseTarget(name), named: args } : parseTarget(name);
  const expansion = host.planner.expand([request], from.task.scope);
  if (!expansion.ok) {
    const why =
      expansion.error.reason === 'unknown-task'
        ? `no task named "${name}"`
        : expansion.error.reason;
    throw new TaskError({ reason: 'invoke-failed', task: name, why });
  }
  const [target] = expansion.nodes as [PlanNode];
  const needed = closure([target]);
  if (needed.includes(from)) {
    throw new TaskError({
      reason: 'invoke-failed',
      task: target.key,
      why: `it depends on ${from.key}`,
    });
  }
  host.emit({
    type: 'plan',
    tasks: needed.filter((n) => !host.has(n.key)).map(planEntry),
    invokedBy: from.key,
  });
  host.slots.release();
  try {
    // Held from here until each node ends (as a planned node), so a direct run of the invoked
    // task waits for this one instead of running it at the same time.
    const claimed = await host.claim?.(
      needed.filter((n) => n.task.run && !n.readOnly && !host.has(n.key)).map((n) => n.key),
    );
    if (claimed?.ok === false) {
      throw new TaskError({
        reason: 'invoke-failed',
        task: target.key,
        why: notClaimed(claimed),
      });
    }
    const result = await host.settle(target);
    if (
      result.status === 'failed' ||
      result.status === 'skipped' ||
      result.status === 'cancelled'
    ) {
      throw new TaskError({
        reason: 'invoke-failed',
        task: target.key,
        why: host.whyNot(target.key, result),
      });
    }
  } finally {
    await host.slots.acquire();
  }
}

function notClaimed(claim: Extract<Extended, { ok: false }>): string {
  // Ctrl-C during the wait: said as the scheduler says a cancelled invoked task (whyNot).
  if (claim.reason === 'aborted') return 'cancelled (interrupted)';
  const held = `another task run (pid ${claim.pid}) holds the lock on ${claim.key}`;
  return claim.deadlock
    ? `${held} and waits for a task this run holds (a deadlock): this run gives up; run it again when the other finishes`
    : `${held}; try again when it finishes`;
}

/** A node as the `plan` event lists it. */
export function planEntry(node: PlanNode): {
  key: string;
  deps: string[];
  desc: string | undefined;
} {
  return { key: node.key, deps: node.deps.map((d) => d.key), desc: node.task.desc };
}

/**
 * The keys whose output a terminal keeps after the run: the targets, and in place of a target
 * that runs nothing itself (an alias, such as ENV:plan for ENV:deploy's dry run) what it stands
 * for, since that is the output its user asked to read.
 */
export function shownTargets(nodes: readonly PlanNode[]): string[] {
  const keys = new Set<string>();
  const visit = (node: PlanNode): void => {
    if (keys.has(node.key)) return;
    keys.add(node.key);
    if (!node.task.run) for (const dep of node.deps) visit(dep);
  };
  for (const node of nodes) visit(node);
  return [...keys];
}
