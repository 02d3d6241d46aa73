/**
 * The Taskfile API: task(), file(), rule(), namespace(), desc(). Calling them adds definitions to
 * the registry that the loader installed before importing the Taskfile; nothing runs here.
 */
import type { DefiningModule } from './module-graph.js';
import type { Output } from './output.js';
import {
  checkDepsResult,
  checkName,
  checkOptions,
  isProjectPath,
  projectPath,
} from './task-options.js';

/** Values a task receives for its declared args, by name. */
export type TaskArgs<A extends string = string> = { readonly [K in A]?: string };

export interface ExecOptions {
  /** Working directory, relative to the project root. Default: the project root. */
  cwd?: string;
  /** Extra environment variables for the child (merged over the parent's). */
  env?: Record<string, string | undefined>;
  /** Written to the child's stdin; how secrets reach a process without touching argv. */
  input?: string;
  /** Keep the output out of the task's log and the reporter (e.g. a command that prints a token). */
  quiet?: boolean;
  /** Resolve with the exit code instead of failing the task when the process exits non-zero. */
  allowFailure?: boolean;
}

export interface ExecResult {
  /** The output, less one final newline; at most its last 32 MiB (a long-running server's). */
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface DepInfo {
  readonly fingerprint: string;
  readonly outputs: Readonly<Record<string, string>>;
}

export interface TaskContext<A extends string = string> {
  /** The task's full name, e.g. `staging:render`. */
  readonly name: string;
  readonly args: TaskArgs<A>;
  /** The Taskfile's folder: globs are relative to it and it is the working directory. */
  readonly root: string;
  /** This run's fingerprint of the task (hex sha256): content-addressed tags derive from it. */
  readonly fingerprint: string;
  /**
   * Each dependency's fingerprint and output digests, by the dependency's node key (`greet` or
   * `greet[name=alice]`; a task name also finds its only node): a task that builds FROM another
   * task's image derives that image's content-addressed tag from these.
   */
  readonly deps: Readonly<Record<string, DepInfo>>;
  /** Aborted on Ctrl-C, SIGTERM, or when watch mode supersedes the run. */
  readonly signal: AbortSignal;
  /** Runs a process (argv array, never a shell string); output streams to the task's log. */
  exec(file: string, args?: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** A line in the task's output. */
  log(message: string): void;
  /** Rake's invoke: runs another task (and its deps) once, incrementally, from inside this run. */
  invoke(name: string, args?: Record<string, string>): Promise<void>;
}

/** What a task's preflight check receives: who it is, and how to say something. */
export type PreflightContext<A extends string = string> = Pick<
  TaskContext<A>,
  'name' | 'args' | 'root' | 'signal' | 'log'
>;

/** What a task needs to know to name its outputs, which may derive from its fingerprint. */
export interface OutputInfo<A extends string = string> {
  readonly fingerprint: string;
  readonly args: TaskArgs<A>;
  readonly root: string;
}

/** A path (file or directory, relative to the root) or any Output kind. */
export type OutputSpec = string | Output;

/** `'name'`, `'name[a,b]'`, or a name with named args. */
export type DepSpec = string | { readonly task: string; readonly args?: Record<string, string> };

/**
 * A task's deps as a function of its args, for a task whose prerequisites depend on how it is
 * asked: `deploy -- --dry-run` needs what the plan reads but not the push. The planner calls
 * it once per args variant (each variant is a node of its own), before anything runs.
 */
export type DepsFunction<A extends string = string> = (args: TaskArgs<A>) => readonly DepSpec[];

/**
 * What a definition's deps function gives the planner for one args variant: the list, or what
 * is wrong with the Taskfile's function (it threw, or returned something else), with where.
 */
export type DepsResult =
  | { readonly ok: true; readonly deps: readonly DepSpec[] }
  | { readonly ok: false; readonly where: string | undefined; readonly message: string };

export interface TaskOptions<A extends string = string> {
  desc?: string;
  /** Tasks that run first; or a function of the args giving them, one list per args variant. */
  deps?: readonly DepSpec[] | DepsFunction<A>;
  /** Globs of files the task reads, relative to the root; `!pattern` excludes. */
  inputs?: readonly string[];
  outputs?: readonly OutputSpec[] | ((info: OutputInfo<A>) => readonly OutputSpec[]);
  /** Names of environment variables whose values the task depends on. */
  env?: readonly string[];
  /** Plain values the task depends on (settings, image names); hashed as canonical JSON. */
  vars?: Readonly<Record<string, unknown>>;
  /** Declared argument names, in positional order for `name[a,b]`. */
  args?: readonly A[];
  /** Bump to force a rerun when something the hash cannot see changed. */
  version?: string;
  /** Long-running (a dev server): in watch mode, restarted only when its own inputs change. */
  persistent?: boolean;
  /**
   * Changes nothing a run must remember (status, diff, printing config): never recorded, so it
   * runs whenever asked, and takes no lock, so it never waits for another run. Its deps are
   * locked and recorded as usual. A function of the args decides per args variant, when the
   * graph is planned: `deploy -- --dry-run` writes nothing, a deploy does.
   */
  readOnly?: boolean | ((args: TaskArgs<A>) => boolean);
  /**
   * A cheap check (credentials, the account a deploy would reach) run before any task of the
   * plan starts: when it throws, this task fails with its message and nothing else runs, so a
   * deploy fails before building what it would push. Not run by -n or --explain.
   */
  preflight?: (ctx: PreflightContext<A>) => Promise<void> | void;
  run?: (ctx: TaskContext<A>) => Promise<void> | void;
}

export interface TaskDefinition {
  readonly name: string;
  /** Enclosing namespace path, for resolving dependency names relative to it. */
  readonly scope: readonly string[];
  readonly kind: 'task' | 'file';
  readonly desc: string | undefined;
  /** The same list for every args variant, or (from a deps function) one per variant. */
  readonly deps: readonly DepSpec[] | ((args: TaskArgs) => DepsResult);
  readonly inputs: readonly string[];
  readonly outputs: TaskOptions['outputs'];
  readonly env: readonly string[];
  readonly vars: Readonly<Record<string, unknown>>;
  readonly args: readonly string[];
  readonly version: string | undefined;
  readonly persistent: boolean;
  /** The same for every args variant, or a function the planner calls per variant. */
  readonly readOnly: boolean | ((args: TaskArgs) => boolean);
  readonly preflight: TaskOptions['preflight'];
  readonly run: TaskOptions['run'];
  /**
   * The module where the task() call stands, with everything it imports: part of the
   * definition. Undefined for a task defined outside a Taskfile the loader bundled.
   */
  readonly module: DefiningModule | undefined;
}

export interface RuleDefinition {
  /** Suffix of the target, e.g. `.min.css`. */
  readonly target: string;
  /** Source path for a target path, e.g. `a.min.css` -> `a.css`. */
  readonly source: (target: string) => string;
  readonly options: Omit<
    TaskOptions<'target' | 'source'>,
    'inputs' | 'outputs' | 'args' | 'deps'
  > & {
    /** A list only: a rule's nodes take no args a function could vary with. */
    readonly deps?: readonly DepSpec[];
  };
  readonly module: DefiningModule | undefined;
}

/** Where the loader finds a defining module's closure (see module-graph.ts). */
export interface DefiningModules {
  definingModule(path: string): DefiningModule | undefined;
}

export interface RegistryOptions {
  /** The project root: path outputs must lie inside it. */
  root?: string;
  /** `tasks/x.ts:12:5` for a stack: where a problem's call is in the user's source. */
  locate?: (stack: string | undefined) => string | undefined;
  /** `file:line:col: message` for an error thrown while defining tasks (see disableNamespace). */
  describe?: (error: Error) => string;
  /** Each defining module's closure: a definition's code, from the loader's module graph. */
  modules?: DefiningModules;
}

export class Registry {
  readonly tasks = new Map<string, TaskDefinition>();
  readonly rules: RuleDefinition[] = [];
  /** Definition errors (duplicate names, bad options), reported as a Taskfile error. */
  readonly problems: string[] = [];
  /** Namespaces that could not be defined (disableNamespace), with why, located. */
  readonly disabled = new Map<string, string>();
  scope: string[] = [];
  pendingDesc: string | undefined;

