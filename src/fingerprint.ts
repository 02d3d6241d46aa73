/**
 * What a task's hash is made of, and explaining what changed between two runs.
 *
 * fingerprint = sha256(canonical JSON of FingerprintParts). Each part is there so that a change
 * in it, and only such a change, makes the task run again.
 */
import { hash } from 'node:crypto';
import type { FileDigest } from './file-hasher.js';
import type { TaskDefinition } from './dsl.js';
import type { PlanNode } from './graph.js';

export interface FingerprintParts {
  /** The task's name: a renamed task is a different task and never reuses another's result. */
  task: string;
  /**
   * sha256 of the defining module's closure (the module where task() stands and every local
   * module it imports; packages by version), run's source and the optional `version`: editing
   * the code a task runs reruns it.
   */
  definition: string;
  /** The closure by module (sha256) and package (version), so --explain names what changed. */
  modules: Readonly<Record<string, string>>;
  /** Argument values by name (`greet[alice]` and `greet[bob]` make different things). */
  args: Readonly<Record<string, string>>;
  /** sha256 per `vars` key (settings, image names) so --explain can name the one that changed. */
  vars: Record<string, string>;
  /**
   * A keyed hash per declared env var (null when unset; env-key.ts): values never land in .task/,
   * secrets included, and their digests cannot be brute-forced without the checkout's key.
   */
  env: Record<string, string | null>;
  /** sha256 over the sorted (path, sha256) of every input file: adds, deletes and renames count. */
  inputs: string;
  /** Per dependency: its fingerprint and the digests of what it made (an image id, a file hash). */
  deps: Record<string, string>;
}

/** What --explain compares: the parts plus each input file's hash. */
export interface FingerprintDetail {
  parts: FingerprintParts;
  files: Record<string, string>;
  /**
   * What each dependency gave when this was hashed (its fingerprint and the digests of what it
   * made), by key: a dry run predicts that a dependency running again with a fingerprint it had
   * then (an edit undone) makes the same again (dry-run.ts). Absent from older details.
   */
  made?: Record<string, DepResult>;
}

export interface DepResult {
  readonly fingerprint: string;
  readonly outputs: Readonly<Record<string, string>>;
}

/**
 * A node's fingerprint, with its detail (the parts and each input file's hash) built only when
 * something reads it: a task that runs records it, --explain prints it; the nodes of a no-op
 * run never need it.
 */
export function fingerprintNode(
  node: PlanNode,
  inputs: readonly FileDigest[],
  deps: ReadonlyMap<string, DepResult>,
  env: NodeJS.ProcessEnv,
  /** How an env value is digested: keyed per checkout (env-key.ts); sha256 in unit tests. */
  digestEnv: (value: string) => string = sha256,
): { fingerprint: string; detail: FingerprintDetail } {
  const { task } = node;
  const fixed = definitionHashes(task);
  // Indexed loops, entry arrays and one-shot hashes: this runs once per node of every run, no-op
  // runs included, mostly before the optimizing compiler gets to it, where a for...of allocates
  // an iterator and a result per element and Array.prototype.sort a work area per call (a third
  // of what a no-op run allocated here). (Records keyed by each node's own dep names would give
  // V8 a new object shape per node.)
  let listing = '';
  for (let i = 0; i < inputs.length; i++) {
    const file = inputs[i] as FileDigest;
    listing += `${file.path}\0${file.sha256}\n`;
  }
  const inputsHash = sha256(listing);
  const envEntries: [string, string | null][] = [];
  const names = task.env.length > 1 ? [...new Set(task.env)].sort() : task.env;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const value = env[name];
    envEntries.push([name, value === undefined ? null : digestEnv(value)]);
  }
  const depEntries: [string, string][] = [];
  for (let i = 0; i < node.deps.length; i++) {
    const { key } = node.deps[i] as PlanNode;
    const result = deps.get(key);
    insertSorted(depEntries, [key, result ? depDigest(result) : 'unknown']);
  }
  const argsEntries = sortedEntries(node.args);
  // The parts' shape is fixed, so a positional array of sorted entries is canonical, and much
  // cheaper than a generic canonical JSON on the hot path of a no-op run.
  const fingerprint = sha256(
    JSON.stringify([
      task.name,
      fixed.definition,
      argsEntries,
      fixed.varsEntries,
      envEntries,
      inputsHash,
      depEntries,
    ]),
  );
  return {
    fingerprint,
    detail: new LazyDetail(node, fixed, envEntries, inputsHash, depEntries, inputs, deps),
  };
}

