/**
 * The checks every task(), file(), rule(), namespace() and desc() call gets when the Taskfile
 * loads. TypeScript types are stripped, not checked, when a Taskfile is bundled, so a misspelt
 * key (`depz`) or a wrong type (`deps: 'b'`) would otherwise be ignored or crash mid-run.
 *
 * Hand-written rather than a zod schema: this runs for every definition on every run, no-op runs
 * included (whose start-up is a measured figure), and importing zod alone costs more than a
 * no-op run of a small graph. Each check is a typeof test per value; words are made only for a
 * value that fails.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { TaskOptions } from './dsl.js';
import { suggest } from './suggestion.js';

/** What a value should have been, in words, when it is not; undefined when it is fine. */
type Check = (value: unknown) => string | undefined;

const isString: Check = (value) => (typeof value === 'string' ? undefined : 'a string');
const isBoolean: Check = (value) => (typeof value === 'boolean' ? undefined : 'true or false');
const isFunction: Check = (value) => (typeof value === 'function' ? undefined : 'a function');

/**
 * An array of strings (names, globs, paths) or, where `other` is given, of what it also accepts
 * (a dep's or an output's object form). Strings, nearly every entry, pass without a call: these
 * checks run once per definition at load, cold, in the interpreter, where each call counts; for
 * the same reason the loop is indexed rather than for...of (an array iterator per loop was about
 * a third of the whole check: 1,000 definitions, 3.4 -> 2.2 ms, measured in a fresh process).
 */
