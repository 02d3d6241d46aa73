/**
 * The `ctx` a task's run function receives: its identity, its dependencies' results, its signal,
 * and the ways it acts (exec, log, invoke). The scheduler supplies where lines go and how invoke
 * plans; this module only shapes them into the documented TaskContext.
 */
import type { DepInfo, ExecOptions, TaskContext } from './dsl.js';
import type { PlanNode } from './graph.js';
import { runProcess } from './process.js';

export interface ContextOptions {
  node: PlanNode;
  fingerprint: string;
  root: string;
  /** The task's own signal: aborted on Ctrl-C, or when watch mode cancels this task alone. */
  signal: AbortSignal;
  /** One line of the task's output, to its log and the reporter. */
  line: (stream: 'stdout' | 'stderr' | 'log', text: string) => void;
  invoke: (name: string, args?: Record<string, string>) => Promise<void>;
  /** A dependency's settled result (every dependency has settled before run() is called). */
  resultOf: (dep: PlanNode) => DepOutcome | undefined;
}

/** What ctx.deps shows of a dependency's result (no fingerprint: it never got as far as hashing). */
export interface DepOutcome {
  readonly fingerprint: string | undefined;
  readonly outputs: Readonly<Record<string, string>>;
}

export function taskContext(options: ContextOptions): TaskContext {
  const { node, root, signal, line } = options;
  return {
    name: node.task.name,
    args: node.args,
    root,
    fingerprint: options.fingerprint,
    signal,
    log: (message) => {
      for (const text of message.split('\n')) line('log', text);
    },
    exec: (file: string, args: readonly string[] = [], opts: ExecOptions = {}) =>
      runProcess(file, args, {
        cwd: opts.cwd ? resolveIn(root, opts.cwd) : root,
        ...(opts.env ? { env: opts.env } : {}),
        ...(opts.input !== undefined ? { input: opts.input } : {}),
        ...(opts.allowFailure ? { allowFailure: true } : {}),
        signal,
        ...(opts.quiet
          ? {}
          : { onLine: (text: string, stream: 'stdout' | 'stderr') => line(stream, text) }),
      }),
    invoke: options.invoke,
    deps: depsByNode(node.deps, options.resultOf),
  };
}

/**
 * `ctx.deps`: one entry per dependency node, keyed by the node's key (`greet[name=alice]`; a
 * dependency without args is keyed by its task name), so two nodes of one task never collide.
 * A task name also finds its node when only one dependency has that task (a hidden entry, so
 * iterating lists each node once); looking up a name shared by several nodes is a bug in the
 * Taskfile and throws, naming the keys to use instead.
 */
export function depsByNode(
  deps: readonly PlanNode[],
  resultOf: (dep: PlanNode) => DepOutcome | undefined,
): Readonly<Record<string, DepInfo>> {
  const byKey: Record<string, DepInfo> = {};
  let byName: Map<string, PlanNode[]> | undefined;
  for (const dep of deps) {
    const result = resultOf(dep);
    // A copy: a recorded result's outputs have no prototype (records-file.ts), a task's code
    // may call outputs.hasOwnProperty.
    byKey[dep.key] = { fingerprint: result?.fingerprint ?? '', outputs: { ...result?.outputs } };
    if (dep.key === dep.task.name) continue;
    byName ??= new Map();
    const nodes = byName.get(dep.task.name) ?? [];
    nodes.push(dep);
    byName.set(dep.task.name, nodes);
  }
  for (const [name, nodes] of byName ?? []) {
    if (Object.hasOwn(byKey, name)) continue; // the node without args owns its task name
    const keys = nodes.map((n) => n.key);
    Object.defineProperty(byKey, name, {
      enumerable: false,
      get: () => {
        if (keys.length === 1) return byKey[keys[0] as string];
        throw new Error(
          `ctx.deps['${name}'] is ambiguous: this task depends on ${keys.join(' and ')}; ` +
            `look one up by its key, e.g. ctx.deps['${keys[0] ?? name}']`,
        );
      },
    });
  }
  return byKey;
}

function resolveIn(root: string, path: string): string {
  return path.startsWith('/') ? path : `${root}/${path}`;
}