/** Adds `entry` to `entries`, kept sorted by key (stable): a node has a handful of deps. */
function insertSorted(entries: [string, string][], entry: [string, string]): void {
  let at = entries.length;
  entries.push(entry);
  for (; at > 0 && (entries[at - 1] as [string, string])[0] > entry[0]; at--) {
    entries[at] = entries[at - 1] as [string, string];
  }
  entries[at] = entry;
}

/**
 * FingerprintDetail whose records are made on first read (JSON.stringify reads them too). What
 * they are made from is held in fields, not in a closure: every node of a no-op run keeps one,
 * and a closure would add a function and its context beside it.
 */
class LazyDetail implements FingerprintDetail {
  #parts: FingerprintParts | undefined;
  #files: Record<string, string> | undefined;

  constructor(
    private readonly node: PlanNode,
    private readonly fixed: DefinitionHashes,
    private readonly envEntries: [string, string | null][],
    private readonly inputsHash: string,
    private readonly depEntries: [string, string][],
    private readonly inputs: readonly FileDigest[],
    private readonly deps: ReadonlyMap<string, DepResult>,
  ) {}

  get parts(): FingerprintParts {
    const { node, fixed } = this;
    return (this.#parts ??= {
      task: node.task.name,
      definition: fixed.definition,
      modules: node.task.module?.closure ?? {},
      args: node.args,
      vars: Object.fromEntries(fixed.varsEntries),
      env: Object.fromEntries(this.envEntries),
      inputs: this.inputsHash,
      deps: Object.fromEntries(this.depEntries),
    });
  }

  get files(): Record<string, string> {
    if (!this.#files) {
      this.#files = {};
      for (const file of this.inputs) this.#files[file.path] = file.sha256;
    }
    return this.#files;
  }

  get made(): Record<string, DepResult> {
    return Object.fromEntries(this.deps);
  }

  toJSON(): FingerprintDetail {
    return { parts: this.parts, files: this.files, made: this.made };
  }
}

/** What never changes for a definition, hashed once however many nodes or runs use it. */
const definitionCache = new WeakMap<TaskDefinition, DefinitionHashes>();

interface DefinitionHashes {
  readonly definition: string;
  readonly varsEntries: [string, string][];
}

/**
 * Definitions by their text: tasks made in a loop share their run's source and module, and one
 * sha256 serves them all. Emptied when large: watch mode reloads edited Taskfiles for hours.
 */
const definitionDigests = new Map<string, string>();
const MAX_DEFINITION_DIGESTS = 10_000;

const NO_VARS: [string, string][] = [];

function definitionHashes(task: TaskDefinition): DefinitionHashes {
  let hashes = definitionCache.get(task);
  if (!hashes) {
    const text = `${task.kind}\0${task.run?.toString() ?? ''}\0${task.version ?? ''}\0${task.module?.digest ?? ''}`;
    let definition = definitionDigests.get(text);
    if (definition === undefined) {
      definition = sha256(text);
      if (definitionDigests.size >= MAX_DEFINITION_DIGESTS) definitionDigests.clear();
      definitionDigests.set(text, definition);
    }
    const names = Object.keys(task.vars);
    hashes = {
      definition,
      varsEntries:
        names.length === 0
          ? NO_VARS
          : names.sort().map((k) => [k, sha256(canonicalJson(task.vars[k]))]),
    };
    definitionCache.set(task, hashes);
  }
  return hashes;
}

function sortedEntries<T>(record: Readonly<Record<string, T>>): [string, T][] {
  const entries = Object.entries(record);
  return entries.length < 2 ? entries : entries.sort(byKey);
}