  constructor(readonly options: RegistryOptions = {}) {}

  add(definition: TaskDefinition): void {
    if (this.tasks.has(definition.name)) {
      this.problem(`task ${definition.name} is defined twice`);
      return;
    }
    this.tasks.set(definition.name, definition);
  }

  /** A definition error, located at the user's call that is being made now. */
  problem(message: string): void {
    const where = this.options.locate?.(new Error().stack);
    this.problems.push(where ? `${where}: ${message}` : message);
  }
}

/** The registry the loader installed: a Taskfile's task() calls add to it. */
let installed: Registry | undefined;

export function installRegistry(registry: Registry): void {
  installed = registry;
}

function current(): Registry {
  const registry = installed;
  if (!registry) {
    throw new Error('taskgraph: task() was called outside a Taskfile loaded by `task`');
  }
  return registry;
}

/** No whitespace or brackets; not starting or ending with `:` (a namespace separator). */
const TASK_NAME = /^[^\s[\]:][^\s[\]]*$/;

function define<A extends string>(
  kind: TaskDefinition['kind'],
  name: string,
  options: TaskOptions<A>,
  module: DefiningModule | undefined,
): void {
  const registry = current();
  // This runs for every definition on every run, no-op runs included: nothing below allocates
  // what a definition without a problem does not keep.
  if (typeof name !== 'string') {
    return registry.problem(checkName(`${kind}()'s name`, name) ?? 'a name must be a string');
  }
  if (!TASK_NAME.test(name) || name.endsWith(':')) {
    return registry.problem(`invalid task name "${name}"`);
  }
  const { scope } = registry;
  const fullName = kind === 'file' || scope.length === 0 ? name : [...scope, name].join(':');
  const { root } = registry.options;
  let problems = checkOptions(kind, options, root);
  if (kind === 'file' && root !== undefined) {
    const own = projectPath(name, root);
    if ('error' in own) problems = [...problems, own.error];
  }
  if (problems.length > 0) {
    for (const problem of problems) registry.problem(`${kind} ${fullName}: ${problem}`);
    return;
  }
  registry.add({
    name: fullName,
    scope: scope.length === 0 ? NO_SCOPE : [...scope],
    kind,
    desc: options.desc ?? registry.pendingDesc,
    deps:
      typeof options.deps === 'function'
        ? checkedDeps(options.deps, registry)
        : (options.deps ?? NONE),
    inputs: options.inputs ?? NONE,
    outputs: withOwnPath(kind === 'file' ? name : undefined, options.outputs, root),
    env: options.env ?? NONE,
    vars: options.vars ?? NO_VARS,
    args: options.args ?? NONE,
    version: options.version,
    persistent: options.persistent ?? false,
    readOnly: (options.readOnly as TaskDefinition['readOnly'] | undefined) ?? false,
    preflight: options.preflight,
    run: options.run,
    module,
  });
  registry.pendingDesc = undefined;
}

/**
 * A deps function as the planner calls it: what it returns is checked like a deps list, and a
 * throw or a wrong value is a Taskfile problem located at the task() call (or at the throw).
 * Only the stack is kept here: mapping it to a file:line reads source maps, which only a
 * problem is worth (this runs at every load).
 */
function checkedDeps(fn: DepsFunction, registry: Registry): (args: TaskArgs) => DepsResult {
  const definedAt = new Error().stack;
  const { locate } = registry.options;
  return (args) => {
    let value: unknown;
    try {
      value = fn(args);
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      return {
        ok: false,
        where: locate?.(err.stack) ?? locate?.(definedAt),
        message: `its deps function threw: ${err.message}`,
      };
    }
    const problem = checkDepsResult(value);
    if (problem === undefined) return { ok: true, deps: value as readonly DepSpec[] };
    return { ok: false, where: locate?.(definedAt), message: problem };
  };
}

/**
 * A file task's own path first; path outputs relative to the root (an absolute path inside the
 * project, which checkOptions let through, is what the hasher would otherwise join to the root).
 */
/** Shared by every definition that leaves an option out: never mutated (definitions are read-only). */
const NONE: readonly never[] = Object.freeze([]);
const NO_SCOPE: readonly string[] = NONE;
const NO_VARS: Readonly<Record<string, unknown>> = Object.freeze({});

/** An indexed loop rather than every(): this runs per definition, cold (see task-options.ts). */
function allKeptAsWritten(outputs: readonly OutputSpec[]): boolean {
  for (let index = 0; index < outputs.length; index++) {
    const spec = outputs[index];
    if (typeof spec === 'string' && !isProjectPath(spec)) return false;
  }
  return true;
}

function withOwnPath(
  path: string | undefined,
  outputs: TaskOptions['outputs'],
  root: string | undefined,
): TaskOptions['outputs'] {
  // The common case, paths already relative to the project: kept as written.
  if (path === undefined && Array.isArray(outputs) && allKeptAsWritten(outputs)) {
    return outputs as readonly OutputSpec[];
  }
  const inProject = (spec: OutputSpec): OutputSpec =>
    typeof spec === 'string' && root !== undefined
      ? ((projectPath(spec, root) as { path?: string }).path ?? spec)
      : spec;
  if (typeof outputs === 'function') {
    return path === undefined ? outputs : (info) => [inProject(path), ...outputs(info)];
  }
  if (path === undefined && outputs === undefined) return undefined;
  return [...(path === undefined ? [] : [path]), ...(outputs ?? [])].map(inProject);
}

/** Defines a task. `run` is optional: a task without it only groups its dependencies. */
export function task<const A extends string = never>(
  name: string,
  options: TaskOptions<A> = {},
): void {
  define('task', name, options, undefined);
}

/** A task named by the file it makes (relative to the root); it reruns when the file is missing. */
export function file(path: string, options: TaskOptions<never> = {}): void {
  define('file', path, options, undefined);
}

/** Tasks defined inside `fn` are named `name:...`; their deps resolve relative to it first. */
export function namespace(name: string, fn: () => void): void {
  const registry = current();
  const problem =
    checkName("namespace()'s name", name) ??
    (typeof fn === 'function'
      ? undefined
      : `namespace ${name}: expected a function, got ${typeof fn}`);
  if (problem !== undefined) return registry.problem(problem);
  registry.scope.push(name);
  try {
    fn();
  } finally {
    registry.scope.pop();
  }
}

/**
 * Marks the namespace `name` as unavailable because defining it failed with `error` (an
 * environment file that does not validate, say): the rest of the Taskfile still works, every run
 * says why once, and asking for one of its tasks names the error instead of "no task named".
 */
export function disableNamespace(name: string, error: unknown): void {
  const registry = current();
  const err = error instanceof Error ? error : new Error(String(error));
  const full = [...registry.scope, name].join(':');
  registry.disabled.set(full, registry.options.describe?.(err) ?? err.message);
}

/** Rake's desc(): describes the next task defined. */
export function desc(text: string): void {
  const registry = current();
  const problem = checkName("desc()'s text", text);
  if (problem !== undefined) return registry.problem(problem);
  registry.pendingDesc = text;
}

/**
 * Rake's rule(): a pattern task. `rule('.min.css', { source: '.css', run })` makes any requested
 * `x.min.css` a file task built from `x.css`; run receives them as ctx.args.target/.source.
 */
export function rule(target: string, options: RuleOptions): void {
  defineRule(target, options, undefined);
}

type RuleOptions = RuleDefinition['options'] & { source: string | ((target: string) => string) };

function defineRule(
  target: string,
  options: RuleOptions,
  module: DefiningModule | undefined,
): void {
  const registry = current();
  const problems = [
    checkName("rule()'s target", target),
    ...checkOptions('rule', options, registry.options.root),
  ].filter((problem) => problem !== undefined);
  if (problems.length > 0) {
    for (const problem of problems) registry.problem(`rule ${String(target)}: ${problem}`);
    return;
  }
  const { source, ...rest } = options;
  const toSource =
    typeof source === 'function'
      ? source
      : (path: string): string => path.slice(0, -target.length) + source;
  registry.rules.push({
    target,
    source: toSource,
    options: rest,
    module,
  });
}

/**
 * task(), file() and rule() for the module at `path` (relative to the Taskfile's folder): the
 * loader hands each module of a Taskfile its own, so that every definition knows its module.
 */
export function definedIn(path: string): {
  task: typeof task;
  file: typeof file;
  rule: typeof rule;
} {
  const module = moduleAt(path);
  return {
    task: (name, options = {}) => define('task', name, options, module()),
    file: (name, options = {}) => define('file', name, options, module()),
    rule: (target, options) => defineRule(target, options, module()),
  };
}

/**
 * The defining module at `path` in the installed registry's module graph, looked up once per
 * registry rather than per definition (a module defines many; watch mode installs a new registry
 * and reloads the Taskfile, but a lazily imported module's bound task() may outlive a reload).
 */
function moduleAt(path: string): () => DefiningModule | undefined {
  let found: { registry: Registry; module: DefiningModule | undefined } | undefined;
  return () => {
    const registry = current();
    if (found?.registry !== registry) {
      found = { registry, module: registry.options.modules?.definingModule(path) };
    }
    return found.module;
  };
}