function arrayOf(what: string, other?: Check): Check {
  return (value) => {
    if (!Array.isArray(value)) return `an array of ${what}`;
    for (let index = 0; index < value.length; index++) {
      const entry: unknown = value[index];
      if (typeof entry === 'string') continue;
      if (other === undefined || other(entry) !== undefined) return `an array of ${what}`;
    }
    return undefined;
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

const isDep: Check = (value) => {
  if (typeof value === 'string') return undefined;
  if (
    isPlainObject(value) &&
    typeof value.task === 'string' &&
    (value.args === undefined || isPlainObject(value.args))
  )
    return undefined;
  return 'a task name';
};

// The Output interface's shape, tested here rather than with output.ts's isOutput: that module
// pulls the file hasher into every Taskfile's load, and this check runs before anything hashes.
const isOutputSpec: Check = (value) =>
  typeof value === 'string' ||
  (typeof value === 'object' &&
    value !== null &&
    typeof (value as { id?: unknown }).id === 'string' &&
    typeof (value as { digest?: unknown }).digest === 'function')
    ? undefined
    : 'a path or an Output';

const isDepList = arrayOf('task names', isDep);
const isOutputList = arrayOf('paths or Outputs, or a function returning them', isOutputSpec);

/** Keyed by every TaskOptions key: a new option that is not checked here is a type error. */
const TASK_KEYS: Record<string, Check> = {
  desc: isString,
  // A function is called per args variant when the graph is planned (checkDepsResult).
  deps: (value) => {
    if (typeof value === 'function') return undefined;
    if (Array.isArray(value)) return isDepList(value);
    return 'an array of task names, or a function from the args to one';
  },
  inputs: arrayOf('globs'),
  outputs: (value) => (typeof value === 'function' ? undefined : isOutputList(value)),
  env: arrayOf('environment variable names'),
  vars: (value) => (isPlainObject(value) ? undefined : 'an object of plain values'),
  args: arrayOf('argument names'),
  version: isString,
  persistent: isBoolean,
  // A function is called per args variant when the graph is planned (readOnlyFor in graph.ts).
  readOnly: (value) =>
    typeof value === 'boolean' || typeof value === 'function'
      ? undefined
      : 'true or false, or a function from the args to one',
  preflight: isFunction,
  run: isFunction,
} satisfies Record<keyof TaskOptions, Check>;

const { inputs: _inputs, outputs: _outputs, args: _args, ...RULE_SHARED } = TASK_KEYS;
const RULE_KEYS: Record<string, Check> = {
  ...RULE_SHARED,
  deps: isDepList,
  source: (value) =>
    typeof value === 'string' || typeof value === 'function'
      ? undefined
      : 'a suffix string or a function from target to source',
};

/**
 * The problems with a task()'s or file()'s options (or a rule()'s, with `kind: 'rule'`): each
 * unknown key with the nearest known one, each value of the wrong type, each path output
 * outside the project.
 */
export function checkOptions(
  kind: 'task' | 'file' | 'rule',
  options: unknown,
  root: string | undefined,
): readonly string[] {
  if (options === undefined) return kind === 'rule' ? ['options: expected { source, run }'] : NONE;
  if (!isPlainObject(options)) return [`options: expected an object, got ${describe(options)}`];
  const keys = kind === 'rule' ? RULE_KEYS : TASK_KEYS;
  // Made only for a definition that has a problem: most have none.
  let problems: string[] | undefined;
  for (const key in options) {
    const check = keys[key];
    const value = options[key];
    if (!check) {
      const [nearest] = suggest(key, Object.keys(keys));
      (problems ??= []).push(
        `unknown option ${key}${nearest ? `; did you mean ${nearest}?` : `; the options are ${Object.keys(keys).join(', ')}`}`,
      );
      continue;
    }
    if (value === undefined) continue;
    const expected = check(value);
    if (expected === undefined) {
      const unhashable = key === 'vars' ? unhashableVar(value, 'vars', new Set()) : undefined;
      if (unhashable !== undefined) (problems ??= []).push(unhashable);
      continue;
    }
    // `deps: 'b'` is the common slip: show the array it meant.
    const meant =
      typeof value === 'string' && expected.startsWith('an array')
        ? `; write ${key}: [${JSON.stringify(value)}]`
        : '';
    (problems ??= []).push(`${key} must be ${expected}, got ${describe(value)}${meant}`);
  }
  if (kind === 'rule' && options.source === undefined) {
    (problems ??= []).push(
      "missing source (the source's suffix, or a function from target to source)",
    );
  }
  const { outputs } = options;
  if (root !== undefined && Array.isArray(outputs)) {
    for (let index = 0; index < outputs.length; index++) {
      const output: unknown = outputs[index];
      if (typeof output !== 'string' || isProjectPath(output)) continue;
      const checked = projectPath(output, root);
      if ('error' in checked) (problems ??= []).push(checked.error);
    }
  }
  return problems ?? NONE;
}

const NONE: readonly string[] = Object.freeze([]);

/** What is wrong with what a deps function returned, in words; undefined when it is a deps list. */
export function checkDepsResult(value: unknown): string | undefined {
  const expected = isDepList(value);
  return expected === undefined
    ? undefined
    : `its deps function must return ${expected}, got ${describe(value)}`;
}

/** A name argument (task, file, rule target, namespace), or its problem. */
export function checkName(what: string, name: unknown): string | undefined {
  return typeof name === 'string' ? undefined : `${what} must be a string, got ${describe(name)}`;
}

/**
 * A path output as the hasher wants it, relative to the root (an absolute path inside the
 * project is made relative); a path outside the project is an error, since nothing else in
 * .task/ can vouch for it (use an Output kind for something outside).
 */
export function projectPath(path: string, root: string): { path: string } | { error: string } {
  if (isProjectPath(path)) return { path };
  const rel = relative(root, resolve(root, path));
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    return {
      error: `output ${path} is outside the project (${root}); outputs are paths inside it, or an Output kind for anything else`,
    };
  }
  return { path: rel.split(sep).join('/') };
}

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const COLON = 0x3a;

/** A path projectPath keeps as it is (relative, not climbing out): most outputs, per task. */
export function isProjectPath(path: string): boolean {
  // Most paths start with a name: neither absolute (`/`, `\`, `C:`) nor climbing out (`..`) on any
  // platform, told by two character codes without a call (this runs per output, at every load).
  const first = path.charCodeAt(0);
  if (first !== SLASH && first !== BACKSLASH && first !== DOT && path.charCodeAt(1) !== COLON) {
    return true;
  }
  return !isAbsolute(path) && !path.startsWith('..');
}

/**
 * Vars go into the task's fingerprint as JSON: a function or a symbol would hash as null whatever
 * it does, and a cycle cannot be written at all. The first such value, by its path; undefined
 * when there is none (a walk of plain data, only over the vars a task declares).
 */
function unhashableVar(value: unknown, path: string, seen: Set<object>): string | undefined {
  if (typeof value === 'function' || typeof value === 'symbol') {
    const next = typeof value === 'function' ? '; pass the value it returns instead' : '';
    return `${path} must be plain data (vars are hashed into the task's fingerprint), got ${describe(value)}${next}`;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (seen.has(value))
    return `${path} refers back to itself; vars must be plain data, without cycles`;
  seen.add(value);
  const entries: [string, unknown][] =
    value instanceof Map || value instanceof Set
      ? [...value.entries()].map(([k, v]: [unknown, unknown]) => [String(k), v])
      : Object.entries(value);
  for (const [key, item] of entries) {
    const where = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
    const problem = unhashableVar(item, where, seen);
    if (problem !== undefined) return problem;
  }
  seen.delete(value);
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value)}`;
    case 'function':
      return 'a function';
    case 'object':
      return 'an object';
    case 'symbol':
    case 'bigint':
      return `a ${typeof value}`;
    default:
      return `${typeof value} ${JSON.stringify(value) ?? 'undefined'}`;
  }
}
