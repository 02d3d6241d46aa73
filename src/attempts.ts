/**
 * One run's table of nodes: for each, its current attempt, the promise every dependent shares,
 * and its result once decided. Watch mode supersedes an attempt when a change makes its node
 * stale mid-run; the replacement takes over the node's promise and result.
 *
 *   begin ──> deciding ──hashed──> (hashed) ──slot──> live ──> settled
 *      ▲          └─────────────── up to date, skipped ───────────┘
 *      └── supersede: the old attempt settles on its own (a live one is aborted first) and its
 *          result is no longer the node's; the replacement begins once a live one has exited
 */
import type { DepResult, FingerprintDetail } from './fingerprint.js';
import type { PlanNode } from './graph.js';
import type { PreflightFailure } from './preflight.js';
import type { TaskStatus } from './report/events.js';

/** What a node came to in a run. */
export interface NodeResult {
  status: TaskStatus;
  /** Undefined when the node never got as far as hashing (a dependency failed). */
  fingerprint: string | undefined;
  outputs: Record<string, string>;
  detail: FingerprintDetail | undefined;
  reason: string | undefined;
  /**
   * What dependents hash: the fingerprint and the digests of outputs that are the same on every
   * machine for the same content (not a local image id), so derived tags are portable.
   */
  dep?: DepResult;
}

/** One execution of a node. */
export interface Attempt {
  readonly node: PlanNode;
  /** Replaced by a newer attempt: never starts, and its result is its own, not the node's. */
  superseded: boolean;
  /** Its `start` event went out, so its `end` must too, superseded or not. */
  started: boolean;
  /** The live attempt it replaces: this one runs only once that one has exited. */
  readonly replaces: Promise<NodeResult> | undefined;
  /** A rerun's preflight checks (preflight.ts): this one runs only once they have passed. */
  readonly preflight: Promise<PreflightFailure | undefined> | undefined;
}

export class Attempts {
  readonly results = new Map<string, Promise<NodeResult>>();
  /** Results of the nodes decided so far, readable synchronously while the run goes on. */
  readonly settled = new Map<string, NodeResult>();
  /** Nodes whose run() is in progress: aborting the controller stops its processes. */
  readonly live = new Map<string, AbortController>();
  private readonly current = new Map<string, Attempt>();
  /** Nodes hashed but not yet settled: the inputs they saw. */
  private readonly hashed = new Map<string, FingerprintDetail>();

  /** A new attempt at `node`, run by `execute`; its promise becomes the node's. */
  begin(
    node: PlanNode,
    execute: (attempt: Attempt) => Promise<NodeResult>,
    replaces?: Promise<NodeResult>,
    preflight?: Promise<PreflightFailure | undefined>,
  ): Promise<NodeResult> {
    const attempt: Attempt = { node, superseded: false, started: false, replaces, preflight };
    this.current.set(node.key, attempt);
    const result = execute(attempt);
    this.results.set(node.key, result);
    return result;
  }

  /**
   * Marks the current attempts at these nodes superseded, aborting live ones, and forgets their
   * results. Returns the keys it superseded, and the promises of the live ones by key.
   */
  supersede(nodes: readonly PlanNode[]): {
    replaced: Set<string>;
    exiting: Map<string, Promise<NodeResult>>;
  } {
    const replaced = new Set<string>();
    const exiting = new Map<string, Promise<NodeResult>>();
    for (const { key } of nodes) {
      const previous = this.results.get(key);
      const attempt = this.current.get(key);
      if (!previous || !attempt) continue;
      attempt.superseded = true;
      const controller = this.live.get(key);
      if (controller) {
        controller.abort();
        exiting.set(key, previous);
      }
      replaced.add(key);
      this.results.delete(key);
      this.settled.delete(key);
      this.hashed.delete(key);
    }
    return { replaced, exiting };
  }

  /** The attempt has hashed its inputs (what `seen` answers until it settles). */
  hashedWith(attempt: Attempt, detail: FingerprintDetail): void {
    if (!attempt.superseded) this.hashed.set(attempt.node.key, detail);
  }

  /** Enters an attempt's result as its node's, unless the attempt was superseded. */
  enter(attempt: Attempt, result: NodeResult): void {
    if (attempt.superseded) return;
    this.settled.set(attempt.node.key, result);
    this.hashed.delete(attempt.node.key);
  }

  /** How many nodes ended with each status, once every one has. */
  async counts(): Promise<Record<TaskStatus, number>> {
    const counts = { ran: 0, 'up-to-date': 0, failed: 0, skipped: 0, cancelled: 0, 'would-run': 0 };
    for (const result of await Promise.all(this.results.values())) counts[result.status]++;
    return counts;
  }

  /** The results of `nodes` when every one has settled already, else undefined (await them). */
  settledOf(nodes: readonly PlanNode[]): NodeResult[] | undefined {
    // Indexed: this runs for every node of a no-op run, mostly unoptimized (see fingerprint.ts).
    const results: NodeResult[] = [];
    for (let i = 0; i < nodes.length; i++) {
      const result = this.settled.get((nodes[i] as PlanNode).key);
      if (!result) return undefined;
      results.push(result);
    }
    return results;
  }

  /** The hash of each input file as `key` saw it; undefined before it hashed them. */
  seen(key: string): Readonly<Record<string, string>> | undefined {
    return (this.hashed.get(key) ?? this.settled.get(key)?.detail)?.files;
  }
}
