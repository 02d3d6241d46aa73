/**
 * Registry -> plan: resolves names (relative to the requesting namespace first, as Rake does),
 * expands each request to the closure of its dependencies, and finds cycles before anything runs.
 * Pure: no I/O. A task requested with different args is a different node (rake #53).
 */
import type { DepSpec, Registry, TaskDefinition } from './dsl.js';
import { suggest } from './suggestion.js';

export interface PlanNode {
  /** Unique per (task, args): `greet` or `greet[name=alice]`. */
  readonly key: string;
  readonly task: TaskDefinition;
  readonly args: Readonly<Record<string, string>>;
  readonly deps: readonly PlanNode[];
  /** The task's readOnly for these args: never recorded, never locked. */
  readonly readOnly: boolean;
}

export interface Request {
  readonly name: string;
  /** From `name[a,b]`: mapped onto the task's declared args in order. */
  readonly positional?: readonly string[];
  /** From `-- --key=value` or a dep's args object. */
  readonly named?: Readonly<Record<string, string>>;
}

export type PlanError =
  | { reason: 'unknown-task'; name: string; requestedBy: string | undefined; suggestions: string[] }
  | { reason: 'cycle'; path: string[] }
  | { reason: 'bad-args'; task: string; message: string }
  | { reason: 'taskfile'; problems: string[] };

export type Expansion = { ok: true; nodes: PlanNode[] } | { ok: false; error: PlanError };

export class Planner {
  /** Every node planned so far, in dependency order (a node comes after its deps). */
  readonly order: PlanNode[] = [];
  private readonly byKey = new Map<string, PlanNode>();

  constructor(private readonly registry: Registry) {}

  get nodes(): ReadonlyMap<string, PlanNode> {
    return this.byKey;
  }

  /** Adds the requests and their dependency closure; returns the requested nodes. */
  expand(requests: readonly Request[], scope: readonly string[] = []): Expansion {
    if (this.registry.problems.length > 0) {
      return { ok: false, error: { reason: 'taskfile', problems: [...this.registry.problems] } };
    }
    const nodes: PlanNode[] = [];
    try {
      for (const request of requests) {
        nodes.push(this.visit(request, scope, undefined, []));
      }
    } catch (thrown) {
      if (thrown instanceof PlanFailure) return { ok: false, error: thrown.error };
      throw thrown;
    }
    return { ok: true, nodes };
  }

  private visit(
    request: Request,
    scope: readonly string[],
    requestedBy: string | undefined,
    stack: string[],
  ): PlanNode {
    const task = this.resolve(request.name, scope, requestedBy);
    // Most requests (every plain dep, of every node) name no args: their key is the task's name,
    // found without making an args record and its key list per edge of the graph.
    const bound =
      request.positional === undefined && request.named === undefined
        ? undefined
        : bindArgs(task, request);
    const key = bound ? nodeKey(task.name, bound) : task.name;
    const existing = this.byKey.get(key);
    if (existing) return existing;
    const args = bound ?? {};
    if (stack.includes(key)) {
      const from = stack.indexOf(key);
      throw new PlanFailure({ reason: 'cycle', path: [...stack.slice(from), key] });
    }
    stack.push(key);
    // Indexed loops here and in unique(): this runs once per edge, cold, in the interpreter,
    // where map()'s callback and every()'s cost more than the loop (see task-options.ts).
    const specs = depsFor(task, args, key);
    const deps: PlanNode[] = [];
    for (let index = 0; index < specs.length; index++) {
      deps.push(this.visit(parseDep(specs[index] as DepSpec), task.scope, task.name, stack));
    }
    stack.pop();
    const node: PlanNode = {
      key,
      task,
      args,
      deps: unique(deps),
      readOnly: readOnlyFor(task, args, key),
    };
    this.byKey.set(key, node);
    this.order.push(node);
    return node;
  }

  private resolve(name: string, scope: readonly string[], requestedBy: string | undefined) {
    const found = resolveName(this.registry, name, scope);
    if (found) return found;
    throw new PlanFailure({
      reason: 'unknown-task',
      name,
      requestedBy,
      suggestions: suggest(name, [...this.registry.tasks.keys()]),
    });
  }
}

/** Rake's lookup: `a:b` scope, name `c` tries `a:b:c`, `a:c`, `c`; a leading `:` is absolute. */
export function resolveName(
  registry: Registry,
  name: string,
  scope: readonly string[],
): TaskDefinition | undefined {
  if (name.startsWith(':'))
    return registry.tasks.get(name.slice(1)) ?? fromRule(registry, name.slice(1));
  if (scope.length === 0) return registry.tasks.get(name) ?? fromRule(registry, name);
  for (let depth = scope.length; depth >= 0; depth--) {
    const candidate = [...scope.slice(0, depth), name].join(':');
    const found = registry.tasks.get(candidate);
    if (found) return found;
  }
  return fromRule(registry, name);
}