function byKey(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/**
 * A dependency's contribution: its fingerprint and output digests, hashed once per result.
 * Records keep it (knownDepDigest): a change to how it is computed must bump records-file.ts's
 * RECORDS_LAYOUT, or kept digests would stand beside new ones (costing reruns).
 */
const depDigests = new WeakMap<DepResult, string>();

export function depDigest(result: DepResult): string {
  let digest = depDigests.get(result);
  if (digest === undefined) {
    digest = sha256(JSON.stringify([result.fingerprint, sortedEntries(result.outputs)]));
    depDigests.set(result, digest);
  }
  return digest;
}

/**
 * Gives `result` the digest depDigest would compute, known already: a record keeps its own
 * (state.ts), so a node that is up to date is not hashed again as a dependency.
 */
export function knownDepDigest(result: DepResult, digest: string): void {
  depDigests.set(result, digest);
}

export type Change =
  | { what: 'new'; detail: 'never ran successfully' }
  | { what: 'definition' }
  | { what: 'module'; path: string; old: string | undefined; now: string | undefined }
  | { what: 'arg'; name: string; old: string | undefined; now: string | undefined }
  | { what: 'var'; name: string; old: string | undefined; now: string | undefined }
  | { what: 'env'; name: string; old: string | null | undefined; now: string | null | undefined }
  | { what: 'input'; path: string; old: string | undefined; now: string | undefined }
  | { what: 'dep'; key: string; old: string | undefined; now: string | undefined };

/** Every difference between the last successful run and now, most telling first. */
export function explainChanges(
  old: FingerprintDetail | undefined,
  now: FingerprintDetail,
): Change[] {
  if (!old) return [{ what: 'new', detail: 'never ran successfully' }];
  const changes: Change[] = [];
  if (old.parts.definition !== now.parts.definition) {
    // Records written before modules were part of the definition have none to compare.
    const oldModules = old.parts.modules ?? {};
    const before = changes.length;
    for (const path of keysOf(oldModules, now.parts.modules)) {
      if (oldModules[path] !== now.parts.modules[path])
        changes.push({ what: 'module', path, old: oldModules[path], now: now.parts.modules[path] });
    }
    if (changes.length === before) changes.push({ what: 'definition' });
  }
  for (const name of keysOf(old.parts.args, now.parts.args)) {
    if (old.parts.args[name] !== now.parts.args[name])
      changes.push({ what: 'arg', name, old: old.parts.args[name], now: now.parts.args[name] });
  }
  for (const name of keysOf(old.parts.vars, now.parts.vars)) {
    if (old.parts.vars[name] !== now.parts.vars[name])
      changes.push({ what: 'var', name, old: old.parts.vars[name], now: now.parts.vars[name] });
  }
  for (const name of keysOf(old.parts.env, now.parts.env)) {
    if (old.parts.env[name] !== now.parts.env[name])
      changes.push({ what: 'env', name, old: old.parts.env[name], now: now.parts.env[name] });
  }
  for (const path of keysOf(old.files, now.files)) {
    if (old.files[path] !== now.files[path])
      changes.push({ what: 'input', path, old: old.files[path], now: now.files[path] });
  }
  for (const key of keysOf(old.parts.deps, now.parts.deps)) {
    if (old.parts.deps[key] !== now.parts.deps[key])
      changes.push({ what: 'dep', key, old: old.parts.deps[key], now: now.parts.deps[key] });
  }
  return changes;
}

function keysOf(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

/** One-shot (crypto.hash): no Hash object per call, which a 1,000-node run made by the thousand. */
export function sha256(text: string): string {
  return hash('sha256', text);
}

/** JSON with object keys sorted at every level, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (v === undefined || typeof v === 'function') return null;
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) {
        const entries = [...(v as Map<string, unknown>).entries()].sort(([a], [b]) =>
          a < b ? -1 : 1,
        );
        return Object.fromEntries(entries) as Record<string, unknown>;
      }
      if (v instanceof Set) return [...(v as Set<unknown>)].sort();
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        return Object.fromEntries(
          Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        );
      }
      return v;
    }) ?? 'null'
  );
}