function fromRule(registry: Registry, path: string): TaskDefinition | undefined {
  const rule = registry.rules.find((r) => path.endsWith(r.target) && path.length > r.target.length);
  if (!rule) return undefined;
  const source = rule.source(path);
  const { run } = rule.options;
  const definition: TaskDefinition = {
    name: path,
    scope: [],
    kind: 'file',
    desc: rule.options.desc,
    deps: rule.options.deps ?? [],
    inputs: [source],
    outputs: [path],
    env: rule.options.env ?? [],
    vars: { ...rule.options.vars, source },
    args: [],
    version: rule.options.version,
    persistent: false,
    readOnly: false,
    preflight: rule.options.preflight,
    run: run ? (ctx) => run({ ...ctx, args: { target: path, source } }) : undefined,
    // The wrapper above is the same for every rule: the rule's own module is its definition.
    module: rule.module,
  };
  registry.tasks.set(path, definition);
  return definition;
}

/** `greet[alice,bob]` -> { name: 'greet', positional: ['alice', 'bob'] }. */
export function parseTarget(text: string): Request {
  if (!text.endsWith(']')) return { name: text };
  const match = /^([^[]+)\[(.*)\]$/s.exec(text);
  if (!match) return { name: text };
  const [, name = '', list = ''] = match;
  return { name, positional: list === '' ? [] : list.split(',') };
}

/** The node's deps: the task's list, or what its deps function gives for these args. */
function depsFor(
  task: TaskDefinition,
  args: Readonly<Record<string, string>>,
  key: string,
): readonly DepSpec[] {
  if (typeof task.deps !== 'function') return task.deps;
  const result = task.deps(args);
  if (result.ok) return result.deps;
  // A Taskfile mistake like a bad option, found only now: it names the call and the variant.
  const where = result.where === undefined ? '' : `${result.where}: `;
  throw new PlanFailure({
    reason: 'taskfile',
    problems: [`${where}task ${task.name}: ${result.message} (planning ${key})`],
  });
}

/** The task's readOnly, or what its function gives for these args; a wrong value is the Taskfile's. */
function readOnlyFor(
  task: TaskDefinition,
  args: Readonly<Record<string, string>>,
  key: string,
): boolean {
  if (typeof task.readOnly !== 'function') return task.readOnly;
  let value: unknown;
  try {
    value = task.readOnly(args);
  } catch (error) {
    value = error;
  }
  if (typeof value === 'boolean') return value;
  const found =
    value instanceof Error ? `threw: ${value.message}` : `returned ${JSON.stringify(value)}`;
  throw new PlanFailure({
    reason: 'taskfile',
    problems: [
      `task ${task.name}: its readOnly function ${found}, not true or false (planning ${key})`,
    ],
  });
}

function parseDep(dep: DepSpec): Request {
  if (typeof dep === 'string') return parseTarget(dep);
  return dep.args ? { name: dep.task, named: dep.args } : { name: dep.task };
}

function bindArgs(task: TaskDefinition, request: Request): Record<string, string> {
  const args: Record<string, string> = {};
  if (request.positional === undefined && request.named === undefined) return args;
  const positional = request.positional ?? [];
  if (positional.length > task.args.length) {
    throw new PlanFailure({
      reason: 'bad-args',
      task: task.name,
      message:
        task.args.length === 0
          ? `takes no arguments, got ${positional.length}`
          : `takes ${task.args.length} argument(s) (${task.args.join(', ')}), got ${positional.length}`,
    });
  }
  positional.forEach((value, index) => {
    args[task.args[index] as string] = value;
  });
  for (const [key, value] of Object.entries(request.named ?? {})) {
    if (!task.args.includes(key)) {
      const known = task.args.length > 0 ? `; it takes ${task.args.join(', ')}` : '; it takes none';
      throw new PlanFailure({
        reason: 'bad-args',
        task: task.name,
        message: `has no argument "${key}"${known}`,
      });
    }
    args[key] = value;
  }
  return args;
}

export function nodeKey(name: string, args: Readonly<Record<string, string>>): string {
  const keys = Object.keys(args);
  if (keys.length === 0) return name;
  keys.sort();
  return `${name}[${keys.map((k) => `${k}=${args[k]}`).join(',')}]`;
}

function unique<T>(items: T[]): T[] {
  // Deps are a handful per task: a scan beats building a Set for each of thousands of nodes.
  if (items.length > 8) return [...new Set(items)];
  for (let index = 1; index < items.length; index++) {
    if (items.indexOf(items[index] as T) !== index) return [...new Set(items)];
  }
  return items;
}

class PlanFailure extends Error {
  constructor(readonly error: PlanError) {
    super(error.reason);
  }
}

/** The nodes and all they depend on, dependencies first. */
export function closure(nodes: readonly PlanNode[]): PlanNode[] {
  const seen = new Set<PlanNode>();
  const visit = (node: PlanNode): void => {
    if (seen.has(node)) return;
    for (const dep of node.deps) visit(dep);
    seen.add(node);
  };
  nodes.forEach(visit);
  return [...seen];
}
